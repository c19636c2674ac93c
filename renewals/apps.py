from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RenewalsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "renewals"

    def ready(self):
        from core.navigation import nav_register

        nav_register(order=20, label=_("Due lists"), url_name="renewals:due_lists", capability="view_portfolio")
        nav_register(order=80, label=_("Nightly operations"), url_name="renewals:operations",
                     capability="view_operations")
