"""The demo's workbench day (simulation/day_30_workbench.py) works cases through the services:
the clerk's calls with their outcomes, hand-offs answered a day or two later."""

import datetime as dt
from collections import Counter

import pytest

from conftest import GZ_POLICY, policies_csv
from policies.models import Policy
from policies.services.imports import policies_import
from renewals.models import Case, ContactAttempt, WorkTeam
from renewals.tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def test_the_demo_clerk_works_the_queue_and_departments_answer(portfolio, make_user):
    from simulation.day_30_workbench import CASES_PER_CLERK, day

    rows = [GZ_POLICY.replace("8860000000000001", f"88600000000003{k:02d}") for k in range(30)]
    policies_import(files=[("policies.csv", policies_csv(*rows))], as_of=dt.date(2026, 11, 25))
    for k, policy in enumerate(Policy.objects.filter(policy_no__startswith="88600000000003")):
        CaseFactory(policy=policy, opened_on=dt.date(2026, 12, 1), priority=k)
    make_user("clerk", ["clerk"], ["GD-GZ"])
    make_user("lead", ["team_lead"], ["GD"])
    make_user("underwriter", ["underwriter"], ["HQ"])
    make_user("claims", ["claims"], ["HQ"])
    counts = Counter()
    day(world=None, day=dt.date(2026, 12, 1), previous=dt.date(2026, 11, 30), end=dt.date(2026, 12, 31), cast=None,
        counts=counts, working=True)
    assert counts["wb_claimed"] == CASES_PER_CLERK
    assert ContactAttempt.objects.count() >= CASES_PER_CLERK // 2
    assert WorkTeam.objects.filter(kind="underwriting").exists()
    handoffs = Case.objects.filter(type__startswith="handoff_").count()
    for later in (dt.date(2026, 12, 2), dt.date(2026, 12, 3), dt.date(2026, 12, 4)):
        day(world=None, day=later, previous=later - dt.timedelta(days=1), end=dt.date(2026, 12, 31), cast=None,
            counts=counts, working=True)
    if handoffs:
        assert counts["wb_answered"] >= 1
    assert not any(key.endswith("_refused") and n > CASES_PER_CLERK for key, n in counts.items()), counts
