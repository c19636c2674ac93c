"""A labelled panel made by the demo's behaviour model (simulation.behaviour), to measure the
lapse-risk model against the truth: synthetic customers drawn like the demo's portfolio, each
installment's outcome, debits and payments drawn by the documented propensities, then one row per
customer in force on each snapshot date with the same raw facts the product's SQL reads
(scoring.features.RAW_COLUMNS), the label (lapsed in the next 90 days) and the true propensity.

The true propensity of a row is what the behaviour model itself gives: 1 - prod(1 - q_k) over the
installments not paid by the date whose grace ends in the 90 days, q_k the probability that the
installment is not paid in time (stops; partial without the rest; an account failure without a
new account) from the propensities the model drew its outcome with, updated by Bayes' rule with
what the date shows of the installment (nothing paid 30 days after the due date; part paid; the
due date's debit failed for an account reason): Truth.lapse. The previous installment's outcome
it uses is the one the model drew with (hidden from any feature), so no model can beat it on
average; the installments are taken as independent given it.

Test and bench code only: simulation is imported lazily, never on a production path. No reinstatement
(a lapse ends the customer's rows) and no holds, calls or reminders (those features are 0).
"""

import datetime as dt
import random
from decimal import Decimal

import numpy as np

from core.dates import add_months
from scoring.features import HARD_REASONS, HORIZON_DAYS, KINDS, METHODS, RAW_COLUMNS
from scoring.services.models import Dataset

RETRY_DAYS = (0, 3, 10, 20)  # the default plan's debit and its retries (DESIGN.md section 3)
FALLBACK_AFTER_DAYS = 25  # simulation.world: a debit customer with no debit paid transfers then
MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
PER_YEAR = {"monthly": 12, "quarterly": 4, "semiannual": 2, "annual": 1}


def _weighted(rng: random.Random, items):
    point = rng.random() * sum(item[-1] for item in items)
    for item in items:
        point -= item[-1]
        if point < 0:
            return item
    return items[-1]


