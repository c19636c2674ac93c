from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "policies"

    def ready(self):
        from core.errors import out_of_scope_recorder_register
        from core.navigation import nav_register
        from policies.selectors import scope_denial_record

        out_of_scope_recorder_register(scope_denial_record)
        from audit.selectors import trail_policy_link_register
        from policies.selectors import customer_trail_link

        # a customer's trail rows belong to the policies they hold or are insured by
        trail_policy_link_register("policies.Customer", customer_trail_link)
        from policies.selectors import CONSISTENCY_REPORT_CAPABILITIES

        nav_register(order=10, label=_("Policy search"), url_name="policies:search", capability="view_portfolio")
        nav_register(order=90, label=_("Policy import"), url_name="policies:import", capability="import_policies")
        nav_register(order=91, label=_("Consistency report"), url_name="policies:consistency",
                     capability=CONSISTENCY_REPORT_CAPABILITIES)
