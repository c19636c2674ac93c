from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    """The lapse-risk score: features, models, versions, nightly scores (beside outreach and risk:
    it reads billing and policies; renewals and reporting use it). Its nightly step is registered
    by renewals (scoring is left of renewals): renewals/apps.py."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "scoring"

    def ready(self):
        from core.navigation import nav_register
        from policies.panels import policy_panel_register
        from scoring.panels import lapse_risk_panel

        policy_panel_register(order=15, template="scoring/_policy_lapse_risk.html", context=lapse_risk_panel)
        nav_register(order=85, label=_("Lapse-risk models"), url_name="scoring:models", capability="configure_system")