def _customer(rng: random.Random, n: int, start: dt.date):
    from policies.services.demo import FREQUENCIES, PAYMENT_METHODS, PRODUCTS
    from simulation.behaviour import Customer

    _code, _name, kind, grace, _terms, (low, high) = PRODUCTS[rng.randrange(len(PRODUCTS))]
    frequency = _weighted(rng, FREQUENCIES)[0]
    method = _weighted(rng, PAYMENT_METHODS)[0]
    issue = start - dt.timedelta(days=30 + rng.randrange(3620))
    annual = Decimal(low + 100 * rng.randrange((high - low + 99) // 100))
    modal = (annual / PER_YEAR[frequency]).quantize(Decimal("0.01"))
    age = 20 + rng.randrange(43)
    birth = dt.date(issue.year - age, 1 + rng.randrange(12), 1 + rng.randrange(28))
    customer = Customer(policy_no=f"9{n:015d}", birth_date=birth, payment_method=method, product_kind=kind,
                        frequency=frequency, modal_premium=modal, has_account=method == "auto_debit")
    return customer, issue, grace


def _installment(seed, customer, sequence, due, grace_end, previous_due):
    """(completed on (value date) or None, first money's value date or None, debit lines
    [(collection date, failed, hard)], true probability of not being paid in time)."""
    from simulation import behaviour

    plan = behaviour.installment_plan(seed=seed, customer=customer, sequence=sequence, due_date=due,
                                      grace_end=grace_end, owed=customer.modal_premium,
                                      previous_due_date=previous_due)
    debit = customer.payment_method == "auto_debit"
    lines, completed = [], None
    if debit:
        for attempt, offset in enumerate(RETRY_DAYS, start=1):
            answer = plan.debit_result(attempt)
            day = due + dt.timedelta(days=offset)
            if answer == "paid":
                lines.append((day, False, False))
                completed = day
                break
            lines.append((day, True, answer in HARD_REASONS))
            if answer != "insufficient_funds":
                break
    payments = list(plan.payments)
    if debit and completed is None and not payments and plan.outcome != behaviour.Outcome.STOPS:
        payments = [behaviour.PlannedPayment(min(due + dt.timedelta(days=FALLBACK_AFTER_DAYS + sequence % 5),
                                                 grace_end), customer.modal_premium, "bank", "policy_no")]
    first = None
    if completed is None and payments:
        total = Decimal(0)
        for payment in sorted(payments, key=lambda p: p.value_date):
            first = first or payment.value_date
            total += payment.amount
            if total >= customer.modal_premium:
                completed = payment.value_date
                break
    # the truth: the propensities the outcome was drawn with (the previous installment's outcome
    # as the model draws it: without memory, from its own stream)
    previous = None
    if sequence > 1 and previous_due is not None:
        previous = behaviour._draw_outcome(behaviour._rng(seed, customer.policy_no, sequence - 1, "outcome"),
                                           customer, previous_due, None)
    p = behaviour.propensities(customer, on=due, previous=previous)
    truth = Truth({o.value: w for o, w in p.items()}, debit, (grace_end - due).days, bool(plan.hard_failure))
    return completed, first, lines, truth


def _after(day: int, low: int, high: int) -> float:
    """P(a day drawn uniformly from low..high is later than `day`)."""
    high = max(low, high)
    return min(1.0, max(0.0, (high - day) / (high - low + 1)))


class Truth:
    """The behaviour model's own probability that an installment is not paid in time, given what
    a date shows of it (nothing paid yet, part paid, an account failure): Bayes' rule over the
    outcomes it draws from and the days each one pays on (simulation.behaviour.installment_plan)."""

    def __init__(self, p: dict, debit: bool, grace: int, hard_failure: bool):
        self.p, self.debit, self.grace, self.hard_failure = p, debit, grace, hard_failure

    def lapse(self, *, day: int, partial: bool) -> float:
        """`day`: days since the due date (negative before it); `partial`: money on it by then."""
        from simulation import behaviour

        p, g = self.p, self.grace
        if partial:  # only a partial outcome leaves part paid: half of them pay the rest on U(20, grace)
            return 0.5 / (0.5 + 0.5 * _after(day, 20, g))
        late_unpaid = 0.4 * (1.0 if day < g else 0.0) + 0.6 * _after(day, 5 if not self.debit else 4, g)
        partial_unpaid = _after(day, 0, 10)
        stops = p.get("stops", 0.0)
        if not self.debit:
            unpaid = {"on_time": _after(day, -7, 3), "late_in_grace": late_unpaid, "partial": partial_unpaid}
            lapsing = stops + 0.5 * p.get("partial", 0.0) * partial_unpaid
            paying = sum(p.get(o, 0.0) * w for o, w in unpaid.items()) - 0.5 * p.get("partial", 0.0) * partial_unpaid
            return lapsing / (lapsing + paying) if lapsing + paying else 0.0
        # auto-debit: the first debit (due date) shows an account failure from the day after
        hard_rate = behaviour.HARD_FAILURE_RATE
        pays_after_hard = behaviour.HARD_FAILURE_THEN_PAYS
        hard_lapsing = stops + (1 - stops) * (1 - pays_after_hard)
        hard_paying = (1 - stops) * pays_after_hard * _after(day, 8, g - 5)
        retried_unpaid = 0.6 * (1.0 if day < 3 else 0.0) + 0.4 * (1.0 if day < 10 else 0.0)
        unpaid = {"on_time": 1.0 if day < 0 else 0.0, "debit_retried": retried_unpaid, "late_in_grace": late_unpaid,
                  "partial": partial_unpaid}
        soft_lapsing = stops + 0.5 * p.get("partial", 0.0) * partial_unpaid
        soft_paying = sum(p.get(o, 0.0) * w for o, w in unpaid.items()) - 0.5 * p.get("partial", 0.0) * partial_unpaid
        if day > 0:  # the due date's debit has answered: an account failure or not
            lapsing, paying = (hard_lapsing, hard_paying) if self.hard_failure else (soft_lapsing, soft_paying)
        else:
            lapsing = hard_rate * hard_lapsing + (1 - hard_rate) * soft_lapsing
            paying = hard_rate * hard_paying + (1 - hard_rate) * soft_paying
        return lapsing / (lapsing + paying) if lapsing + paying else 0.0


def panel_generate(*, customers: int, start: dt.date, months: int, seed: int = 7, step_days: int = 30) -> Dataset:
    """Rows on `months` snapshot dates every step_days from `start` (labels need 90 days after the
    last), for `customers` synthetic customers."""
    dates = [start + dt.timedelta(days=step_days * k) for k in range(months)]
    last_due = dates[-1] + dt.timedelta(days=HORIZON_DAYS)
    out_dates, out_ids, out_raw, out_y, out_p = [], [], [], [], []
    for n in range(customers):
        rng = random.Random(f"panel:{seed}:{n}")
        customer, issue, grace = _customer(rng, n, start)
        step = MONTHS[customer.frequency]
        per_year = PER_YEAR[customer.frequency]
        annual = float(customer.modal_premium) * per_year
        # installments from a year before the first date (the features' history) to the horizon
        k = 1
        while add_months(issue, k * step) <= start - dt.timedelta(days=400):
            k += 1
        installments, lapse_on = [], None
        previous_due = add_months(issue, (k - 1) * step)
        while True:
            due = add_months(issue, k * step)
            if due > last_due:
                break
            grace_end = due + dt.timedelta(days=grace)
            completed, first, lines, q = _installment(seed, customer, k, due, grace_end, previous_due)
            installments.append((due, grace_end, completed, first, lines, q))
            if completed is None or completed > grace_end:
                lapse_on = grace_end + dt.timedelta(days=1)
                break
            previous_due, k = due, k + 1
        method = METHODS.index(customer.payment_method) + 1
        kind = KINDS.index(customer.product_kind) + 1
        for day in dates:
            if day < issue or (lapse_on is not None and lapse_on <= day):
                continue
            horizon = day + dt.timedelta(days=HORIZON_DAYS)
            unpaid = [i for i in installments if i[0] < day and not (i[2] is not None and i[2] <= day)]
            oldest = min(unpaid, key=lambda i: i[0]) if unpaid else None
            window = [i for i in installments if day <= i[1] < horizon and not (i[2] is not None and i[2] <= day)]
            history = [i for i in installments if day - dt.timedelta(days=366) < i[0] < day]
            late = [i for i in history if i[2] is not None and i[2] <= day and (i[2] - i[0]).days > 3]
            debits = sorted((line for i in installments for line in i[4]
                             if day - dt.timedelta(days=366) <= line[0] < day), key=lambda line: line[0])
            soft = sum(1 for d, failed, hard in debits if failed and not hard and d >= day - dt.timedelta(days=90))
            age = day.year - customer.birth_date.year - ((day.month, day.day) < (customer.birth_date.month,
                                                                                 customer.birth_date.day))
            raw = [age, method, kind, per_year, annual, (day - issue).days,
                   (day - oldest[0]).days if oldest else 0,
                   1 if oldest and oldest[3] is not None and oldest[3] <= day else 0,
                   len(window), len(history), len(late), soft,
                   1 if debits and debits[-1][1] and debits[-1][2] else 0, 1 if debits and debits[-1][1] else 0,
                   0, 0, 0, 0]
            truth = 1.0 - float(np.prod([1.0 - i[5].lapse(day=(day - i[0]).days,
                                                          partial=i[3] is not None and i[3] <= day)
                                         for i in window])) if window else 0.0
            out_dates.append(np.datetime64(day, "D"))
            out_ids.append(n)
            out_raw.append(raw)
            out_y.append(1 if lapse_on is not None and day < lapse_on <= horizon else 0)
            out_p.append(truth)
    assert len(RAW_COLUMNS) == 18
    return Dataset(np.array(out_dates, dtype="datetime64[D]"), np.array(out_ids, dtype=np.int64),
                   np.array(out_raw, dtype=np.float64).reshape(-1, len(RAW_COLUMNS)), np.array(out_y, dtype=np.int8),
                   np.array(out_p, dtype=np.float64))
