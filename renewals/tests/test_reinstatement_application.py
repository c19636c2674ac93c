import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from billing.models import Charge, Installment
from billing.services.allocations import policy_allocate
from billing.tests.factories import AssignmentFactory
from core.errors import ApplicationError
from policies.models import Policy, PolicyStatusChange
from policies.selectors import policy_status_on
from renewals.services.applications import (
    application_approve,
    application_underwriting_decide,
    reinstatement_apply,
)
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"
NO = dict.fromkeys(("hospitalised", "diagnosed", "under_treatment", "medication", "disability"), False)


@pytest.fixture
def people(portfolio, make_user):
    nightly_run(as_of=dt.date(2026, 11, 25))
    nightly_run(as_of=dt.date(2027, 1, 30))  # GZ lapses on 2027-01-30
    return {"clerk": make_user("clerk_r", ["clerk"], ["GD-GZ"]), "lead": make_user("lead_r", ["team_lead"], ["GD"]),
            "uw": make_user("uw_r", ["underwriter"])}


def _pay(amount, value_date, identity):
    policy = Policy.objects.get(policy_no=GZ)
    AssignmentFactory(payment__identity=identity, payment__value_date=value_date, policy=policy,
                      amount=Decimal(amount))
    policy_allocate(policy_id=policy.pk, as_of=value_date)


def test_referred_application_underwritten_approved_and_paid_reinstates(people):
    policy = Policy.objects.get(policy_no=GZ)
    app = reinstatement_apply(policy=policy, applied_on=dt.date(2027, 2, 27), declaration={**NO, "diagnosed": True},
                              actor=people["clerk"])
    assert app.status == "referred" and app.details["quote"]["total"] == "906.44"
    with pytest.raises(ApplicationError):
        application_approve(application=app, actor=people["lead"], as_of=dt.date(2027, 2, 27))  # not yet underwritten
    application_underwriting_decide(application=app, accept=True, note="stable, accepted", actor=people["uw"])
    with translation.override("en"), pytest.raises(ApplicationError, match="maker-checker"):
        lead_and_clerk = people["clerk"]
        lead_and_clerk.groups.add(*people["lead"].groups.all())
        lead_and_clerk = type(lead_and_clerk).objects.get(pk=lead_and_clerk.pk)  # fresh permission cache
        application_approve(application=app, actor=lead_and_clerk, as_of=dt.date(2027, 2, 27))
    app = application_approve(application=app, actor=people["lead"], as_of=dt.date(2027, 2, 27))
    assert app.status == "approved"
    charge = Charge.objects.get(policy=policy)
    assert (charge.amount, charge.due_date) == (Decimal("6.44"), dt.date(2027, 2, 27))
    # the money: installments first (3 x 300.00), then the interest (6.44)
    _pay("906.44", dt.date(2027, 2, 27), "reinstate-1")
    charge.refresh_from_db()
    assert charge.amount_paid == Decimal("6.44")
    assert list(Installment.objects.filter(policy=policy, due_date__lte=dt.date(2027, 2, 27))
                .values_list("status", flat=True)) == ["paid", "paid", "paid"]
    nightly_run(as_of=dt.date(2027, 2, 28))
    policy.refresh_from_db()
    app.refresh_from_db()
    assert (policy.status, policy.lapse_date, app.status) == ("in_force", None, "completed")
    reinstated = PolicyStatusChange.objects.filter(policy=policy).order_by("-effective_date", "-id").first()
    # in force from 2027-02-27: approved that day and the money valued that day
    assert (reinstated.status, reinstated.effective_date, reinstated.rule) == ("in_force", dt.date(2027, 2, 27),
                                                                              "reinstatement")
    assert policy_status_on(policy=policy, on=dt.date(2027, 2, 26)) == "lapsed"
    assert policy_status_on(policy=policy, on=dt.date(2027, 2, 27)) == "in_force"
    # the installments it settled late do not lapse it again the next night
    nightly_run(as_of=dt.date(2027, 3, 1))
    policy.refresh_from_db()
    assert policy.status == "in_force"


def test_declined_by_underwriting_cannot_be_approved(people):
    policy = Policy.objects.get(policy_no=GZ)
    app = reinstatement_apply(policy=policy, applied_on=dt.date(2027, 2, 27), declaration={**NO, "medication": True},
                              actor=people["clerk"])
    application_underwriting_decide(application=app, accept=False, note="declined", actor=people["uw"])
    with pytest.raises(ApplicationError):
        application_approve(application=app, actor=people["lead"], as_of=dt.date(2027, 2, 27))


def test_an_expired_quote_is_recomputed_with_more_interest(people):
    policy = Policy.objects.get(policy_no=GZ)
    app = reinstatement_apply(policy=policy, applied_on=dt.date(2027, 2, 1), declaration=NO, actor=people["clerk"])
    assert app.status == "submitted"
    application_approve(application=app, actor=people["lead"], as_of=dt.date(2027, 2, 1))
    # quote on 2027-02-01: 63, 32 and 1 days on 300.00 at 4.5%: 2.33 + 1.18 + 0.04 = 3.55
    assert Charge.objects.get(policy=policy).amount == Decimal("3.55")
    # valid 30 days (to 2027-03-03); on 2027-03-04 the quote is recomputed as of that day:
    # due 2026-11-30 (94 days) 3.48, 2026-12-31 (63) 2.33, 2027-01-31 (32) 1.18, 2027-02-28 (4) 0.15
    nightly_run(as_of=dt.date(2027, 3, 4))
    app.refresh_from_db()
    assert app.details["quote"]["on"] == "2027-03-04" and app.details["quote"]["total"] == "1207.14"
    assert Charge.objects.get(policy=policy).amount == Decimal("7.14")


def test_no_application_outside_the_window(people):
    policy = Policy.objects.get(policy_no=GZ)
    with translation.override("en"), pytest.raises(ApplicationError, match="window has closed"):
        reinstatement_apply(policy=policy, applied_on=dt.date(2029, 1, 30), declaration=NO, actor=people["clerk"])
