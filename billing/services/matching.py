"""Matching: which policy (or policies) a money line pays, by the ordered rules of MatchingRule.

A rule finds candidate policies (a policy number in the text, the payer's account registered on a
policy, the payer's name as a policyholder's) and checks the amount against what is due within
its search window. The first rule that passes decides: booked automatically (assigned and
allocated) or proposed for a person. A match never ignores a conflicting reference: when the
text names an existing policy that the rule's candidate is not, the line is proposed, not booked.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from billing.models import Assignment, Installment, MatchingRule, Payment
from billing.services.allocations import policy_allocate
from billing.services.payments import payment_assign, payment_status_refresh
from policies.models import Policy

ZERO = Decimal("0.00")
# used to detect a conflicting reference whatever the rules say
POLICY_NUMBER_RE = re.compile(r"(?<![0-9])([0-9]{16})(?![0-9])")


@dataclass
class MatchOutcome:
    status: str  # matched, proposed, suspense
    rule: str = ""
    reason: str = ""
    splits: list[tuple[Policy, Decimal]] = field(default_factory=list)


def _owed_steps(policy: Policy, payment: Payment, rule: MatchingRule) -> list[Decimal]:
    """What paying the oldest 1, 2, 3... open installments due within the rule's window costs;
    the modal premium when nothing is open yet (money ahead of its installment becomes credit)."""
    until = payment.value_date + dt.timedelta(days=rule.window_days)
    open_amounts = (Installment.objects.filter(policy=policy, status__in=Installment.OPEN_STATUSES, due_date__lte=until)
                    .order_by("sequence").annotate(owed=F("amount_due") - F("amount_paid"))
                    .values_list("owed", flat=True))
    steps, total = [], ZERO
    for owed in open_amounts:
        total += owed
        steps.append(total)
    return steps or [policy.modal_premium]


def _text(payment: Payment) -> str:
    return f"{payment.remittance} {payment.reference}"


def _referenced_policies(payment: Payment, pattern: str) -> list[Policy]:
    numbers = list(dict.fromkeys(m.group(1) for m in re.finditer(pattern, _text(payment))))
    found = {p.policy_no: p for p in Policy.objects.filter(policy_no__in=numbers).select_related("holder")}
    return [found[n] for n in numbers if n in found]


def _candidates(rule: MatchingRule, payment: Payment) -> list[Policy]:
    if rule.kind == MatchingRule.Kind.REFERENCE:
        return _referenced_policies(payment, rule.pattern or POLICY_NUMBER_RE.pattern)
    if rule.kind == MatchingRule.Kind.PAYER_ACCOUNT:
        if not payment.payer_account:
            return []
        return list(Policy.objects.filter(bank_account=payment.payer_account, status__in=("in_force", "lapsed",
                                                                                          "deferred"))[:2])
    if rule.kind == MatchingRule.Kind.PAYER_NAME:
        if not payment.payer_name:
            return []
        return list(Policy.objects.filter(holder__name=payment.payer_name, status__in=("in_force", "lapsed",
                                                                                       "deferred"))[:2])
    return []


def _within(amount: Decimal, expected: Decimal, tolerance: Decimal | None) -> bool:
    return tolerance is None or abs(amount - expected) <= tolerance


def payment_match_decide(*, payment: Payment, rules: list[MatchingRule]) -> MatchOutcome:
    """Decide, without writing: the first rule that finds candidates and passes its checks."""
    if payment.direction != Payment.Direction.CREDIT or payment.reversal:
        return MatchOutcome("ignored", reason="not money received")
    if payment.currency != "CNY":
        return MatchOutcome("suspense", reason=f"foreign currency {payment.currency}: kept unconverted")
    referenced = _referenced_policies(payment, POLICY_NUMBER_RE.pattern)
    for rule in rules:
        candidates = _candidates(rule, payment)
        if not candidates:
            continue
        if rule.kind != MatchingRule.Kind.REFERENCE and len(candidates) > 1:
            return MatchOutcome("proposed", rule=rule.name, reason="several policies fit", splits=[
                (candidates[0], payment.amount)])
        if len(candidates) == 1:
            policy = candidates[0]
            if not any(_within(payment.amount, step, rule.amount_tolerance)
                       for step in _owed_steps(policy, payment, rule)):
                continue
            if referenced and policy not in referenced:
                return MatchOutcome("proposed", rule=rule.name, splits=[(policy, payment.amount)],
                                    reason=f"conflicting reference: the text names {referenced[0].policy_no}")
            status = "matched" if rule.action == MatchingRule.Action.AUTO else "proposed"
            return MatchOutcome(status, rule=rule.name, splits=[(policy, payment.amount)])
        # one transfer paying several policies: each its oldest installment, or all it owes in the
        # window; the sum must fit the amount
        steps = [(policy, _owed_steps(policy, payment, rule)) for policy in candidates]
        owed = next((option for option in ([(p, s[0]) for p, s in steps], [(p, s[-1]) for p, s in steps])
                     if _within(payment.amount, sum((o for _p, o in option), ZERO), rule.amount_tolerance)), None)
        if owed is None:
            continue
        splits = list(owed)
        splits[-1] = (splits[-1][0], payment.amount - sum((o for _p, o in owed[:-1]), ZERO))
        if splits[-1][1] <= 0:
            continue
        status = "matched" if rule.action == MatchingRule.Action.AUTO else "proposed"
        return MatchOutcome(status, rule=rule.name, splits=splits)
    return MatchOutcome("suspense", reason="no rule matched")


@transaction.atomic
def payment_match(*, payment: Payment, as_of: dt.date, rules: list[MatchingRule] | None = None) -> MatchOutcome:
    """Match one line and book the outcome: assignments (confirmed or proposed) and allocation."""
    if rules is None:
        rules = list(MatchingRule.objects.filter(active=True).order_by("position", "id"))
    outcome = payment_match_decide(payment=payment, rules=rules)
    if outcome.status in ("matched", "proposed"):
        status = Assignment.Status.CONFIRMED if outcome.status == "matched" else Assignment.Status.PROPOSED
        for policy, amount in outcome.splits:
            payment_assign(payment=payment, policy=policy, amount=amount, rule=outcome.rule, status=status)
        if outcome.status == "matched":
            for policy, _amount in outcome.splits:
                policy_allocate(policy_id=policy.pk, as_of=as_of)
    if outcome.reason and payment.status_reason != outcome.reason[:256]:
        payment.status_reason = outcome.reason[:256]
        payment.save(update_fields=["status_reason"])
    payment_status_refresh(payment=payment)
    return outcome
