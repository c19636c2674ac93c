"""The outside world on one business date: which money the customers send (and through which
channel), and what the bank answers to the debit batches, read from the product's own state
(open installments, pending debit lines, approved reinstatements) and decided by the behaviour
model. Nothing here writes: services.py turns it into files and imports them."""

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from billing.models import Installment
from policies.models import PolicyStatus
from renewals.models import Application
from simulation import behaviour
from simulation.behaviour import Customer, Outcome, PlannedPayment
from simulation.files import DebitAnswer, MoneyLine

# an auto-debit installment still open this long after its due date (the debit never went out:
# a hold, a moratorium, a policy behind before the demo began) is paid by transfer if its plan pays
FALLBACK_AFTER_DAYS = 25
MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}

CUSTOMER_SQL = """
SELECT p.id, p.policy_no, c.birth_date, p.payment_method, pr.kind, p.frequency, p.modal_premium,
       p.bank_account <> '', c.name, p.bank_account, p.status, p.lapse_date, b.code
FROM policies_policy p
JOIN policies_customer c ON c.id = p.holder_id
JOIN policies_product pr ON pr.id = p.product_id
JOIN policies_branch b ON b.id = p.branch_id
"""
# the branch where people act (actors.CLERK_BRANCH): its story customers follow a script
STORY_BRANCH = "GD-GZ"


@dataclass(frozen=True)
class World:
    """What every decision of a build depends on."""

    seed: int
    start: dt.date
    story_share: float

# installments someone may pay on the window's dates: open, due in the last 100 or next 10 days
OPEN_INSTALLMENTS_SQL = CUSTOMER_SQL.replace("SELECT p.id,", "SELECT i.id, i.sequence, i.due_date, i.grace_end, "
                                             "i.amount_due, p.id,") + """
JOIN billing_installment i ON i.policy_id = p.id
WHERE i.status = ANY(%(open)s) AND i.due_date BETWEEN %(low)s AND %(high)s AND p.status = ANY(%(paying)s)
ORDER BY p.policy_no, i.sequence
"""


@dataclass(frozen=True)
class Payer:
    policy_id: int
    customer: Customer
    name: str
    account: str
    status: str
    lapse_date: dt.date | None


def _payer(row, world: World, due_date: dt.date | None = None) -> Payer:
    (policy_id, policy_no, birth, method, kind, frequency, modal, has_account, name, account, status,
     lapse_date, branch_code) = row
    role = (behaviour.story_role(seed=world.seed, policy_no=policy_no, share=world.story_share)
            if branch_code == STORY_BRANCH else "")
    customer = Customer(policy_no=policy_no, birth_date=birth, payment_method=method, product_kind=kind,
                        frequency=frequency, modal_premium=modal, has_account=has_account,
                        overdue_at_start=due_date is not None and due_date < world.start, role=role)
    return Payer(policy_id, customer, name, account, status, lapse_date)


# plans are pure functions of their key: computed once per build process, not once per day
_PLANS: dict[tuple, behaviour.Plan] = {}


def installment_plan(*, seed: int, payer: Payer, sequence: int, due_date: dt.date, grace_end: dt.date,
                     amount_due: Decimal) -> behaviour.Plan:
    key = (seed, payer.customer, sequence, due_date, grace_end, amount_due)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) > 500_000:
            _PLANS.clear()
        previous = due_date - dt.timedelta(days=30 * MONTHS.get(payer.customer.frequency, 12))
        plan = _PLANS[key] = behaviour.installment_plan(
            seed=seed, customer=payer.customer, sequence=sequence, due_date=due_date, grace_end=grace_end,
            owed=amount_due, previous_due_date=previous)
    return plan


@dataclass(frozen=True)
class Incoming:
    """A payment on its way in, with the channel it takes."""

    channel: str  # bank (transfers, counter deposits, strangers), alipay, wechatpay
    line: MoneyLine
    policy_no: str = ""


def _text_and_payer(payment: PlannedPayment, payer: Payer, seed: int) -> tuple[str, str, str]:
    """(remittance text, payer name, payer account) as this customer writes them."""
    number = payer.customer.policy_no
    if payment.channel in ("alipay", "wechatpay"):
        return f"续期保费 保单{number}", payer.name, ""
    if payment.channel == "counter":
        return f"柜面缴费 保单{number}", payer.name, ""
    if payment.style == "account_only":
        return "续期保费", payer.name, payer.account
    if payment.style == "name_only":
        return "保费", payer.name, ""
    if payment.style == "typo":
        return f"保单{number[:7]}{number[8:]}保费", payer.name, ""  # a digit left out
    if payment.style == "new_account":
        return f"保单{number}续期保费（新账户）", payer.name, behaviour.new_account(seed=seed, policy_no=number)
    return f"保单{number}续期保费", payer.name, payer.account


