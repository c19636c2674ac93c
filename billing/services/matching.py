"""Matching: which policy (or policies) a money line pays, by the ordered rules of MatchingRule.

A rule finds candidate policies (a policy number in the text, the payer's account registered on a
policy, the payer's name as a policyholder's) and checks the amount against what is due within
its search window. The first rule that passes decides: booked automatically (assigned and
allocated) or proposed for a person. A match never ignores a conflicting reference: when the
text names an existing policy that the rule's candidate is not, the line is proposed, not booked.

Other amounts (issue 9). A policy-number or payer-account rule that accepts other amounts
(MatchingRule.accepts_partial; the shipped ones do) books any amount on the one policy it finds
when that policy still pays premiums (policies.lifecycle.PAYING): less than what is due is a
partial payment of the oldest open installment; more pays the next installments, up to what falls
due in the 12 months from the value date, and allocation returns the rest to suspense for a
refund with its reason (billing.services.allocations). Several policies named by one transfer are
still booked only when the amount fits what they owe.

A line left in suspense or proposed keeps why as a code with parameters (Payment.reason_code,
reason_params; billing.reasons renders the sentence): the first rule that found a policy and did
not book it says why, else no policy was found at all.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from billing.models import Assignment, Installment, MatchingRule, Payment
from billing.services.allocations import policy_allocate
from billing.services.payments import payment_assign, payment_status_refresh, policies_lock
from policies.lifecycle import PAYING, sql_values
from policies.models import Policy

ZERO = Decimal("0.00")
# money in another currency is kept unconverted in suspense
MATCHED_CURRENCY = "CNY"
# used to detect a conflicting reference whatever the rules say
POLICY_NUMBER_RE = re.compile(r"(?<![0-9])([0-9]{16})(?![0-9])")


R = Payment.ReasonCode
# the rule kinds that may accept other amounts: the payer's name alone is never enough for that
PARTIAL_KINDS = (MatchingRule.Kind.REFERENCE, MatchingRule.Kind.PAYER_ACCOUNT)


@dataclass
class MatchOutcome:
    status: str  # matched, proposed, suspense, ignored
    rule: str = ""
    reason_code: str = ""  # Payment.ReasonCode, or "" when booked as the rule says
    reason_params: dict = field(default_factory=dict)
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
        return list(Policy.objects.filter(bank_account=payment.payer_account, status__in=sql_values(PAYING))
                    .order_by("policy_no")[:2])
    if rule.kind == MatchingRule.Kind.PAYER_NAME:
        if not payment.payer_name:
            return []
        return list(Policy.objects.filter(holder__name=payment.payer_name, status__in=sql_values(PAYING))
                    .order_by("policy_no")[:2])
    return []


def _within(amount: Decimal, expected: Decimal, tolerance: Decimal | None) -> bool:
    return tolerance is None or abs(amount - expected) <= tolerance


def rule_accepts_any_amount(rule: MatchingRule, policy: Policy) -> bool:
    """A rule that accepts other amounts books whatever reaches the one policy it found, when that
    policy still pays premiums; the payer's name alone is never enough for that."""
    return rule.accepts_partial and rule.kind in PARTIAL_KINDS and policy.status in PAYING


def _booked(rule: MatchingRule, splits: list[tuple[Policy, Decimal]]) -> MatchOutcome:
    status = "matched" if rule.action == MatchingRule.Action.AUTO else "proposed"
    return MatchOutcome(status, rule=rule.name, splits=splits)


