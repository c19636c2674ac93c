import datetime as dt

import pytest

from core.dates import business_today
from policies.models import Policy
from renewals.models import Application
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db
GZ = "8860000000000002"  # the BJ policy: lapsed on 2026-03-31 by the first run


@pytest.fixture
def lapsed(portfolio):
    nightly_run(as_of=dt.date(2026, 11, 25))
    return Policy.objects.get(policy_no=GZ)


def test_clerk_enters_underwriter_decides_lead_approves_through_the_pages(lapsed, make_user, client):
    if not lapsed.lapse_date <= business_today() <= dt.date(2028, 3, 30):
        pytest.skip("the pages quote for today, which must fall in the reinstatement window (to 2028-03-30)")
    clerk, uw, lead = (make_user("c1", ["clerk"], ["BJ"]), make_user("u1", ["underwriter"]),
                       make_user("l1", ["team_lead"], ["BJ"]))
    client.force_login(clerk)
    assert "reinstatement-form" in client.get(f"/policies/{GZ}/").content.decode()
    answers = {"applied_on": business_today().isoformat(), "hospitalised": "yes", "diagnosed": "no",
               "under_treatment": "no", "medication": "no", "disability": "no"}
    assert client.post(f"/renewals/reinstatement/{GZ}/", answers).status_code == 302
    application = Application.objects.get()
    assert application.status == "referred"
    client.force_login(uw)
    assert GZ in client.get("/renewals/underwriting/").content.decode()
    client.post("/renewals/underwriting/", {"application": application.pk, "decision": "accept", "note": "ok"})
    client.force_login(lead)
    assert GZ in client.get("/renewals/approvals/").content.decode()
    client.post("/renewals/approvals/", {"application": application.pk})
    application.refresh_from_db()
    assert (application.status, application.decided_by, application.approved_by) == ("approved", uw, lead)


def test_queues_refuse_other_roles(portfolio, make_user, client):
    client.force_login(make_user("c2", ["clerk"], ["GD-GZ"]))
    assert client.get("/renewals/underwriting/").status_code == 403
    assert client.get("/renewals/approvals/").status_code == 403


def test_hold_asked_on_the_policy_page_and_approved_by_a_lead(portfolio, make_user, client):
    from renewals.models import Hold

    client.force_login(make_user("c3", ["clerk"], ["GD-GZ"]))
    response = client.post("/renewals/holds/8860000000000001/", {"start": "2026-12-10", "end": "2026-12-19",
                                                                  "reason": "客户住院"})
    assert response.status_code == 302
    hold = Hold.objects.get()
    assert hold.status == "requested"
    client.force_login(make_user("l3", ["team_lead"], ["GD"]))
    assert "客户住院" in client.get("/renewals/approvals/").content.decode()
    client.post(f"/renewals/suspensions/hold/{hold.pk}/", {"decision": "approve"})
    hold.refresh_from_db()
    assert hold.status == "approved"


def test_deferral_entered_on_the_policy_page_and_approved(portfolio, make_user, client):
    client.force_login(make_user("c4", ["clerk"], ["GD-GZ"]))
    assert "servicing-form" in client.get("/policies/8860000000000001/").content.decode()
    client.post("/renewals/servicing/8860000000000001/", {"kind": "deferral", "effective_date": "2026-12-01",
                                                         "end": "2027-05-31"})
    application = Application.objects.get(kind="deferral")
    assert (application.status, application.details) == ("submitted", {"end": "2027-05-31"})
    client.force_login(make_user("l4", ["team_lead"], ["GD"]))
    client.post("/renewals/approvals/", {"application": application.pk})
    application.refresh_from_db()
    assert application.status in ("approved", "completed")
