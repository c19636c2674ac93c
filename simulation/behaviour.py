"""How the demo's customers pay: the documented behaviour model (README, "The demo department").

Each installment of each policy gets one outcome, drawn from propensities that depend on the
customer and the policy; the outcome fixes when and how much is paid, through which channel, and
what the bank answers to each auto-debit attempt. Everything is a pure function of (seed, policy
number, installment sequence) through its own random.Random: no global random, no database, so
the same seed gives the same customers whatever order the days are built in, and a build that
stops and continues makes the same decisions. The later lapse-risk model is measured against
exactly these propensities (`propensities`).

Outcomes of one installment:
- on_time: paid around the due date (a few days early up to 3 days late); an auto-debit is paid
  at the first attempt.
- late_in_grace: paid inside grace; 40 % of them on its very last day, and 60 % of those reach us
  2-5 days later (a counter slip sent on, a transfer booked late; money valued on a weekend also
  reaches us on Monday): valued in grace, imported after the lapse ran, the lapse is reversed.
  Auto-debit customers fail the debits (insufficient funds) until they transfer.
- partial: part of the premium (30-70 %) near the due date; half of them pay the rest later in
  grace, the others lapse with the partial money on the installment.
- debit_retried: auto-debit only; insufficient funds at the due date, paid on the T+3 or T+10
  retry.
- stops: nothing more is paid; the policy lapses after grace. Sticky: a customer who stopped
  very likely stops again for the next installment.
Besides, an auto-debit account may fail for good (frozen, closed, invalid, name mismatch): no
retry, a "failed debit" case; most of these customers then pay late in grace from a new account
(the clerk files a payment plan change with it), the others stop.

Propensities (weights, then multiplied by the factors and normalised):
    base                 on_time 72, late_in_grace 12, partial 5, debit_retried 6, stops 5
    age band   <30       late x1.6, stops x1.5, on_time x0.9
               30-44     x1
               45-59     late x0.8, stops x0.8
               60+       late x0.9, stops x0.6, partial x1.2
    method     auto_debit    on_time x1.1, late x0.6 (debit_retried only here)
               bank_transfer late x1.4
               online        on_time x1.05
               counter       late x1.5, stops x1.2
    product    health, accident (short, cheap)  stops x1.6
               critical_illness stops x0.8;  annuity stops x0.5, partial x1.5
    premium    annual >= 20,000: partial x2, late x1.3;  annual < 2,000: partial x0.5
    past       previous installment late x2 late; partial x2 partial, x1.5 stops; stopped x12 stops;
               already overdue when the demo begins: late x1.5, stops x1.5
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")


class Outcome(StrEnum):
    ON_TIME = "on_time"
    LATE_IN_GRACE = "late_in_grace"
    PARTIAL = "partial"
    DEBIT_RETRIED = "debit_retried"
    STOPS = "stops"


BASE = {Outcome.ON_TIME: 72.0, Outcome.LATE_IN_GRACE: 12.0, Outcome.PARTIAL: 5.0, Outcome.DEBIT_RETRIED: 6.0,
        Outcome.STOPS: 5.0}
AGE_FACTORS = {
    "<30": {Outcome.LATE_IN_GRACE: 1.6, Outcome.STOPS: 1.5, Outcome.ON_TIME: 0.9},
    "30-44": {},
    "45-59": {Outcome.LATE_IN_GRACE: 0.8, Outcome.STOPS: 0.8},
    "60+": {Outcome.LATE_IN_GRACE: 0.9, Outcome.STOPS: 0.6, Outcome.PARTIAL: 1.2},
}
METHOD_FACTORS = {
    "auto_debit": {Outcome.ON_TIME: 1.1, Outcome.LATE_IN_GRACE: 0.6},
    "bank_transfer": {Outcome.LATE_IN_GRACE: 1.4},
    "online": {Outcome.ON_TIME: 1.05},
    "counter": {Outcome.LATE_IN_GRACE: 1.5, Outcome.STOPS: 1.2},
}
PRODUCT_FACTORS = {
    "health": {Outcome.STOPS: 1.6},
    "accident": {Outcome.STOPS: 1.6},
    "critical_illness": {Outcome.STOPS: 0.8},
    "annuity": {Outcome.STOPS: 0.5, Outcome.PARTIAL: 1.5},
    "life": {},
}
PAST_FACTORS = {
    Outcome.LATE_IN_GRACE: {Outcome.LATE_IN_GRACE: 2.0},
    Outcome.PARTIAL: {Outcome.PARTIAL: 2.0, Outcome.STOPS: 1.5},
    Outcome.STOPS: {Outcome.STOPS: 12.0},
}
OVERDUE_AT_START = {Outcome.LATE_IN_GRACE: 1.5, Outcome.STOPS: 1.5}
HIGH_PREMIUM, LOW_PREMIUM = Decimal("20000"), Decimal("2000")

# an auto-debit account that fails for good, per installment, and the bank's reason then
HARD_FAILURE_RATE = 0.025
HARD_FAILURES = (("account_frozen", 30), ("account_closed", 30), ("invalid_account", 20), ("name_mismatch", 20))
HARD_FAILURE_THEN_PAYS = 0.6
# The demo's one explained drop (issue 15): a bank's collection system is down for the last week of
# the span (the seven days before its last business date); every debit line that bank receives then
# is rejected with the bank's words for it (ISO MS03). The night's KPI alert, a week's payment
# success rate against the week before, names that bank as the cause.
OUTAGE_BANK = "招商银行"
OUTAGE_DAYS_BEFORE_END = (7, 1)  # from, to, inclusive: calendar days before the span's last date


def bank_outage(*, collection_date: dt.date, end: dt.date) -> str:
    """The bank whose system is down on this collection date, or ""."""
    first, last = (end - dt.timedelta(days=n) for n in OUTAGE_DAYS_BEFORE_END)
    return OUTAGE_BANK if first <= collection_date <= last else ""


# how a bank transfer names its policy: the number in the text; only the payer's registered
# account; only the payer's name; a mistyped number
TRANSFER_STYLES = (("policy_no", 75), ("account_only", 10), ("name_only", 8), ("typo", 7))
ONLINE_CHANNELS = (("alipay", 50), ("wechatpay", 50))
PER_YEAR = {"monthly": 12, "quarterly": 4, "semiannual": 2, "annual": 1}


@dataclass(frozen=True)
class Customer:
    """What the model knows of a policy and its holder."""

    policy_no: str
    birth_date: dt.date | None
    payment_method: str
    product_kind: str
    frequency: str
    modal_premium: Decimal
    has_account: bool
    overdue_at_start: bool = False
    role: str = ""  # a story customer's script (story_role), "" for everybody else

    def age_band(self, on: dt.date) -> str:
        if self.birth_date is None:
            return "30-44"
        age = on.year - self.birth_date.year - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))
        return "<30" if age < 30 else "30-44" if age < 45 else "45-59" if age < 60 else "60+"

    @property
    def annual_premium(self) -> Decimal:
        return self.modal_premium * PER_YEAR.get(self.frequency, 1)


@dataclass(frozen=True)
class PlannedPayment:
    value_date: dt.date
    amount: Decimal
    channel: str  # bank, counter, alipay, wechatpay
    style: str  # policy_no, account_only, name_only, typo, new_account
    delivered: dt.date | None = None  # when it reaches our files, if later than the first working day after

    @property
    def arrives(self) -> dt.date:
        return self.delivered or self.value_date


@dataclass(frozen=True)
class Plan:
    outcome: Outcome
    debit_results: tuple[str, ...]  # auto-debit: the bank's answer per attempt ("paid" or a reason)
    payments: tuple[PlannedPayment, ...]  # money other than the debits
    hard_failure: str = ""

    def debit_result(self, attempt: int) -> str:
        """The answer to the attempt-th debit of the installment (1 = the due date's)."""
        if not self.debit_results:
            return "insufficient_funds"
        return self.debit_results[min(attempt, len(self.debit_results)) - 1]


def _rng(seed: int, *parts) -> random.Random:
    # a string seed is hashed with SHA-512 by random.seed (version 2): stable across processes
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _weighted(rng: random.Random, items) -> str:
    point = rng.random() * sum(weight for _item, weight in items)
    for item, weight in items:
        point -= weight
        if point < 0:
            return item
    return items[-1][0]


def propensities(customer: Customer, *, on: dt.date, previous: Outcome | None = None) -> dict[Outcome, float]:
    """The probability of each outcome for this customer's installment due on `on`."""
    weights = dict(BASE)
    factors = [AGE_FACTORS[customer.age_band(on)], METHOD_FACTORS.get(customer.payment_method, {}),
               PRODUCT_FACTORS.get(customer.product_kind, {})]
    annual = customer.annual_premium
    if annual >= HIGH_PREMIUM:
        factors.append({Outcome.PARTIAL: 2.0, Outcome.LATE_IN_GRACE: 1.3})
    elif annual < LOW_PREMIUM:
        factors.append({Outcome.PARTIAL: 0.5})
    if previous is not None:
        factors.append(PAST_FACTORS.get(previous, {}))
    elif customer.overdue_at_start:
        factors.append(OVERDUE_AT_START)
    for factor in factors:
        for outcome, multiplier in factor.items():
            weights[outcome] *= multiplier
    if customer.payment_method != "auto_debit":
        # a retried debit needs a debit: for the others it is paying on time
        weights[Outcome.ON_TIME] += weights.pop(Outcome.DEBIT_RETRIED)
    total = sum(weights.values())
    return {outcome: weight / total for outcome, weight in weights.items()}


def _draw_outcome(rng: random.Random, customer: Customer, on: dt.date, previous: Outcome | None) -> Outcome:
    return Outcome(_weighted(rng, list(propensities(customer, on=on, previous=previous).items())))


def outcome_of(*, seed: int, customer: Customer, sequence: int, due_date: dt.date,
               previous_due_date: dt.date | None = None) -> Outcome:
    """The outcome of one installment. Past behaviour is the previous installment's outcome, itself
    drawn without looking further back (one step of memory keeps this a pure function)."""
    previous = None
    if sequence > 1 and previous_due_date is not None:
        previous = _draw_outcome(_rng(seed, customer.policy_no, sequence - 1, "outcome"), customer,
                                 previous_due_date, None)
    return _draw_outcome(_rng(seed, customer.policy_no, sequence, "outcome"), customer, due_date, previous)


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _channel(rng: random.Random, customer: Customer) -> tuple[str, str]:
    if customer.payment_method == "online":
        return _weighted(rng, ONLINE_CHANNELS), "policy_no"
    if customer.payment_method == "counter":
        return "counter", "policy_no"
    style = _weighted(rng, TRANSFER_STYLES)
    if style == "account_only" and not customer.has_account:
        style = "name_only"
    return "bank", style


def installment_plan(*, seed: int, customer: Customer, sequence: int, due_date: dt.date, grace_end: dt.date,
                     owed: Decimal, previous_due_date: dt.date | None = None) -> Plan:
    """What the customer does about one installment: the outcome, the debit answers, the payments."""
    outcome = outcome_of(seed=seed, customer=customer, sequence=sequence, due_date=due_date,
                         previous_due_date=previous_due_date)
    rng = _rng(seed, customer.policy_no, sequence, "plan")
    if customer.role:
        return _scripted(customer, rng, due_date, grace_end, owed)
    grace_days = max(1, (grace_end - due_date).days)
    debit = customer.payment_method == "auto_debit"
    channel, style = _channel(rng, customer)
    if debit:
        channel, style = "bank", "policy_no"  # a debit customer who pays otherwise transfers, naming the policy

    def day(low: int, high: int) -> dt.date:
        return due_date + dt.timedelta(days=rng.randint(low, max(low, high)))

    if debit and rng.random() < HARD_FAILURE_RATE:
        reason = _weighted(rng, HARD_FAILURES)
        if outcome != Outcome.STOPS and rng.random() < HARD_FAILURE_THEN_PAYS:
            # a new account: the transfer comes from it, naming the policy
            return Plan(outcome, (reason,), (PlannedPayment(day(8, grace_days - 5), owed, "bank", "new_account"),),
                        hard_failure=reason)
        return Plan(Outcome.STOPS, (reason,), (), hard_failure=reason)
    if outcome == Outcome.ON_TIME:
        if debit:
            return Plan(outcome, ("paid",), ())
        return Plan(outcome, (), (PlannedPayment(day(-7, 3), owed, channel, style),))
    if outcome == Outcome.DEBIT_RETRIED:
        results = ("insufficient_funds", "paid") if rng.random() < 0.6 else ("insufficient_funds",) * 2 + ("paid",)
        return Plan(outcome, results, ())
    if outcome == Outcome.LATE_IN_GRACE:
        low = 4 if debit else 5  # a debit customer transfers after the first retry (T+3) has failed too
        if rng.random() < 0.4:
            # on the last day of grace, and 60 % of these reach us days later (a counter slip sent on,
            # a transfer the bank books late): valued in grace, imported after the lapse, which it voids
            late = grace_end + dt.timedelta(days=rng.randint(2, 5)) if rng.random() < 0.6 else None
            return Plan(outcome, ("insufficient_funds",) * 4,
                        (PlannedPayment(grace_end, owed, channel, style, delivered=late),))
        return Plan(outcome, ("insufficient_funds",) * 4, (PlannedPayment(day(low, grace_days), owed, channel, style),))
    if outcome == Outcome.PARTIAL:
        part = _money(owed * Decimal(rng.randint(30, 70)) / 100)
        payments = [PlannedPayment(day(0, 10), part, channel, style)]
        if rng.random() < 0.5:
            payments.append(PlannedPayment(day(20, grace_days), owed - part, channel, style))
        return Plan(outcome, ("insufficient_funds",) * 4, tuple(payments))
    return Plan(Outcome.STOPS, ("insufficient_funds",) * 4, ())


# --- the rest of the world: strangers' money, people who come back ------------------------------

STRANGER_NAMES = ("深圳市恒达贸易有限公司", "王小二", "李先生", "广州佳和物流", "陈女士", "北京远航科技有限公司",
                  "张三丰", "刘备", "赵云", "孙尚香")
STRANGER_TEXTS = ("货款", "转账", "往来款", "还款", "", "代付", "押金")


def strangers(*, seed: int, day: dt.date) -> list[tuple[str, str, Decimal, str]]:
    """Money that belongs to nobody we know (suspense with "no rule matched"): (name, account,
    amount, text) lines of one working day's bank statement."""
    rng = _rng(seed, day.isoformat(), "strangers")
    lines = []
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        account = "62" + "".join(str(rng.randint(0, 9)) for _ in range(17))
        amount = Decimal(rng.randint(50, 80000)) if rng.random() < 0.2 else Decimal(rng.randint(5, 300) * 10)
        lines.append((rng.choice(STRANGER_NAMES), account, amount, rng.choice(STRANGER_TEXTS)))
    return lines


def comes_back(*, seed: int, policy_no: str, lapse_date: dt.date, start: dt.date,
               role: str = "") -> tuple[bool, dt.date, bool]:
    """A lapsed customer who applies for reinstatement: (applies, on which day, a "yes" in the
    health declaration). Lapsed during the demo: 60 % apply, 2-20 days after the lapse; lapsed
    before it (inside the two-year window): 30 % apply during its first 45 days; a story customer
    who lapses to come back applies 2-5 days after the lapse."""
    rng = _rng(seed, policy_no, lapse_date.isoformat(), "reinstatement")
    if role in ("lapse_and_back", "declined"):
        # "declined": a hospital stay in the declaration, which underwriting turns down
        return True, max(lapse_date, start) + dt.timedelta(days=rng.randint(2, 5)), role == "declined"
    if lapse_date >= start:
        applies, on = rng.random() < 0.6, lapse_date + dt.timedelta(days=rng.randint(2, 20))
    else:
        applies, on = rng.random() < 0.3, start + dt.timedelta(days=rng.randint(1, 45))
    return applies, on, rng.random() < 0.3


def decision(*, seed: int, key: str, probability: float) -> bool:
    """A person's yes/no on something (an approval, a match), stable for the key."""
    return _rng(seed, key, "decision").random() < probability


def delay(*, seed: int, key: str, low: int, high: int) -> int:
    """How many days a person or a customer takes over something, stable for the key."""
    return _rng(seed, key, "delay").randint(low, high)


def new_account(*, seed: int, policy_no: str) -> str:
    rng = _rng(seed, policy_no, "new-account")
    return "6217" + "".join(str(rng.randint(0, 9)) for _ in range(15))


# --- story customers ----------------------------------------------------------------------------
# A small demo (the tests' 400 policies) would show some situations by chance only: the clerk's
# branch holds a ninth of the portfolio, and a reinstatement needs a lapse, an application, an
# approval and the money inside the span. So about STORY_CUSTOMERS customers of the clerk's branch
# (at most 60 % of it) follow a script instead of the propensities, whatever the size: at the
# default size that is 25 of its ~330 customers. demo_story and the lapse-risk model can tell
# them apart (story_role).
STORY_CUSTOMERS = 25
STORY_ROLES = ("new_account", "late_delivery", "lapse_and_back", "declined", "difficulty", "partial")


def story_share(*, branch_policies: int) -> float:
    return min(0.6, STORY_CUSTOMERS / branch_policies) if branch_policies else 0.0


def story_role(*, seed: int, policy_no: str, share: float) -> str:
    rng = _rng(seed, policy_no, "story")
    return rng.choice(STORY_ROLES) if rng.random() < share else ""


def _scripted(customer: Customer, rng: random.Random, due_date: dt.date, grace_end: dt.date, owed: Decimal) -> Plan:
    debit = customer.payment_method == "auto_debit"
    channel = "bank" if debit or customer.payment_method in ("bank_transfer", "counter") else _channel(rng, customer)[0]
    fails = ("insufficient_funds",) * 4
    if customer.role == "new_account" and debit:
        reason = _weighted(rng, HARD_FAILURES)
        paid_on = due_date + dt.timedelta(days=rng.randint(8, max(8, (grace_end - due_date).days - 5)))
        return Plan(Outcome.LATE_IN_GRACE, (reason,), (PlannedPayment(paid_on, owed, "bank", "new_account"),),
                    hard_failure=reason)
    if customer.role == "late_delivery":
        late = grace_end + dt.timedelta(days=rng.randint(2, 5))
        return Plan(Outcome.LATE_IN_GRACE, fails, (PlannedPayment(grace_end, owed, channel, "policy_no", late),))
    if customer.role in ("lapse_and_back", "declined", "difficulty"):
        return Plan(Outcome.STOPS, fails, ())
    if customer.role == "partial":
        part = _money(owed * Decimal(rng.randint(30, 70)) / 100)
        day = due_date + dt.timedelta(days=rng.randint(0, 10))
        return Plan(Outcome.PARTIAL, fails, (PlannedPayment(day, part, channel, "policy_no"),))
    return Plan(Outcome.ON_TIME, ("paid",), () if debit else (PlannedPayment(due_date, owed, channel, "policy_no"),))
