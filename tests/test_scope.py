"""Branch scope in the service that acts (issue 10): a user of one branch reaches nothing of
another by id, page or API. Reached through a policy or a branch: 404, like something that does
not exist, with the attempt in the trail; 403 only where the role may not act at all."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Payment
from billing.services.payments import payment_create
from billing.services.suspense import payment_match_manual
from core.errors import ApplicationError, OutOfScope
from policies.models import Policy
from renewals.models import Application, Hold, Moratorium
from renewals.services.holds import hold_request, moratorium_request, suspension_decide
from renewals.services.servicing import servicing_apply

pytestmark = pytest.mark.django_db
GZ, BJ = "8860000000000001", "8860000000000002"


@pytest.fixture
def people(portfolio, make_user):
    return {
        "clerk_bj": make_user("clerk_bj", ["clerk"], ["BJ"]),
        "lead_gd": make_user("lead_gd", ["team_lead"], ["GD"]),
        "lead_hq": make_user("lead_hq", ["team_lead"], ["HQ"]),
        "finance_gd": make_user("finance_gd", ["finance"], ["GD"]),
        "finance_hq": make_user("finance_hq", ["finance"], ["HQ"]),
    }


def _denied_events(policy_no: str) -> int:
    return Policy.objects.get(policy_no=policy_no).events.filter(pgh_label="access_denied").count()


def test_a_lead_of_another_branch_cannot_decide_a_hold_by_its_id(people, client):
    hold = hold_request(policy=Policy.objects.get(policy_no=BJ), start=dt.date(2026, 12, 10),
                        end=dt.date(2026, 12, 19), reason="客户住院", actor=people["clerk_bj"])
    with pytest.raises(OutOfScope):
        suspension_decide(suspension=hold, approve=True, actor=people["lead_gd"])
    client.force_login(people["lead_gd"])
    response = client.post(f"/renewals/suspensions/hold/{hold.pk}/", {"decision": "approve"})
    assert response.status_code == 404
    hold.refresh_from_db()
    assert hold.status == "requested"
    assert _denied_events(BJ) == 1  # the page's attempt, in the trail


def test_a_lead_of_another_branch_cannot_approve_an_application_by_its_id(people, client):
    application = servicing_apply(policy=Policy.objects.get(policy_no=BJ), kind="deferral",
                                  applied_on=dt.date(2026, 11, 25), effective_date=dt.date(2026, 12, 1),
                                  details={"end": "2027-05-31"}, actor=people["clerk_bj"])
    client.force_login(people["lead_gd"])
    response = client.post("/renewals/approvals/", {"application": application.pk})
    assert response.status_code == 404
    assert Application.objects.get(pk=application.pk).status == "submitted"
    assert _denied_events(BJ) == 1


def test_a_moratorium_covers_only_the_actors_branches(people):
    gz_city = moratorium_request(name="广州暴雨", start=dt.date(2027, 1, 1), end=dt.date(2027, 1, 31),
                                 reason="救助", city="广州市", actor=people["lead_gd"])
    assert gz_city.pk is not None
    with pytest.raises(ApplicationError) as wider:
        moratorium_request(name="北京", start=dt.date(2027, 1, 1), end=dt.date(2027, 1, 31), reason="救助",
                           province="北京市", actor=people["lead_gd"])
    assert wider.value.status == 403 and "branch" in wider.value.errors
    with pytest.raises(ApplicationError):  # product-wide: the head office's
        moratorium_request(name="全国", start=dt.date(2027, 1, 1), end=dt.date(2027, 1, 31), reason="救助",
                           product=Policy.objects.get(policy_no=GZ).product, actor=people["lead_gd"])
    nationwide = moratorium_request(name="全国", start=dt.date(2027, 1, 1), end=dt.date(2027, 1, 31), reason="救助",
                                    product=Policy.objects.get(policy_no=GZ).product, actor=people["lead_hq"])
    # a branch lead reaches the head office's moratorium by id as if it did not exist
    with pytest.raises(OutOfScope):
        suspension_decide(suspension=nationwide, approve=True, actor=people["lead_gd"])
    assert Moratorium.objects.get(pk=nationwide.pk).status == "requested"


def test_a_manual_match_to_a_policy_of_another_branch_is_refused(people):
    payment, _ = payment_create(source="bank", account_no="A", identity="scope-1", value_date=dt.date(2026, 11, 28),
                                amount=Decimal("100.00"))
    with pytest.raises(OutOfScope):
        payment_match_manual(payment=payment, policy=Policy.objects.get(policy_no=BJ), amount=Decimal("100.00"),
                             actor=people["finance_gd"], as_of=dt.date(2026, 11, 28))
    assert Payment.objects.get(pk=payment.pk).status == "suspense"


def test_debit_batches_are_the_head_offices(people, client):
    client.force_login(people["finance_gd"])
    assert client.get("/billing/debits/").status_code == 403
    client.logout()
    client.force_login(people["finance_hq"])
    assert client.get("/billing/debits/").status_code == 200


def test_holds_of_the_actors_own_branch_still_work(people):
    hold = hold_request(policy=Policy.objects.get(policy_no=GZ), start=dt.date(2026, 12, 10),
                        end=dt.date(2026, 12, 19), reason="出差", actor=people["lead_hq"])
    suspension_decide(suspension=hold, approve=True, actor=people["lead_gd"])
    assert Hold.objects.get(pk=hold.pk).status == "approved"


def test_repeated_attempts_outside_the_branches_raise_a_security_alert(people, client, settings):
    from core.models import Alert

    settings.SECURITY_SCOPE_ALERT_ATTEMPTS = 3
    client.force_login(people["clerk_bj"])
    for attempt in range(1, 4):
        assert client.get(f"/policies/{GZ}/").status_code == 404
        assert Alert.objects.filter(kind="security.out_of_scope").exists() is (attempt == 3)
    alert = Alert.objects.get(kind="security.out_of_scope", key="clerk_bj")
    assert alert.details == {"user": "clerk_bj", "attempts": 3}
    assert client.get(f"/api/v1/policies/{GZ}/").status_code in (401, 403, 404)  # the API records too
    assert _denied_events(GZ) >= 3


def test_the_re_match_of_the_whole_suspense_list_is_the_head_offices(people, client):
    client.force_login(people["finance_gd"])
    assert client.get("/billing/suspense/rematch/").status_code == 403
    client.force_login(people["finance_hq"])
    assert client.get("/billing/suspense/rematch/").status_code == 200
