from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"

    def ready(self):
        from core.navigation import nav_register

        nav_register(order=95, label=_("Audit trail"), url_name="audit:trail", capability="view_trail_all")
