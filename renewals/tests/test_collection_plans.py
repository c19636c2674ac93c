import datetime as dt

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from billing.models import DebitBatch
from outreach.models import PlannedContact
from policies.models import Customer, Policy
from renewals.models import Case, PlanStep
from renewals.services.pipeline import nightly_run
from renewals.tests.factories import CollectionPlanFactory, PlanStepFactory

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"  # auto-debit, monthly 300.00, oldest unpaid due 2026-11-30 (T), grace end 2027-01-29 (G)


def _contacts():
    """Planned contacts (suppressed ones apart) with the local date of their planned time."""
    rows = (PlannedContact.objects.filter(policy__policy_no=GZ).exclude(status="suppressed")
            .values_list("stage_code", "kind", "channel", "planned_at"))
    return sorted((code, kind, channel, timezone.localtime(at).date()) for code, kind, channel, at in rows)


def test_the_due_day_debits_and_the_day_after_reminds_and_calls(first_night):
    nightly_run(as_of=dt.date(2026, 11, 30))
    batch = DebitBatch.objects.get(collection_date=dt.date(2026, 11, 30))
    assert [line.policy.policy_no for line in batch.lines.all()] == [GZ]
    nightly_run(as_of=dt.date(2026, 12, 1))
    assert _contacts() == [("T+1", "reminder", "sms", dt.date(2026, 12, 1)),
                           ("T+1", "robot_call", "phone", dt.date(2026, 12, 1))]
    # at 08:00 Asia/Shanghai, the start of the day's window: 00:00 UTC
    assert set(PlannedContact.objects.filter(policy__policy_no=GZ).values_list("planned_at", flat=True)) == {
        dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)}


def test_a_missed_night_is_caught_up_once(first_night):
    nightly_run(as_of=dt.date(2026, 12, 8))  # nothing ran from 26 Nov to 7 Dec: T+1 and T+7 fall in the window
    assert [c[:2] for c in _contacts()] == [("T+1", "reminder"), ("T+1", "robot_call"), ("T+7", "robot_call")]
    nightly_run(as_of=dt.date(2026, 12, 9))
    assert len(_contacts()) == 3


def test_never_a_channel_the_customer_opted_out_of(first_night):
    Customer.objects.filter(id_no="11010519491231002X").update(opt_outs=["sms"], preferred_channel="sms")
    nightly_run(as_of=dt.date(2026, 12, 1))
    # the preference is opted out of: the next working channel (the customer has an e-mail address)
    assert [c[1:3] for c in _contacts()] == [("reminder", "email"), ("robot_call", "phone")]


def test_no_working_channel_left_is_a_suppressed_row(first_night):
    Customer.objects.filter(id_no="11010519491231002X").update(opt_outs=["sms", "email"], preferred_channel="sms")
    nightly_run(as_of=dt.date(2026, 12, 1))
    assert sorted(PlannedContact.objects.filter(policy__policy_no=GZ).values_list("kind", "channel", "status", "reason")) == [
        ("reminder", "sms", "suppressed", "opted_out"), ("robot_call", "phone", "planned", "")]


def test_overdue_case_opens_once_and_urgent_steps_raise_its_priority(first_night):
    nightly_run(as_of=dt.date(2026, 12, 31))  # T+31
    case = Case.objects.get(policy__policy_no=GZ)
    assert (case.type, case.status, case.escalation, case.opened_on) == ("overdue_follow_up", "open", 0,
                                                                       dt.date(2026, 12, 31))
    nightly_run(as_of=dt.date(2027, 1, 14))  # T+45: urgent reminder, escalation 1
    nightly_run(as_of=dt.date(2027, 1, 24))  # G-5: escalation 2
    case.refresh_from_db()
    assert case.escalation == 2 and Case.objects.filter(policy__policy_no=GZ).count() == 1
    assert ("G-5", "reminder", "sms", dt.date(2027, 1, 24)) in _contacts()


def test_a_step_switched_off_in_the_admin_is_not_run_the_next_night(first_night, make_user, client):
    admin = make_user("plan_admin", ["admin"])
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    step = PlanStep.objects.get(plan__is_default=True, code="T+1", action="reminder")
    data = {k: ("" if v is None else v) for k, v in model_to_dict(step).items() if k not in ("id", "active")}
    response = client.post(f"/admin/renewals/planstep/{step.pk}/change/", data)
    assert response.status_code == 302
    nightly_run(as_of=dt.date(2026, 12, 1))
    assert [c[:2] for c in _contacts()] == [("T+1", "robot_call")]


def test_payment_re_anchors_the_plan(first_night):
    import datetime as d
    from decimal import Decimal

    from billing.services.allocations import policy_allocate
    from billing.tests.factories import AssignmentFactory
    from policies.models import Policy

    policy = Policy.objects.get(policy_no=GZ)
    AssignmentFactory(payment__value_date=d.date(2026, 11, 29), policy=policy, amount=Decimal("300.00"))
    policy_allocate(policy_id=policy.pk, as_of=d.date(2026, 11, 29))
    # T is now 2026-12-31: on 2026-12-01 it is T-30, not the paid installment's T+1
    nightly_run(as_of=d.date(2026, 12, 1))
    assert _contacts() == [("T-30", "reminder", "sms", d.date(2026, 12, 1))]
    nightly_run(as_of=d.date(2027, 1, 1))  # catches up T-15 (16 Dec) and T-7 (24 Dec), then T+1
    assert [(c[0], c[3]) for c in _contacts()] == [
        ("T+1", d.date(2027, 1, 1)), ("T+1", d.date(2027, 1, 1)), ("T-15", d.date(2026, 12, 16)),
        ("T-30", d.date(2026, 12, 1)), ("T-7", d.date(2026, 12, 24))]