def payment_match_decide(*, payment: Payment, rules: list[MatchingRule]) -> MatchOutcome:
    """Decide, without writing: the first rule that finds candidates and passes its checks."""
    if payment.direction != Payment.Direction.CREDIT or payment.reversal:
        return MatchOutcome("ignored", reason_code=R.NOT_MONEY_RECEIVED)
    if payment.currency != MATCHED_CURRENCY:
        return MatchOutcome("suspense", reason_code=R.FOREIGN_CURRENCY, reason_params={"currency": payment.currency})
    referenced = _referenced_policies(payment, POLICY_NUMBER_RE.pattern)
    # why the first rule that found a policy did not book it (the most specific reason there is)
    failure: tuple[str, dict] | None = None
    for rule in rules:
        candidates = _candidates(rule, payment)
        if not candidates:
            continue
        if rule.kind != MatchingRule.Kind.REFERENCE and len(candidates) > 1:
            several = (R.PAYER_ACCOUNT_SEVERAL_POLICIES if rule.kind == MatchingRule.Kind.PAYER_ACCOUNT
                       else R.PAYER_NAME_SEVERAL_POLICIES)
            return MatchOutcome("proposed", rule=rule.name, reason_code=several,
                                reason_params={"policy_no": candidates[0].policy_no},
                                splits=[(candidates[0], payment.amount)])
        if len(candidates) == 1:
            policy = candidates[0]
            fits = any(_within(payment.amount, step, rule.amount_tolerance)
                       for step in _owed_steps(policy, payment, rule))
            if not fits and not rule_accepts_any_amount(rule, policy):
                failure = failure or (R.AMOUNT_FITS_NO_INSTALLMENT,
                                      {"policy_no": policy.policy_no, "amount": f"{payment.amount:.2f}"})
                continue
            if referenced and policy not in referenced:
                return MatchOutcome("proposed", rule=rule.name, splits=[(policy, payment.amount)],
                                    reason_code=R.CONFLICTING_REFERENCE,
                                    reason_params={"referenced": referenced[0].policy_no,
                                                   "policy_no": policy.policy_no})
            return _booked(rule, [(policy, payment.amount)])
        # one transfer paying several policies: each its oldest installment, or all it owes in the
        # window; the sum must fit the amount
        steps = [(policy, _owed_steps(policy, payment, rule)) for policy in candidates]
        owed = next((option for option in ([(p, s[0]) for p, s in steps], [(p, s[-1]) for p, s in steps])
                     if _within(payment.amount, sum((o for _p, o in option), ZERO), rule.amount_tolerance)), None)
        splits = list(owed or [])
        if splits:
            splits[-1] = (splits[-1][0], payment.amount - sum((o for _p, o in splits[:-1]), ZERO))
        if not splits or splits[-1][1] <= 0:
            failure = failure or (R.SEVERAL_POLICIES_REFERENCED,
                                  {"policy_nos": " ".join(p.policy_no for p in candidates)})
            continue
        return _booked(rule, splits)
    code, params = failure or (R.NO_REFERENCE, {})
    return MatchOutcome("suspense", reason_code=code, reason_params=params)


def payment_reason_set(*, payment: Payment, code: str, params: dict | None = None) -> None:
    """Store why a line is where it is (a code and its parameters), when that changed."""
    params = params or {}
    if (payment.reason_code, payment.reason_params) != (code, params):
        payment.reason_code, payment.reason_params = code, params
        payment.save(update_fields=["reason_code", "reason_params"])


@transaction.atomic
def payment_match(*, payment: Payment, as_of: dt.date, rules: list[MatchingRule] | None = None) -> MatchOutcome:
    """Match one line and book the outcome: assignments (confirmed or proposed) and allocation.
    The reason is written first: allocation may return an over-payment's excess to suspense with
    its own reason, and nothing after it recomputes the payment's status."""
    if rules is None:
        rules = list(MatchingRule.objects.filter(active=True).order_by("position", "id"))
    outcome = payment_match_decide(payment=payment, rules=rules)
    payment_reason_set(payment=payment, code=outcome.reason_code, params=outcome.reason_params)
    if outcome.status == "suspense":
        payment_status_refresh(payment=payment)  # a proposal rejected meanwhile: back in suspense
    if outcome.status not in ("matched", "proposed"):
        return outcome
    status = Assignment.Status.CONFIRMED if outcome.status == "matched" else Assignment.Status.PROPOSED
    # the split's policies locked in id order before the first is assigned (each assignment and
    # allocation locks its policy: in the text's order, two lines naming "P2 P1" and "P1 P2" could
    # deadlock)
    policies_lock(policy.pk for policy, _amount in outcome.splits)
    for policy, amount in outcome.splits:
        payment_assign(payment=payment, policy=policy, amount=amount, rule=outcome.rule, status=status)
    if outcome.status == "matched":
        for policy, _amount in outcome.splits:
            policy_allocate(policy_id=policy.pk, as_of=as_of)
    return outcome
