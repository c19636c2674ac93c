from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutreachConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "outreach"
    verbose_name = _("Outreach")

    def ready(self):
        from core.events import MONEY_ALLOCATED, event_subscribe
        from outreach.services.planning import on_money_allocated

        # money allocated to an installment from any source cancels its pending reminders, in the
        # allocation's transaction
        event_subscribe(MONEY_ALLOCATED, on_money_allocated)
        from outreach.panels import contacts_panel
        from policies.panels import policy_panel_register

        policy_panel_register(order=30, template="outreach/_policy_contacts.html", context=contacts_panel)
        from outreach.paylinks import paylink_panel

        policy_panel_register(order=31, template="outreach/paylink_panel.html", context=paylink_panel)
        from outreach.panels import identities_panel

        policy_panel_register(order=32, template="outreach/_channel_identities.html", context=identities_panel)
        from core.navigation import nav_register

        nav_register(order=70, label=_("Message templates"), url_name="outreach:templates",
                     capability="configure_templates")
        nav_register(order=91, label=_("Local mail and SMS"), url_name="outreach:dev_inbox",
                     capability="configure_system")