def test_a_clerk_overrides_a_policys_plan_and_the_next_run_follows_it(first_night, make_user, client):
    quiet = CollectionPlanFactory(name="只在到期日后提醒")
    PlanStepFactory(plan=quiet, code="T+2", anchor="due", offset_days=2, action="reminder", channel="email")
    client.force_login(make_user("plan_clerk", ["clerk"], ["GD-GZ"]))
    assert "只在到期日后提醒" in client.get(f"/policies/{GZ}/").content.decode()
    client.post(f"/renewals/plan/{GZ}/", {"plan": quiet.pk})
    nightly_run(as_of=dt.date(2026, 12, 2))  # the default plan would have planned T+1 reminders and calls
    assert _contacts() == [("T+2", "reminder", "email", dt.date(2026, 12, 2))]


def test_the_day_after_the_lapse_the_default_plan_invites_to_reinstate(first_night):
    # given 张伟's installment of 30 November unpaid through its grace (ends 29 January 2027)
    nightly_run(as_of=dt.date(2027, 1, 30))  # the lapse, dated 30 January, and its notice (G+1)
    assert Policy.objects.get(policy_no=GZ).lapse_date == dt.date(2027, 1, 30)
    assert [c for c in _contacts() if c[0] in ("G+1", "R+1")] == [("G+1", "reminder", "sms", dt.date(2027, 1, 30))]
    # when the next night runs (R+1)
    nightly_run(as_of=dt.date(2027, 1, 31))
    # then the invitation to reinstate is planned on the customer's channel, once
    assert [c for c in _contacts() if c[0] in ("G+1", "R+1")] == [
        ("G+1", "reminder", "sms", dt.date(2027, 1, 30)), ("R+1", "reminder", "sms", dt.date(2027, 1, 31))]
    invitation = PlannedContact.objects.get(policy__policy_no=GZ, stage_code="R+1")
    assert (invitation.status, invitation.step_date) == ("planned", dt.date(2027, 1, 31))
    nightly_run(as_of=dt.date(2027, 2, 1))
    assert PlannedContact.objects.filter(policy__policy_no=GZ, stage_code="R+1").count() == 1


def test_a_step_dated_from_the_lapse_is_only_for_a_lapsed_policy_inside_its_window(first_night):
    from policies.models import Product

    # a policy in force never gets it (T+1 falls on 1 December, so would an R+1 of a wrong lapse date)
    Policy.objects.filter(policy_no=GZ).update(lapse_date=dt.date(2026, 11, 30))
    nightly_run(as_of=dt.date(2026, 12, 1))
    assert not PlannedContact.objects.filter(stage_code="R+1").exists()
    # a product without a reinstatement window: the lapsed policy is not invited
    Policy.objects.filter(policy_no=GZ).update(lapse_date=None)
    Product.objects.filter(policy__policy_no=GZ).update(reinstatement_years=0)
    nightly_run(as_of=dt.date(2027, 1, 30))
    nightly_run(as_of=dt.date(2027, 1, 31))
    assert not PlannedContact.objects.filter(stage_code="R+1").exists()


def test_no_step_is_dated_before_the_lapse():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        PlanStep(code="R-1", anchor="lapse", offset_days=-1, action="reminder").clean()
    assert "offset_days" in raised.value.message_dict


def test_the_night_looks_up_only_policies_whose_anchor_dates_put_a_step_in_its_window():
    # The candidate filter of the collection steps, by hand: a window of three nights (previous run
    # 2026-02-26, tonight 2026-03-01, a common year: 27 and 28 February, 1 March).
    from renewals.services.collection import anchor_dates

    PlanStep.objects.update(active=False)
    plan = CollectionPlanFactory()
    PlanStepFactory(plan=plan, anchor="due", offset_days=-7)       # T-7: T from 6 to 8 March
    PlanStepFactory(plan=plan, anchor="due", offset_days=3)        # T+3: T from 24 to 26 February
    PlanStepFactory(plan=plan, anchor="grace_end", offset_days=1)  # G+1: G from 26 to 28 February
    PlanStepFactory(plan=plan, anchor="lapse", offset_days=30)     # R+30: R from 28 January to 30 January
    PlanStepFactory(plan=plan, anchor="due", offset_days=100, active=False)
    D = dt.date
    assert anchor_dates(as_of=D(2026, 3, 1), previous=D(2026, 2, 26)) == {
        "t_dates": [D(2026, 2, 24), D(2026, 2, 25), D(2026, 2, 26), D(2026, 3, 6), D(2026, 3, 7), D(2026, 3, 8)],
        "g_dates": [D(2026, 2, 26), D(2026, 2, 27), D(2026, 2, 28)],
        "r_dates": [D(2026, 1, 28), D(2026, 1, 29), D(2026, 1, 30)],
        "daily_all": False, "daily_debit": False}
    PlanStepFactory(plan=plan, code="DEBIT", anchor="daily", offset_days=0, debit_failure_reasons="insufficient_funds")
    assert anchor_dates(as_of=D(2026, 3, 1), previous=D(2026, 2, 28))["daily_debit"] is True
    PlanStepFactory(plan=plan, code="EVERY", anchor="daily", offset_days=0)
    assert anchor_dates(as_of=D(2026, 3, 1), previous=D(2026, 2, 28))["daily_all"] is True
