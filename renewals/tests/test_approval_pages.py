"""The approvals page and the underwriting queue (issue 12): paged, oldest first, within the
reader's branches (holds, moratoria and referred reinstatements of another branch stay out)."""

import datetime as dt

import pytest

from policies.tests.factories import PolicyFactory
from renewals.models import Application, Moratorium
from renewals.tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(reference_data, make_user):
    return make_user("clerk_gz", ["clerk"], ["GD-GZ"])


def _rows(response) -> list[str]:
    return [a.policy.policy_no for a in response.context["page"]]


def test_approvals_are_paged_oldest_first_within_the_leads_branches(clerk, make_user, client):
    gz = [PolicyFactory(branch__code="GD-GZ") for _ in range(30)]
    for policy in gz:
        ApplicationFactory(policy=policy, created_by=clerk)
    bj = ApplicationFactory(policy=PolicyFactory(branch__code="BJ"), created_by=clerk)
    client.force_login(make_user("lead_gd", ["team_lead"], ["GD"]))
    first = client.get("/renewals/approvals/")
    assert first.status_code == 200
    assert _rows(first) == [p.policy_no for p in gz[:25]]
    assert "第 1 页，共 2 页" in first.content.decode()
    second = client.get("/renewals/approvals/?page=2")
    assert _rows(second) == [p.policy_no for p in gz[25:]]
    assert bj.policy.policy_no not in first.content.decode() + second.content.decode()


def test_moratoria_of_another_branch_do_not_reach_the_lead(clerk, make_user, client):
    from policies.models import Branch

    asker = make_user("lead_hq", ["team_lead"])
    Moratorium.objects.create(name="北京暴雨", start=dt.date(2026, 11, 20), end=dt.date(2027, 2, 20),
                              branch=Branch.objects.get(code="BJ"), reason="灾害", requested_by=asker)
    Moratorium.objects.create(name="广东台风", start=dt.date(2026, 11, 20), end=dt.date(2027, 2, 20),
                              province="广东省", reason="灾害", requested_by=asker)
    # no branch named, but it matches Beijing's: the head office's to decide
    Moratorium.objects.create(name="北京寒潮", start=dt.date(2026, 11, 20), end=dt.date(2027, 2, 20),
                              province="北京市", reason="灾害", requested_by=asker)
    client.force_login(make_user("lead_gd", ["team_lead"], ["GD"]))
    response = client.get("/renewals/approvals/")
    assert [m.name for m in response.context["moratoria"]] == ["广东台风"]
    assert "北京暴雨" not in response.content.decode()


def test_the_underwriting_queue_holds_the_underwriters_branches(clerk, make_user, client):
    gz = ApplicationFactory(policy=PolicyFactory(branch__code="GD-GZ", lapsed=True), created_by=clerk,
                            kind=Application.Kind.REINSTATEMENT, status=Application.Status.REFERRED,
                            details={"declaration": {"hospitalised": True}})
    bj = ApplicationFactory(policy=PolicyFactory(branch__code="BJ", lapsed=True), created_by=clerk,
                            kind=Application.Kind.REINSTATEMENT, status=Application.Status.REFERRED,
                            details={"declaration": {"hospitalised": False}})
    client.force_login(make_user("uw_gd", ["underwriter"], ["GD"]))
    assert _rows(client.get("/renewals/underwriting/")) == [gz.policy.policy_no]
    client.force_login(make_user("uw_hq", ["underwriter"]))
    assert _rows(client.get("/renewals/underwriting/")) == [gz.policy.policy_no, bj.policy.policy_no]
