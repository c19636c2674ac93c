import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from billing.models import Installment
from core.errors import ApplicationError
from policies.models import Policy
from policies.selectors import policy_status_on
from renewals.services.pipeline import nightly_run
from renewals.services.servicing import servicing_apply, servicing_approve

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"  # monthly 300.00, oldest unpaid due 2026-11-30, 60 days' grace


@pytest.fixture
def people(first_night, make_user):
    # first_night: the portfolio and the night of 2026-11-25, with the default collection plan put
    # back where an earlier transactional test on this worker flushed the migration's rows
    return {"clerk": make_user("sc", ["clerk"], ["GD-GZ"]), "lead": make_user("sl", ["team_lead"], ["GD"])}


def _gz():
    return Policy.objects.get(policy_no=GZ)


def test_deferral_suspends_then_the_deferred_installments_get_a_fresh_grace(people):
    app = servicing_apply(policy=_gz(), kind="deferral", applied_on=dt.date(2026, 11, 25),
                          effective_date=dt.date(2026, 12, 1), details={"end": "2027-05-31"}, actor=people["clerk"])
    with translation.override("en"), pytest.raises(ApplicationError, match="cannot approve"):
        servicing_approve(application=app, actor=people["clerk"], as_of=dt.date(2026, 11, 25))
    servicing_approve(application=app, actor=people["lead"], as_of=dt.date(2026, 11, 25))
    assert _gz().status == "in_force"  # effective on 2026-12-01, taken by that night's run
    nightly_run(as_of=dt.date(2026, 12, 1))
    assert _gz().status == "deferred"
    # no lapse while deferred, though 2026-11-30's grace ended on 2027-01-29
    nightly_run(as_of=dt.date(2027, 3, 1))
    assert _gz().status == "deferred"
    # the deferral ends on 2027-05-31: everything due by then falls due with a fresh grace to 2027-07-30
    nightly_run(as_of=dt.date(2027, 6, 1))
    policy = _gz()
    assert policy.status == "in_force"
    assert set(Installment.objects.filter(policy=policy, due_date__lte=dt.date(2027, 5, 31))
               .values_list("grace_end", flat=True)) == {dt.date(2027, 7, 30)}
    assert policy_status_on(policy=policy, on=dt.date(2027, 2, 1)) == "deferred"
    nightly_run(as_of=dt.date(2027, 7, 30))
    assert _gz().status == "in_force"
    nightly_run(as_of=dt.date(2027, 7, 31))
    assert (_gz().status, _gz().lapse_date) == ("lapsed", dt.date(2027, 7, 31))


def test_the_lead_who_entered_it_cannot_approve_it(people):
    app = servicing_apply(policy=_gz(), kind="reduced_paid_up", applied_on=dt.date(2026, 11, 25),
                          effective_date=dt.date(2026, 11, 25), details={"sum_assured": "40000.00"},
                          actor=people["lead"])
    with translation.override("en"), pytest.raises(ApplicationError, match="maker-checker"):
        servicing_approve(application=app, actor=people["lead"], as_of=dt.date(2026, 11, 25))


def test_a_deferral_longer_than_two_years_is_refused(people):
    with translation.override("en"), pytest.raises(ApplicationError, match="at most 2 years"):
        servicing_apply(policy=_gz(), kind="deferral", applied_on=dt.date(2026, 11, 25),
                        effective_date=dt.date(2026, 12, 1), details={"end": "2028-12-02"}, actor=people["clerk"])


def test_reduced_paid_up_cancels_open_installments_and_reduces_the_sum_assured(people):
    app = servicing_apply(policy=_gz(), kind="reduced_paid_up", applied_on=dt.date(2026, 11, 25),
                          effective_date=dt.date(2026, 11, 25), details={"sum_assured": "40000.00"},
                          actor=people["clerk"])
    servicing_approve(application=app, actor=people["lead"], as_of=dt.date(2026, 11, 25))
    policy = _gz()
    assert (policy.status, policy.sum_assured) == ("reduced_paid_up", Decimal("40000.00"))
    assert set(Installment.objects.filter(policy=policy).values_list("status", flat=True)) == {"cancelled"}


def test_plan_change_from_a_due_date(people):
    with translation.override("en"), pytest.raises(ApplicationError, match="due date"):
        servicing_apply(policy=_gz(), kind="plan_change", applied_on=dt.date(2026, 11, 25),
                        effective_date=dt.date(2026, 12, 1), details={"payment_method": "online"},
                        actor=people["clerk"])
    app = servicing_apply(policy=_gz(), kind="plan_change", applied_on=dt.date(2026, 11, 25),
                          effective_date=dt.date(2026, 12, 31),
                          details={"bank_account": "6217000011112222", "bank_name": "中国建设银行"},
                          actor=people["clerk"])
    servicing_approve(application=app, actor=people["lead"], as_of=dt.date(2026, 11, 25))
    assert _gz().bank_account == "6222020200001234"  # not before 2026-12-31
    nightly_run(as_of=dt.date(2026, 12, 31))
    assert (_gz().bank_account, _gz().bank_name) == ("6217000011112222", "中国建设银行")


def _schedule(policy, **filters):
    return list(Installment.objects.filter(policy=policy, **filters).order_by("sequence")
                .values_list("sequence", "due_date", "amount_due", "status"))


