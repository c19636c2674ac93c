"""The policy status machine, written once (policies/lifecycle.py), and the per-policy service
that checks against it."""

import datetime as dt

import pytest
from django.utils import translation

from core.errors import ApplicationError
from policies import lifecycle
from policies.models import Policy, PolicyStatusChange
from policies.services.status import policy_status_change


@pytest.mark.parametrize(("rule", "current", "target", "allowed"), [
    ("lapse_after_grace", "in_force", "lapsed", True),
    ("lapse_after_grace", "deferred", "lapsed", False),  # no lapse while a deferral runs
    ("lapse_after_grace", "terminated", "lapsed", False),
    ("lapse_reversal", "lapsed", "in_force", True),
    ("reinstatement", "lapsed", "in_force", True),
    ("reinstatement", "terminated", "in_force", False),  # the window has closed
    ("terminate_after_reinstatement_window", "in_force", "terminated", False),
    ("deferral_end", "deferred", "in_force", True),
    ("deferral_application", "lapsed", "deferred", False),
    ("reduced_paid_up_application", "in_force", "reduced_paid_up", True),
    ("reduced_paid_up_application", "in_force", "paid_up", False),
])
def test_transitions(rule, current, target, allowed):
    assert lifecycle.transition_allowed(rule=rule, current=current, target=target) is allowed


@pytest.mark.parametrize(("current", "incoming", "applied"), [
    ("in_force", "surrendered", True), ("lapsed", "terminated", True), ("in_force", "matured", True),
    ("in_force", "paid_up", True), ("lapsed", "in_force", False), ("in_force", "lapsed", False),
    ("deferred", "in_force", False), ("surrendered", "surrendered", False),
])
def test_what_a_later_feed_may_still_set(current, incoming, applied):
    assert lifecycle.feed_may_set(current=current, incoming=incoming) is applied


@pytest.mark.django_db
def test_the_service_refuses_a_transition_the_machine_does_not_allow(portfolio):
    policy = Policy.objects.get(policy_no="8860000000000001")  # in force
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        policy_status_change(policy=policy, status="in_force", effective_date=dt.date(2026, 12, 1),
                             source="user", rule="deferral_end")
    assert refused.value.errors == {"status": ["not allowed from the policy's current status"]}
    assert not PolicyStatusChange.objects.filter(policy=policy, rule="deferral_end").exists()
