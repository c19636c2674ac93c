"""simulation/day_40_risk.py on the planted portfolio: the reviewer works the flags raised two
days before with the outcomes of the demo, and a large cash payment is planted now and then."""

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import pytest

from billing.models import CounterPayment
from risk.models import Flag
from risk.tests.test_evaluation import night
from simulation.day_40_risk import REVIEWS_PER_DAY, day

pytestmark = pytest.mark.django_db


def test_the_demo_reviewer_works_the_queue_and_cash_is_planted(cash, make_user):
    make_user("risk", ["risk_reviewer"], ["HQ"])
    night()
    counts: Counter = Counter()
    cast = SimpleNamespace(finance=cash["finance"])
    # 2026-12-02: a working day on which the demo plants cash
    day(world=None, day=dt.date(2026, 12, 2), previous=dt.date(2026, 12, 1), end=dt.date(2026, 12, 31), cast=cast,
        counts=counts, working=True)
    decided = Flag.objects.exclude(status="open")
    assert decided.count() == REVIEWS_PER_DAY
    assert sum(counts[k] for k in ("risk_clear", "risk_confirm", "risk_escalate", "risk_snooze")) == REVIEWS_PER_DAY
    assert all(f.outcome_reason or f.status == "snoozed" for f in decided)
    assert counts["risk_cash_planted"] == 1
    planted = CounterPayment.objects.get(receipt_no__startswith="XJ20261202")
    assert planted.method == "cash" and planted.payment.amount >= 50000
    assert Flag.objects.filter(rule_key="large-cash", subject_key=f"name:{planted.payment.payer_name}").exists()
    # a day off: nobody works
    before = Flag.objects.exclude(status="open").count()
    day(world=None, day=dt.date(2026, 12, 5), previous=dt.date(2026, 12, 4), end=dt.date(2026, 12, 31), cast=cast,
        counts=counts, working=False)
    assert Flag.objects.exclude(status="open").count() == before
