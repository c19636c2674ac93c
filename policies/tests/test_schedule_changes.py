"""The schedule changes the triggers on policies_policy record (policies migration 0015)."""

import datetime as dt

import pytest
from django.db import connection

from policies import lifecycle
from policies.models import Policy, ScheduleChange
from policies.tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db


def _changed() -> set[int]:
    return set(ScheduleChange.objects.values_list("policy_id", flat=True))


def test_a_new_policy_a_term_change_and_a_return_to_paying_are_recorded_a_lapse_or_payment_is_not():
    first, second, third = PolicyFactory(), PolicyFactory(), PolicyFactory()
    assert _changed() == {first.pk, second.pk, third.pk}
    ScheduleChange.objects.all().delete()
    Policy.objects.filter(pk=first.pk).update(status="lapsed", lapse_date=dt.date(2026, 3, 1))
    Policy.objects.filter(pk=second.pk).update(paid_to_date=dt.date(2027, 1, 15), modal_premium=2)
    assert _changed() == set()
    Policy.objects.filter(pk=second.pk).update(premium_term_years=25)
    Policy.objects.filter(pk=third.pk).update(status="terminated")
    assert _changed() == {second.pk}
    Policy.objects.filter(pk=third.pk).update(status="in_force")  # a manual correction back to paying
    Policy.objects.filter(pk=first.pk).update(frequency="monthly")
    assert _changed() == {first.pk, second.pk, third.pk}
    # a row per change: the night's DELETE takes only the rows its snapshot saw
    Policy.objects.filter(pk=second.pk).update(premium_term_years=30)
    assert ScheduleChange.objects.filter(policy_id=second.pk).count() == 2


def test_the_trigger_knows_the_paying_statuses_of_the_status_machine():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'schedule_changes_update'")
        definition = cursor.fetchone()[0]
    listed = definition.split("ARRAY[")[1].split("]")[0]
    assert sorted(value.strip(" '").split("'")[0] for value in listed.split(",")) == sorted(
        lifecycle.sql_values(lifecycle.PAYING))
