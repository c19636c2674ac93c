from django.apps import AppConfig


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"

    def ready(self):
        from billing.panels import money_panel
        from policies.panels import policy_panel_register

        policy_panel_register(order=10, template="billing/_policy_money.html", context=money_panel)
