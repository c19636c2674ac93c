import datetime as dt

import pytest

from billing.models import Installment
from core.errors import ApplicationError
from outreach.models import PlannedContact
from policies.models import Branch, Policy
from renewals.services.holds import hold_request, moratorium_request, suspension_decide
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"  # monthly 300.00: k82 due 2026-11-30 (grace 12-01..2027-01-29), k83 due 2026-12-31


@pytest.fixture
def people(portfolio, make_user):
    nightly_run(as_of=dt.date(2026, 11, 25))
    return {"clerk": make_user("hc", ["clerk"], ["GD-GZ"]), "lead": make_user("hl", ["team_lead"], ["GD"])}


def _grace(sequence):
    return Installment.objects.get(policy__policy_no=GZ, sequence=sequence).grace_end


def test_a_hold_extends_grace_by_its_overlap_and_skips_its_steps(people):
    policy = Policy.objects.get(policy_no=GZ)
    hold = hold_request(policy=policy, start=dt.date(2026, 12, 10), end=dt.date(2026, 12, 19),
                        reason="客户住院", actor=people["clerk"])
    with pytest.raises(ApplicationError):
        suspension_decide(suspension=hold, approve=True, actor=people["clerk"])  # not their own
    suspension_decide(suspension=hold, approve=True, actor=people["lead"])
    nightly_run(as_of=dt.date(2026, 12, 20))
    # 10 days of hold inside k82's grace: 2027-01-29 + 10 = 2027-02-08; k83's grace (from 2027-01-01) is untouched
    assert (_grace(82), _grace(83)) == (dt.date(2027, 2, 8), dt.date(2027, 3, 1))
    # T+15 (2026-12-15) fell inside the hold: not replayed; T+1 and T+7 were planned on the catch-up
    codes = sorted(PlannedContact.objects.filter(policy=policy).values_list("stage_code", flat=True))
    assert "T+15" not in codes and "T+7" in codes
    nightly_run(as_of=dt.date(2027, 2, 8))
    assert Policy.objects.get(policy_no=GZ).status == "in_force"  # the last day of the extended grace
    nightly_run(as_of=dt.date(2027, 2, 9))
    policy.refresh_from_db()
    assert (policy.status, policy.lapse_date) == ("lapsed", dt.date(2027, 2, 9))


def test_a_moratorium_for_a_city_extends_every_installment_it_overlaps(people):
    moratorium = moratorium_request(name="广州暴雨救助", start=dt.date(2027, 1, 20), end=dt.date(2027, 2, 15),
                                    reason="监管救助令", city="广州市", actor=people["lead"])
    suspension_decide(suspension=moratorium, approve=True, actor=_second_lead())
    nightly_run(as_of=dt.date(2027, 1, 21))
    # k82 grace 12-01..01-29 overlaps 01-20..01-29: 10 days -> 2027-02-08
    # k83 grace 01-01..03-01 overlaps 01-20..02-15: 27 days -> 2027-03-28
    assert (_grace(82), _grace(83)) == (dt.date(2027, 2, 8), dt.date(2027, 3, 28))
    # the BJ policy is outside the city: untouched
    bj = Installment.objects.filter(policy__policy_no="8860000000000002").order_by("sequence").first()
    assert bj.grace_end == dt.date(2026, 3, 30)
    assert Branch.objects.get(code="GD-GZ").city == "广州市"


def _second_lead():
    from accounts.tests.factories import UserFactory

    return UserFactory(username="lead2", roles=["team_lead"], branches=["GD"])  # the moratorium's city is in the lead's branches
