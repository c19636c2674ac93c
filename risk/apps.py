from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "risk"
    verbose_name = _("Risk and compliance")

    def ready(self):
        from core.events import PAYMENT_RECEIVED, event_subscribe
        from core.navigation import nav_register
        from risk.homes import homes_register
        from risk.services.evaluation import on_payment_received

        event_subscribe(PAYMENT_RECEIVED, on_payment_received)
        homes_register()
        nav_register(order=50, label=_("Risk flags"), url_name="risk:queue", capability="work_risk_flags")
        nav_register(order=51, label=_("Risk rules"), url_name="risk:rules", capability="configure_risk_rules")
        nav_register(order=52, label=_("Claims"), url_name="risk:claims", capability="decide_handoffs")