def test_frequency_change_from_monthly_to_quarterly_re_anchors_the_schedule_at_the_month_end(people):
    gz = _gz()
    assert [row[:2] for row in _schedule(gz)][:3] == [(82, dt.date(2026, 11, 30)), (83, dt.date(2026, 12, 31)),
                                                      (84, dt.date(2027, 1, 31))]
    # 2026-12-31 is 83 months after the issue date 2020-01-31: not a quarterly due date
    with translation.override("en"), pytest.raises(ApplicationError, match="new frequency") as error:
        servicing_apply(policy=gz, kind="plan_change", applied_on=dt.date(2026, 11, 25),
                        effective_date=dt.date(2026, 12, 31),
                        details={"frequency": "quarterly", "modal_premium": "890.00"}, actor=people["clerk"])
    assert "effective_date" in error.value.errors
    with translation.override("en"), pytest.raises(ApplicationError, match="premium for the new frequency"):
        servicing_apply(policy=gz, kind="plan_change", applied_on=dt.date(2026, 11, 25),
                        effective_date=dt.date(2027, 1, 31), details={"frequency": "quarterly"}, actor=people["clerk"])
    app = servicing_apply(policy=gz, kind="plan_change", applied_on=dt.date(2026, 11, 25),
                          effective_date=dt.date(2027, 1, 31),
                          details={"frequency": "quarterly", "modal_premium": "890"}, actor=people["clerk"])
    assert app.details == {"frequency": "quarterly", "modal_premium": "890.00", "anchor_months": 84}
    with translation.override("zh-hans"):
        assert str(app.summary()) == "自 2027-01-31；交费频率: 季交；保费: 890.00"
    servicing_approve(application=app, actor=people["lead"], as_of=dt.date(2026, 11, 25))
    assert _gz().frequency == "monthly"  # not before 2027-01-31
    nightly_run(as_of=dt.date(2027, 1, 31))
    gz = _gz()
    assert (gz.frequency, gz.modal_premium, gz.schedule_anchor_sequence, gz.schedule_anchor_months) == (
        "quarterly", Decimal("890.00"), 98, 84)
    # the monthly installments from 2027-01-31 (sequences 84-97: the night's first step had extended
    # them to its 2028-02-29 horizon) are cancelled; the quarterly ones follow from sequence 98
    assert {row[0] for row in _schedule(gz, status="cancelled")} == set(range(84, 98))
    assert [row[:3] for row in _schedule(gz, sequence__gte=98)] == [
        (98, dt.date(2027, 1, 31), Decimal("890.00")),   # issue + 84 months
        (99, dt.date(2027, 4, 30), Decimal("890.00")),   # + 87: clipped to April's end
        (100, dt.date(2027, 7, 31), Decimal("890.00")),  # + 90
        (101, dt.date(2027, 10, 31), Decimal("890.00")),  # + 93
        (102, dt.date(2028, 1, 31), Decimal("890.00")),  # + 96; + 99 is past the 2028-02-29 horizon
    ]
    assert [row[3] for row in _schedule(gz, sequence__gte=98)][:2] == ["due", "scheduled"]
    # the premium term (20 years from 2020-01-31) ends with the quarterly installment of 2039-10-31
    from billing.services.schedules import schedule_last_sequence
    assert schedule_last_sequence(gz) == 98 + (240 - 84) // 3 - 1 == 149


def test_frequency_change_is_refused_once_money_is_allocated_from_that_date(people):
    gz = _gz()
    Installment.objects.filter(policy=gz, due_date=dt.date(2027, 4, 30)).update(amount_paid=Decimal("300.00"),
                                                                                status="paid")
    with translation.override("en"), pytest.raises(ApplicationError, match="already allocated"):
        servicing_apply(policy=gz, kind="plan_change", applied_on=dt.date(2026, 11, 25),
                        effective_date=dt.date(2027, 1, 31),
                        details={"frequency": "quarterly", "modal_premium": "890.00"}, actor=people["clerk"])


def test_reminders_planned_for_installments_that_are_cancelled_are_not_sent(people):
    from outreach.models import PlannedContact

    nightly_run(as_of=dt.date(2026, 12, 1))  # T+1 of 2026-11-30: a reminder and a robot call
    assert sorted(PlannedContact.objects.filter(policy=_gz()).values_list("kind", "status")) == [
        ("reminder", "planned"), ("robot_call", "planned")]
    app = servicing_apply(policy=_gz(), kind="reduced_paid_up", applied_on=dt.date(2026, 12, 1),
                          effective_date=dt.date(2026, 12, 1), details={"sum_assured": "40000.00"},
                          actor=people["clerk"])
    servicing_approve(application=app, actor=people["lead"], as_of=dt.date(2026, 12, 1))
    assert set(PlannedContact.objects.filter(policy=_gz()).values_list("status", flat=True)) == {"cancelled"}


def test_a_lead_rejects_an_application_with_a_reason_and_the_policy_is_unchanged(portfolio, make_user, client):
    from renewals.models import Application
    from renewals.services.servicing import servicing_apply

    clerk, lead = make_user("rj_clerk", ["clerk"], ["GD-GZ"]), make_user("rj_lead", ["team_lead"], ["GD"])
    policy = Policy.objects.get(policy_no="8860000000000001")
    application = servicing_apply(policy=policy, kind="deferral", applied_on=dt.date(2026, 11, 25),
                                  effective_date=dt.date(2026, 12, 1), details={"end": "2027-05-31"}, actor=clerk)
    client.force_login(lead)
    client.post("/renewals/approvals/", {"application": application.pk, "decision": "reject", "reason": ""})
    assert Application.objects.get(pk=application.pk).status == "submitted"  # a reason is required
    client.post("/renewals/approvals/", {"application": application.pk, "decision": "reject",
                                         "reason": "客户未提供困难证明"})
    application.refresh_from_db()
    assert (application.status, application.decided_by, application.details["rejection_reason"]) == (
        "rejected", lead, "客户未提供困难证明")
    assert Policy.objects.get(pk=policy.pk).status == "in_force"
