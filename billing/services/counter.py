"""Money taken at a branch counter, entered by finance from the receipt: a payment line (source
counter) with how it was paid (cash or card), then matched like any other line. The money event
is published in the same transaction, so an instant rule (risk: cash at the threshold) sees it."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context, operation_record
from billing.models import CounterPayment, Payment
from billing.services.matching import payment_match
from billing.services.payments import payment_create
from core.errors import ApplicationError
from core.events import PAYMENT_RECEIVED, event_publish
from policies.models import Policy
from policies.selectors import policy_scope_check

COUNTER_ACCOUNT = "counter"


@transaction.atomic
def counter_payment_record(*, method: str, amount: Decimal, value_date: dt.date, payer_name: str, receipt_no: str,
                           actor, as_of: dt.date, payer_account: str = "", payer_id_no: str = "",
                           policy_no: str = "") -> CounterPayment:
    if not actor.has_perm(perm("import_statements")):
        raise ApplicationError(_("only finance records counter payments"), status=403)
    if method not in CounterPayment.Method.values:
        raise ApplicationError(_("cash or card"), errors={"method": [_("cash or card")]})
    exponent = amount.as_tuple().exponent  # 'n', 'N' or 'F' for NaN and infinity
    if amount <= 0 or not isinstance(exponent, int) or exponent < -2:
        raise ApplicationError(_("a positive amount with two decimals"),
                               errors={"amount": [_("a positive amount with two decimals")]})
    if not payer_name.strip():
        raise ApplicationError(_("the payer's name is required"), errors={"payer_name": [_("required")]})
    if value_date > as_of:
        raise ApplicationError(_("the money cannot be taken after today"), errors={"value_date": [_("after today")]})
    receipt_no = receipt_no.strip()
    if not receipt_no or CounterPayment.objects.filter(receipt_no=receipt_no).exists():
        raise ApplicationError(_("this receipt number is already recorded"),
                               errors={"receipt_no": [_("already recorded")]})
    if policy_no:
        policy = Policy.objects.filter(policy_no=policy_no).first()
        if policy is None:
            raise ApplicationError(_("no such policy"), errors={"policy_no": [_("no such policy")]})
        policy_scope_check(user=actor, policy=policy)
    with audit_context(user=actor.pk, username=actor.get_username()):
        payment, _created = payment_create(
            source=Payment.Source.COUNTER, account_no=COUNTER_ACCOUNT, identity=f"receipt:{receipt_no}",
            value_date=value_date, amount=amount, payer_name=payer_name.strip(), payer_account=payer_account.strip(),
            reference=policy_no, remittance=policy_no)
        counter = CounterPayment.objects.create(payment=payment, method=method, receipt_no=receipt_no,
                                                payer_id_no=payer_id_no.strip(), recorded_by=actor)
    operation_record(action="counter_payment_record", actor=actor, object_type="payment", object_ref=str(payment.pk),
                     details={"method": method, "amount": str(amount), "receipt_no": receipt_no, "policy_no": policy_no})
    event_publish(PAYMENT_RECEIVED, as_of=as_of, payment_ids=[payment.pk], source="counter")
    payment_match(payment=payment, as_of=as_of)
    return counter


def counter_payment_list(*, user):
    """The latest counter payments (finance: every branch's; a branch's policies are matched
    through the suspense pages' own checks)."""
    if not user.has_perm(perm("import_statements")):
        return CounterPayment.objects.none()
    return CounterPayment.objects.select_related("payment", "recorded_by").order_by("-created_at")
