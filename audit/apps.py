from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"

    def ready(self):
        from core.homes import home_register
        from core.navigation import nav_register

        # the auditor's work is the trail itself
        home_register(role="auditor", precedence=90, label=_("Audit trail"), url_name="audit:trail")

        nav_register(order=95, label=_("Audit trail"), url_name="audit:trail", capability="view_trail_all")