def payments_in_window(*, world: World, low: dt.date, high: dt.date) -> list[Incoming]:
    """Every customer payment valued in (low, high]: premiums of open installments by the behaviour
    model, and reinstatement money of approved applications."""
    seed, start = world.seed, world.start
    incoming: list[tuple[dt.date, dt.date, str, int, Incoming]] = []
    with connection.cursor() as cursor:
        cursor.execute(OPEN_INSTALLMENTS_SQL, {
            "open": list(Installment.OPEN_STATUSES), "low": low - dt.timedelta(days=100),
            "high": high + dt.timedelta(days=10), "paying": [PolicyStatus.IN_FORCE, PolicyStatus.LAPSED]})
        rows = cursor.fetchall()
    for _installment_id, sequence, due_date, grace_end, amount_due, *policy in rows:
        payer = _payer(policy, world, due_date)
        plan = installment_plan(seed=seed, payer=payer, sequence=sequence, due_date=due_date, grace_end=grace_end,
                                amount_due=amount_due)
        payments = list(plan.payments)
        debit_payer = payer.customer.payment_method == "auto_debit"
        if debit_payer and not payments and plan.outcome != Outcome.STOPS:
            fallback = due_date + dt.timedelta(days=FALLBACK_AFTER_DAYS + sequence % 5)
            payments = [PlannedPayment(min(fallback, grace_end), amount_due, "bank", "policy_no")]
        for k, payment in enumerate(payments):
            value_date, arrives = payment.value_date, payment.arrives
            if value_date < start:
                # the installment was behind before the demo began: its money comes in the first week
                value_date = arrives = min(grace_end, start + dt.timedelta(days=(start - value_date).days % 7))
            if not low < arrives <= high:
                continue
            # a lapsed customer's money counts only when it was paid before the lapse (it voids it)
            if payer.status == PolicyStatus.LAPSED and (payer.lapse_date is None or value_date >= payer.lapse_date):
                continue
            text, name, account = _text_and_payer(payment, payer, seed)
            line = MoneyLine(value_date=value_date, amount=payment.amount, payer_name=name, payer_account=account,
                             text=text, reference="")
            incoming.append((arrives, value_date, payer.customer.policy_no, sequence * 10 + k,
                             Incoming(payment.channel if payment.channel != "counter" else "bank", line,
                                      payer.customer.policy_no)))
    incoming += [(i.line.value_date, i.line.value_date, i.policy_no, 0, i)
                 for i in reinstatement_money(seed=seed, low=low, high=high)]
    # ordered by what the customer did, never by row ids (those depend on the database's plans)
    incoming.sort(key=lambda item: item[:4])
    return [item[4] for item in incoming]


def reinstatement_money(*, seed: int, low: dt.date, high: dt.date) -> list[Incoming]:
    """An approved reinstatement is paid a few days after its approval: the quote and whatever else
    fell due meanwhile, in one transfer naming the policy."""
    found = []
    approved = (Application.objects.filter(kind=Application.Kind.REINSTATEMENT, status=Application.Status.APPROVED)
                .select_related("policy__holder").order_by("applied_on", "policy__policy_no"))
    for application in approved:
        approved_on = dt.date.fromisoformat(application.details["approved_on"])
        key = f"{application.policy.policy_no}:{application.applied_on.isoformat()}"  # never its id
        paid_on = approved_on + dt.timedelta(days=behaviour.delay(seed=seed, key=f"reinstate-pay:{key}", low=1, high=8))
        if not low < paid_on <= high:
            continue
        policy = application.policy
        owed = sum((i.amount_due - i.amount_paid for i in policy.installments.filter(
            status__in=Installment.OPEN_STATUSES, due_date__lte=paid_on)), Decimal(0))
        interest = sum((Decimal(line["interest"]) for line in application.details["quote"]["installments"]), Decimal(0))
        line = MoneyLine(value_date=paid_on, amount=owed + interest, payer_name=policy.holder.name,
                         payer_account=policy.bank_account, text=f"保单{policy.policy_no}复效保费及利息", reference="")
        found.append(Incoming("bank", line, policy.policy_no))
    return found


def strangers_in_window(*, seed: int, low: dt.date, high: dt.date) -> list[Incoming]:
    found = []
    day = low + dt.timedelta(days=1)
    while day <= high:
        for name, account, amount, text in behaviour.strangers(seed=seed, day=day):
            found.append(Incoming("bank", MoneyLine(day, amount, name, account, text, "")))
        day += dt.timedelta(days=1)
    return found


DEBIT_LINES_SQL = CUSTOMER_SQL.replace("SELECT p.id,", "SELECT d.end_to_end_id, d.amount, d.attempt, d.bank_name, i.sequence, "
                                       "i.due_date, i.grace_end, i.amount_due, p.id,") + """
JOIN billing_debitline d ON d.policy_id = p.id
JOIN billing_installment i ON i.id = d.installment_id
WHERE d.batch_id = %(batch)s AND d.status = 'pending'
ORDER BY p.policy_no, i.sequence
"""


def debit_answers(*, world: World, batch_id: int, outage: str = "") -> list[DebitAnswer]:
    """The bank's answer to each pending line of a batch: the customer's plan for the installment
    says whether the attempt-th debit is collected or fails, and why; the lines of the bank whose
    system is down (`outage`, behaviour.bank_outage) are all rejected."""
    with connection.cursor() as cursor:
        cursor.execute(DEBIT_LINES_SQL, {"batch": batch_id})
        rows = cursor.fetchall()
    answers = []
    for end_to_end_id, amount, attempt, bank_name, sequence, due_date, grace_end, amount_due, *policy in rows:
        if outage and bank_name == outage:
            answers.append(DebitAnswer(end_to_end_id, amount, "bank_outage"))
            continue
        payer = _payer(policy, world, due_date)
        plan = installment_plan(seed=world.seed, payer=payer, sequence=sequence, due_date=due_date, grace_end=grace_end,
                                amount_due=amount_due)
        answers.append(DebitAnswer(end_to_end_id, amount, plan.debit_result(attempt)))
    return answers


POLICY_NO_RE = re.compile(r"(?<![0-9])(886[0-9]{13})(?![0-9])")


def by_channel(incoming: list[Incoming]) -> dict[str, list[MoneyLine]]:
    grouped: dict[str, list[MoneyLine]] = defaultdict(list)
    for item in incoming:
        grouped[item.channel].append(item.line)
    return grouped


def story_role_of(*, world: World, policy_no: str, branch_code: str) -> str:
    if branch_code != STORY_BRANCH:
        return ""
    return behaviour.story_role(seed=world.seed, policy_no=policy_no, share=world.story_share)
