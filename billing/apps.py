from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"

    def ready(self):
        from billing.homes import homes_register
        from billing.panels import money_panel

        homes_register()
        from core.navigation import nav_register
        from policies.panels import policy_panel_register

        policy_panel_register(order=10, template="billing/_policy_money.html", context=money_panel)
        nav_register(order=30, label=_("Statement import"), url_name="billing:imports", capability="import_statements")
        nav_register(order=31, label=_("Suspense"), url_name="billing:suspense", capability="match_payments")
        nav_register(order=32, label=_("Auto-debit"), url_name="billing:debits", capability="import_statements")
        nav_register(order=36, label=_("Counter payments"), url_name="billing:counter_payments",
                     capability="import_statements")
        nav_register(order=33, label=_("Reconciliation"), url_name="billing:reconciliation",
                     capability="import_statements")
        nav_register(order=34, label=_("Matching rules"), url_name="billing:rules",
                     capability="configure_matching_rules")
        nav_register(order=35, label=_("CSV templates"), url_name="billing:csv_templates",
                     capability="configure_matching_rules")
