"""The demo's day of reminders (simulation/day_10_reminders.py): the day's contacts go through the
real sending path in bulk, receipts and opt-outs come back in bulk."""

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import pytest

from outreach.models import PlannedContact
from outreach.tests.conftest import BJ, plan
from simulation import day_10_reminders

pytestmark = pytest.mark.django_db


def test_a_demo_day_sends_the_days_contacts_and_records_the_answers(gz, default_templates, settings):
    from billing.models import Installment

    settings.OUTREACH_WEEKLY_CAP = 10
    seq = Installment.objects.filter(policy__policy_no=BJ).order_by("sequence").values_list("sequence", flat=True)[0]
    plan({"step_id": 1, "code": "T+1", "channel": "sms"}, {"step_id": 2, "code": "T+1", "channel": "email"},
         {"step_id": 1, "code": "T+1", "channel": "sms", "policy_no": BJ, "sequence": seq},
         {"step_id": 3, "code": "T+7", "channel": "sms", "date": dt.date(2026, 12, 7)})
    counts = Counter()
    day_10_reminders.day(world=SimpleNamespace(seed=1), day=dt.date(2026, 12, 1), previous=dt.date(2026, 11, 30),
                         end=dt.date(2026, 12, 31), cast=None, counts=counts, working=True)
    assert counts["reminders_sent"] == 3
    assert counts["reminders_delivered"] + counts["reminders_failed"] + counts["reminders_bounced"] == 2
    states = dict(PlannedContact.objects.values_list("stage_code", "status").filter(channel="email"))
    assert states == {"T+1": "sent"}
    evening = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)  # 20:00 in Shanghai
    assert set(PlannedContact.objects.filter(step_id__in=[1, 2]).values_list("sent_at", flat=True)) == {evening}
    assert PlannedContact.objects.get(step_id=3).status == "planned"  # a later day's


def test_a_demo_day_rings_the_robot_calls_and_records_their_outcomes(gz, channel_templates, settings):
    from outreach.models import CallResult

    plan({"step_id": 11, "code": "T+1", "kind": "robot_call"})
    counts = Counter()
    day_10_reminders.day(world=SimpleNamespace(seed=1), day=dt.date(2026, 12, 1), previous=dt.date(2026, 11, 30),
                         end=dt.date(2026, 12, 31), cast=None, counts=counts, working=True)
    assert counts["reminders_sent"] == 1
    assert sum(counts[f"calls_{k}"] for k in ("not_reached", "reached", "promise", "hardship", "dissatisfied",
                                               "wrong_number")) == 1
    result = CallResult.objects.get()
    assert result.policy == gz and PlannedContact.objects.get().provider_ref == result.provider_id
