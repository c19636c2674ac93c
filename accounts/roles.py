"""The capability matrix of DESIGN.md section 1, as data. Each role is a Django group holding
the permissions below (all on accounts.Capability); views and API views check permissions,
never role names, so a site can reshape a role in the admin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

CAPABILITIES: dict[str, StrOrPromise] = {
    "view_portfolio": _("See policies, customers and installments"),
    "reveal_phone": _("Reveal phone numbers"),
    "reveal_id": _("Reveal ID numbers"),
    "reveal_account": _("Reveal bank accounts"),
    "work_cases": _("Work cases, record contacts, open applications"),
    "assign_cases": _("Assign cases"),
    "approve_applications": _("Approve applications (not own)"),
    "decide_handoffs": _("Decide hand-offs in own queue"),
    "import_statements": _("Import bank statements and bills"),
    "match_payments": _("Match payments by hand"),
    "approve_matches": _("Approve manual matches (not own)"),
    "work_risk_flags": _("Work risk flags"),
    "view_reports": _("See reports and dashboards"),
    "view_trail_policy": _("See the trail on the policy page"),
    "view_trail_all": _("See the whole trail"),
    "export_trail": _("Export the trail"),
    "configure_templates": _("Configure templates"),
    "configure_matching_rules": _("Configure matching rules"),
    "configure_risk_rules": _("Configure risk rules"),
    "configure_system": _("Configure plans, rules, templates and users"),
    "import_policies": _("Import policy data"),
    "upsert_policies_api": _("Write policies through the API"),
    "view_operations": _("See and rerun the nightly pipeline"),
}

ROLE_LABELS: dict[str, StrOrPromise] = {
    "clerk": _("Renewal clerk"),
    "team_lead": _("Team lead"),
    "manager": _("Manager"),
    "finance": _("Finance"),
    "risk_reviewer": _("Risk reviewer"),
    "auditor": _("Auditor"),
    "underwriter": _("Underwriter"),
    "claims": _("Claims handler"),
    "admin": _("Administrator"),
    "integration": _("Integration"),
}

ROLES: dict[str, set[str]] = {
    "clerk": {"view_portfolio", "reveal_phone", "work_cases", "view_reports", "view_trail_policy"},
    "team_lead": {
        "view_portfolio", "reveal_phone", "reveal_id", "work_cases", "assign_cases",
        "approve_applications", "view_reports", "view_trail_policy", "configure_templates", "view_operations",
    },
    "manager": {"view_portfolio", "view_reports"},
    "finance": {
        "view_portfolio", "reveal_account", "import_statements", "match_payments",
        "approve_matches", "view_reports", "configure_matching_rules",
    },
    "risk_reviewer": {
        "view_portfolio", "reveal_id", "reveal_account", "work_risk_flags", "view_reports",
        "configure_risk_rules",
    },
    "auditor": {
        "view_portfolio", "reveal_phone", "reveal_id", "reveal_account", "view_reports",
        "view_trail_policy", "view_trail_all", "export_trail",
    },
    "underwriter": {"view_portfolio", "reveal_id", "decide_handoffs"},
    "claims": {"view_portfolio", "reveal_id", "decide_handoffs"},
    "admin": {
        "view_portfolio", "reveal_phone", "reveal_id", "reveal_account", "view_reports",
        "view_trail_policy", "view_trail_all", "export_trail", "configure_templates",
        "configure_matching_rules", "configure_risk_rules", "configure_system", "import_policies", "view_operations",
    },
    "integration": {"view_portfolio", "import_policies", "upsert_policies_api"},
}

# Which capability reveals which masked field.
REVEAL_CAPABILITY = {"phone": "reveal_phone", "id_no": "reveal_id", "bank_account": "reveal_account"}


def perm(capability: str) -> str:
    """The full permission name of a capability, for user.has_perm."""
    return f"accounts.{capability}"
