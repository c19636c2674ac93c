from django.core.exceptions import PermissionDenied

from accounts.roles import REVEAL_CAPABILITY, perm
from audit.services import audit_event
from policies.models import Policy

# what can be revealed on a policy page: field -> (object, attribute)
REVEALABLE = {
    "holder_id_no": ("holder", "id_no"),
    "holder_phone": ("holder", "phone"),
    "insured_id_no": ("insured", "id_no"),
    "insured_phone": ("insured", "phone"),
    "bank_account": ("policy", "bank_account"),
}


def reveal_kind(field: str) -> str:
    """id_no, phone or bank_account: which masking rule and capability apply."""
    return REVEALABLE[field][1]


def policy_field_reveal(*, user, policy: Policy, field: str, url: str = "") -> str:
    """The unmasked value, if the user's roles may reveal it; each reveal is in the trail."""
    if field not in REVEALABLE:
        raise PermissionDenied
    owner_name, attribute = REVEALABLE[field]
    if not user.has_perm(perm(REVEAL_CAPABILITY[attribute])):
        raise PermissionDenied
    owner = policy if owner_name == "policy" else getattr(policy, owner_name)
    audit_event(obj=owner, label="reveal", actor=user, field=field, policy_no=policy.policy_no, url=url)
    return getattr(owner, attribute)
