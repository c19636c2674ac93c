from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RenewalsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "renewals"

    def ready(self):
        from core.events import CONTACT_BOUNCED, MONEY_ALLOCATED, event_subscribe
        from core.navigation import nav_register
        from renewals.services.money_events import on_contact_bounced, on_money_allocated

        event_subscribe(MONEY_ALLOCATED, on_money_allocated)
        event_subscribe(CONTACT_BOUNCED, on_contact_bounced)
        from renewals.homes import homes_register
        from renewals.integrations import flag_actions_register, nightly_steps_register, outreach_wiring_register

        nightly_steps_register()
        flag_actions_register()
        outreach_wiring_register()
        homes_register()
        from policies.rules import rule_label_register

        for code, label in (
            ("lapse_after_grace", _("Lapsed: not paid by the end of grace")),
            ("lapse_reversal", _("Lapse reversed: money valued inside grace")),
            ("terminate_after_reinstatement_window", _("Terminated: the reinstatement window closed")),
            ("reinstatement", _("Reinstated")),
            ("deferral_application", _("Deferral")),
            ("deferral_end", _("Deferral ended")),
            ("reduced_paid_up_application", _("Reduced paid-up")),
        ):
            rule_label_register(code, label)
        from policies.panels import policy_panel_register
        from renewals.panels import applications_panel

        policy_panel_register(order=20, template="renewals/_policy_applications.html", context=applications_panel)
        nav_register(order=40, label=_("Underwriting queue"), url_name="renewals:underwriting",
                     capability="decide_handoffs")
        nav_register(order=41, label=_("Approvals"), url_name="renewals:approvals", capability="approve_applications")
        nav_register(order=42, label=_("Moratoria"), url_name="renewals:moratoria", capability="work_cases")
        nav_register(order=44, label=_("Collection plans"), url_name="renewals:plans",
                     capability=("work_cases", "configure_system"))

        nav_register(order=15, label=_("Workbench"), url_name="renewals:cases",
                     capability=("work_cases", "decide_handoffs"))
        nav_register(order=20, label=_("Due lists"), url_name="renewals:due_lists", capability="view_portfolio")
        nav_register(order=43, label=_("Customer feedback"), url_name="renewals:feedback_report",
                     capability="view_reports")
        nav_register(order=80, label=_("Nightly operations"), url_name="renewals:operations",
                     capability="view_operations")
