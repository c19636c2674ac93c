"""The per-customer allow-list of known legitimate payers (a parent, a spouse, an employer)."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context, operation_record
from core.errors import ApplicationError
from policies.models import Customer, Policy
from policies.selectors import policy_scope_check
from risk.models import AllowedPayer


@transaction.atomic
def allowed_payer_add(*, customer: Customer, payer_name: str, payer_account: str, relation: str, actor,
                      note: str = "") -> AllowedPayer:
    if not actor.has_perm(perm("work_risk_flags")):
        raise ApplicationError(_("only a risk reviewer keeps the allow-list"), status=403)
    payer_name, payer_account = payer_name.strip(), payer_account.strip()
    if not payer_name and not payer_account:
        raise ApplicationError(_("name the payer or the account"), errors={"payer_name": [_("required")]})
    policy = Policy.objects.filter(holder=customer).order_by("pk").first()
    if policy is not None:
        policy_scope_check(user=actor, policy=policy)
    with audit_context(user=actor.pk, username=actor.get_username()):
        payer, created = AllowedPayer.objects.get_or_create(
            customer=customer, payer_name=payer_name, payer_account=payer_account,
            defaults={"relation": relation, "note": note[:256], "added_by": actor})
    if created:
        operation_record(action="risk_allowed_payer_add", actor=actor, object_type="customer",
                         object_ref=str(customer.pk), reason=note[:256], details={"relation": relation})
    return payer
