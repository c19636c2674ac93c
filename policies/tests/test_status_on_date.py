"""Status on a date (DESIGN.md section 3): the latest non-void status-history row with
effective_date <= D; a voided lapse answers in_force for every day it covered; None before issue.
Rows and the policy come from the factories (no import, so the policy has no history of its own)."""

import datetime as dt

import pytest
from django.utils import timezone

from policies.models import PolicyStatusChange
from policies.selectors import policy_status_on
from policies.tests.factories import PolicyFactory, PolicyStatusChangeFactory

pytestmark = pytest.mark.django_db

ISSUE = dt.date(2024, 1, 15)


@pytest.fixture
def policy(reference_data):
    return PolicyFactory(policy_no="8860000000000501", product__code="WL20", branch__code="GD-GZ", issue_date=ISSUE,
                         frequency="monthly", paid_to_date=dt.date(2024, 3, 15))


def _change(policy, status: str, on: dt.date, *, voided: bool = False) -> PolicyStatusChange:
    return PolicyStatusChangeFactory(policy=policy, status=status, effective_date=on, rule="test", voided=voided)


def _days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def test_before_the_issue_date_there_is_no_status(policy):
    _change(policy, "in_force", ISSUE)
    assert policy_status_on(policy=policy, on=dt.date(2024, 1, 14)) is None
    assert policy_status_on(policy=policy, on=dt.date(2000, 1, 1)) is None


def test_in_force_from_the_issue_date(policy):
    _change(policy, "in_force", ISSUE)
    assert policy_status_on(policy=policy, on=ISSUE) == "in_force"
    assert policy_status_on(policy=policy, on=dt.date(2030, 6, 30)) == "in_force"


def test_no_history_yet_reads_in_force_from_issue(policy):
    assert policy_status_on(policy=policy, on=dt.date(2024, 1, 14)) is None
    assert policy_status_on(policy=policy, on=ISSUE) == "in_force"


def test_lapsed_on_and_after_the_lapse_date(policy):
    _change(policy, "in_force", ISSUE)
    _change(policy, "lapsed", dt.date(2024, 5, 15))
    assert policy_status_on(policy=policy, on=dt.date(2024, 5, 14)) == "in_force"
    assert policy_status_on(policy=policy, on=dt.date(2024, 5, 15)) == "lapsed"
    assert policy_status_on(policy=policy, on=dt.date(2024, 5, 16)) == "lapsed"
    assert policy_status_on(policy=policy, on=dt.date(2027, 1, 1)) == "lapsed"


def test_a_voided_lapse_answers_in_force_for_every_day_it_covered(policy):
    _change(policy, "in_force", ISSUE)
    lapse = _change(policy, "lapsed", dt.date(2024, 5, 15))
    _change(policy, "in_force", dt.date(2024, 8, 1))  # reinstated
    assert policy_status_on(policy=policy, on=dt.date(2024, 6, 1)) == "lapsed"

    lapse.voided_at = timezone.now()
    lapse.void_reason = "premium paid within grace, imported late"
    lapse.save()

    for day in _days(dt.date(2024, 5, 15), dt.date(2024, 8, 1)):
        assert policy_status_on(policy=policy, on=day) == "in_force", day


def test_a_voided_lapse_that_was_the_last_row(policy):
    _change(policy, "in_force", ISSUE)
    _change(policy, "lapsed", dt.date(2024, 5, 15), voided=True)
    for day in _days(dt.date(2024, 5, 15), dt.date(2025, 5, 15)):
        assert policy_status_on(policy=policy, on=day) == "in_force", day


def test_the_latest_non_void_row_on_a_date_wins(policy):
    _change(policy, "in_force", ISSUE)
    _change(policy, "lapsed", dt.date(2024, 5, 15))
    _change(policy, "in_force", dt.date(2024, 9, 1))  # reinstated
    _change(policy, "terminated", dt.date(2025, 1, 1), voided=True)  # later, but void
    _change(policy, "deferred", dt.date(2025, 3, 1))
    _change(policy, "in_force", dt.date(2025, 3, 1))  # same day, recorded after: wins
    _change(policy, "surrendered", dt.date(2025, 6, 30))
    _change(policy, "lapsed", dt.date(2025, 6, 30), voided=True)  # same day, recorded after, but void

    expected = {
        dt.date(2024, 1, 14): None,
        dt.date(2024, 1, 15): "in_force",
        dt.date(2024, 5, 14): "in_force",
        dt.date(2024, 5, 15): "lapsed",
        dt.date(2024, 8, 31): "lapsed",
        dt.date(2024, 9, 1): "in_force",
        dt.date(2025, 1, 1): "in_force",
        dt.date(2025, 2, 28): "in_force",
        dt.date(2025, 3, 1): "in_force",
        dt.date(2025, 6, 29): "in_force",
        dt.date(2025, 6, 30): "surrendered",
        dt.date(2030, 1, 1): "surrendered",
    }
    assert {day: policy_status_on(policy=policy, on=day) for day in expected} == expected


def test_rows_of_other_policies_do_not_count(policy):
    other = PolicyFactory(product=policy.product, branch=policy.branch, holder=policy.holder, issue_date=ISSUE)
    _change(policy, "in_force", ISSUE)
    _change(other, "lapsed", dt.date(2024, 3, 1))
    assert policy_status_on(policy=policy, on=dt.date(2024, 6, 1)) == "in_force"
    assert policy_status_on(policy=other, on=dt.date(2024, 6, 1)) == "lapsed"
