"""The plan-step condition on the lapse-risk score (issue 18, `min_lapse_risk`): a step with a
threshold runs only for policies whose score (scoring_policyscore) is at least it; the default
plan's T-20 step opens a call case for customers scored 0.30 or more."""

import datetime as dt
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.utils import translation
from django.utils.html import escape

from conftest import AS_OF, GZ_POLICY, policies_csv
from policies.models import Policy
from policies.services.imports import policies_import
from renewals.models import Case, CollectionPlan, PlanStep
from renewals.services.pipeline import nightly_run
from renewals.tests.factories import PlanStepFactory
from scoring.tests.factories import PolicyScoreFactory

pytestmark = pytest.mark.django_db

# GZ's customer's other policies: issued 31 January 2020, monthly, so every due date is a month's
# last day; the first unpaid installment (paid_to_date) is due on the date given
HIGH, LOW, NONE = "8860000000000011", "8860000000000012", "8860000000000013"
FEBRUARY = "8860000000000014"


def _policy(policy_no: str, paid_to: str) -> str:
    row = GZ_POLICY.replace("8860000000000001", policy_no, 1)
    return row.replace(",2026-11-30,in_force,", f",{paid_to},in_force,")


@pytest.fixture
def scored(first_night):
    """Three policies due 2026-12-31 (T-20 = 2026-12-11) scored 0.31, 0.29 and not at all."""
    report = policies_import(files=[("policies.csv", policies_csv(*(_policy(no, "2026-12-31")
                                                                        for no in (HIGH, LOW, NONE))))], as_of=AS_OF)
    assert report["files"][0]["rejected"] == 0, report
    nightly_run(as_of=dt.date(2026, 11, 26))  # their schedules
    for policy_no, score in ((HIGH, "0.31000"), (LOW, "0.29000")):
        PolicyScoreFactory(policy=Policy.objects.get(policy_no=policy_no), score=Decimal(score),
                           scored_on=dt.date(2026, 11, 26))


def _risk_calls() -> list[tuple[str, dt.date]]:
    return sorted(Case.objects.filter(type=Case.Type.LAPSE_RISK_CALL).values_list("policy__policy_no", "opened_on"))


def test_the_default_plan_calls_high_risk_customers_at_t_minus_20(first_night):
    step = PlanStep.objects.get(plan__is_default=True, code="T-20")
    assert (step.anchor, step.offset_days, step.action, step.case_type, step.min_lapse_risk) == (
        "due", -20, "open_case", "lapse_risk_call", Decimal("0.30000"))


def test_a_score_of_0_31_gets_the_step_0_29_and_no_score_do_not(scored):
    nightly_run(as_of=dt.date(2026, 12, 10))  # T-21
    assert _risk_calls() == []
    nightly_run(as_of=dt.date(2026, 12, 11))  # T-20 = 2026-12-31 - 20 days
    assert _risk_calls() == [(HIGH, dt.date(2026, 12, 11))]
    case = Case.objects.get(type=Case.Type.LAPSE_RISK_CALL)
    assert case.status == "open" and case.opened_by_step.code == "T-20"
    nightly_run(as_of=dt.date(2026, 12, 12))  # once: the step is past, and the case stays open for the clerk
    assert _risk_calls() == [(HIGH, dt.date(2026, 12, 11))]
    assert Case.objects.get(type=Case.Type.LAPSE_RISK_CALL).status == "open"


def test_a_step_without_a_threshold_runs_for_every_policy_scored_or_not(scored):
    PlanStepFactory(plan=CollectionPlan.objects.get(is_default=True), code="T-19", anchor="due", offset_days=-19,
                    action="open_case", case_type="contact_repair")
    nightly_run(as_of=dt.date(2026, 12, 12))  # T-19 of the three policies due 2026-12-31
    assert sorted(Case.objects.filter(type="contact_repair").values_list("policy__policy_no", flat=True)) == [
        HIGH, LOW, NONE]


def test_a_month_end_due_date_is_the_anchor_of_the_threshold_step(first_night):
    """Due 28 February 2027 (31 January's day clipped to the month's end): T-20 is 8 February."""
    policies_import(files=[("policies.csv", policies_csv(_policy(FEBRUARY, "2027-02-28")))], as_of=AS_OF)
    nightly_run(as_of=dt.date(2027, 2, 6))
    policy = Policy.objects.get(policy_no=FEBRUARY)
    assert policy.installments.order_by("sequence").first().due_date == dt.date(2027, 2, 28)
    PolicyScoreFactory(policy=policy, score=Decimal("0.30000"),
                       scored_on=dt.date(2027, 2, 6))  # exactly the threshold: at least 0.30
    nightly_run(as_of=dt.date(2027, 2, 7))
    assert [c for c in _risk_calls() if c[0] == FEBRUARY] == []
    nightly_run(as_of=dt.date(2027, 2, 8))
    assert [c for c in _risk_calls() if c[0] == FEBRUARY] == [(FEBRUARY, dt.date(2027, 2, 8))]


def test_the_threshold_is_edited_in_the_plan_editor_between_0_and_1(first_night, make_user, client):
    admin = make_user("risk_plan_admin", ["admin"])
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    step = PlanStep.objects.get(plan__is_default=True, code="T-20")
    page = client.get(f"/admin/renewals/planstep/{step.pk}/change/").content.decode()
    with translation.override("zh-hans"):  # the page's language (the default): the help text beside the field
        help_text = escape(str(PlanStep._meta.get_field("min_lapse_risk").help_text))
    assert 'name="min_lapse_risk"' in page and help_text in page
    data = {k: ("" if v is None else v) for k, v in model_to_dict(step).items() if k != "id"}
    response = client.post(f"/admin/renewals/planstep/{step.pk}/change/", {**data, "min_lapse_risk": "1.5"})
    assert response.status_code == 200 and "min_lapse_risk" in response.context["adminform"].form.errors
    response = client.post(f"/admin/renewals/planstep/{step.pk}/change/", {**data, "min_lapse_risk": "0.25"})
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.min_lapse_risk == Decimal("0.25000")
    response = client.post(f"/admin/renewals/planstep/{step.pk}/change/", {**data, "min_lapse_risk": ""})
    step.refresh_from_db()
    assert response.status_code == 302 and step.min_lapse_risk is None
