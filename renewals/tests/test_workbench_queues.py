"""Queues and claim-next (issue 14): eight clerks pressing "next" at the same moment on their own
database connections get eight different cases; a claim idle for 15 minutes returns to the pool;
a case of another branch is out of reach by page and API; keyset pages; the API's claim-next."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import TokenFactory
from conftest import GZ_POLICY, policies_csv
from policies.models import Policy
from policies.services.imports import policies_import
from renewals.models import Case, CaseHistory
from renewals.selectors_cases import case_queue
from renewals.services.cases import case_claim_next, case_release, cases_bulk_assign, clerk_away_set
from renewals.tests.factories import CaseFactory

AS_OF = dt.date(2026, 12, 31)


def _gz_policies(n: int) -> list[Policy]:
    rows = [GZ_POLICY.replace("8860000000000001", f"88600000000001{k:02d}") for k in range(n)]
    report = policies_import(files=[("policies.csv", policies_csv(*rows))], as_of=dt.date(2026, 11, 25))
    assert [f["rejected"] for f in report["files"]] == [0], report
    return list(Policy.objects.filter(policy_no__startswith="88600000000001").order_by("policy_no"))


@pytest.fixture
def ten_cases(portfolio):
    """Ten overdue cases in Guangzhou, priorities 100, 99, ... 91 (the first most urgent)."""
    return [CaseFactory(policy=p, opened_on=AS_OF, priority=100 - k) for k, p in enumerate(_gz_policies(10))]


@pytest.mark.django_db(transaction=True)
def test_eight_clerks_claiming_at_the_same_moment_get_eight_different_cases(ten_cases, make_user):
    clerks = [make_user(f"clerk{k}", ["clerk"], ["GD-GZ"]) for k in range(8)]
    barrier = threading.Barrier(len(clerks))
    claimed, errors = [], []

    def work(clerk):
        try:
            barrier.wait(timeout=30)
            case = case_claim_next(actor=clerk, as_of=AS_OF)
            claimed.append((clerk.username, case.pk if case else None))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(exc))
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=work, args=(c,)) for c in clerks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    ids = [pk for _name, pk in claimed]
    assert None not in ids and len(set(ids)) == 8
    # the eight most urgent were taken, each held by the one who claimed it
    assert set(ids) == {c.pk for c in ten_cases[:8]}
    for name, pk in claimed:
        assert Case.objects.get(pk=pk).claimed_by.username == name


@pytest.mark.django_db
def test_an_idle_claim_returns_to_the_pool(ten_cases, make_user):
    first, second = make_user("clerk_a", ["clerk"], ["GD-GZ"]), make_user("clerk_b", ["clerk"], ["GD-GZ"])
    Case.objects.exclude(pk=ten_cases[0].pk).update(status="resolved")
    t0 = timezone.now()
    assert case_claim_next(actor=first, as_of=AS_OF, now=t0).pk == ten_cases[0].pk
    # 14 minutes later it is still held; after 15 idle minutes the next clerk gets it
    assert case_claim_next(actor=second, as_of=AS_OF, now=t0 + dt.timedelta(minutes=14)) is None
    taken = case_claim_next(actor=second, as_of=AS_OF, now=t0 + dt.timedelta(minutes=16))
    assert (taken.pk, taken.claimed_by) == (ten_cases[0].pk, second)
    assert CaseHistory.objects.filter(case=taken, kind="claimed", reason="claim expired").exists()
    # released, it goes back to open for anyone
    case_release(case=taken, actor=second)
    taken.refresh_from_db()
    assert (taken.status, taken.claimed_by) == ("open", None)


@pytest.mark.django_db
def test_a_case_of_another_branch_is_unreachable_by_page_and_api(ten_cases, make_user):
    outsider = make_user("clerk_bj", ["clerk"], ["BJ"])
    assert case_claim_next(actor=outsider, as_of=AS_OF) is None
    assert case_queue(user=outsider, queue="unassigned", as_of=AS_OF).rows == []
    page = Client()
    page.force_login(outsider)
    assert page.get(f"/renewals/cases/{ten_cases[0].pk}/").status_code == 404
    api = Client(headers={"Authorization": f"Token {TokenFactory(user=outsider).key}"})
    assert api.get(f"/api/v1/cases/{ten_cases[0].pk}/").status_code == 404
    assert api.post("/api/v1/cases/claim-next/").status_code == 204


@pytest.mark.django_db
def test_the_api_claims_next_with_the_policy_number_then_answers_204(ten_cases, make_user):
    clerk = make_user("dialer_clerk", ["clerk"], ["GD-GZ"])
    Case.objects.exclude(pk__in=[ten_cases[0].pk, ten_cases[1].pk]).update(status="resolved")
    api = Client(headers={"Authorization": f"Token {TokenFactory(user=clerk).key}"})
    first = api.post("/api/v1/cases/claim-next/")
    assert first.status_code == 200
    assert (first.json()["policy_no"], first.json()["held_by"]) == (ten_cases[0].policy.policy_no, "dialer_clerk")
    outcome = api.post(f"/api/v1/cases/{ten_cases[0].pk}/outcome/",
                       {"channel": "phone", "reached": False, "outcome": "no_answer"}, content_type="application/json")
    assert outcome.status_code == 201 and outcome.json()["status"] == "waiting_customer"
    assert api.post("/api/v1/cases/claim-next/").json()["policy_no"] == ten_cases[1].policy.policy_no
    assert api.post("/api/v1/cases/claim-next/").status_code == 204
    listed = api.get("/api/v1/cases/?queue=mine").json()
    assert [c["policy_no"] for c in listed["results"]] == [ten_cases[0].policy.policy_no,
                                                           ten_cases[1].policy.policy_no]


@pytest.mark.django_db
def test_queues_page_by_keyset_most_urgent_first(ten_cases, make_user):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    first = case_queue(user=clerk, queue="unassigned", as_of=AS_OF, limit=4)
    assert [c.priority for c in first.rows] == [100, 99, 98, 97] and first.next_cursor == f"97_{ten_cases[3].pk}"
    second = case_queue(user=clerk, queue="unassigned", as_of=AS_OF, cursor=first.next_cursor, limit=4)
    assert [c.priority for c in second.rows] == [96, 95, 94, 93]
    last = case_queue(user=clerk, queue="unassigned", as_of=AS_OF, cursor=second.next_cursor, limit=4)
    assert [c.priority for c in last.rows] == [92, 91] and last.next_cursor is None


@pytest.mark.django_db
def test_a_lead_bulk_assigns_and_marks_a_clerk_away(ten_cases, make_user):
    lead = make_user("lead_gd", ["team_lead"], ["GD"])
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    assigned = cases_bulk_assign(cases=Case.objects.all(), assignee=clerk, actor=lead, limit=6)
    assert assigned == 6 and Case.objects.filter(assignee=clerk).count() == 6
    assert [c.priority for c in case_queue(user=clerk, queue="mine", as_of=AS_OF).rows] == [100, 99, 98, 97, 96, 95]
    assert clerk_away_set(clerk=clerk, away=True, actor=lead) == 6
    assert Case.objects.filter(assignee=clerk).count() == 0
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError):
        case_claim_next(actor=clerk, as_of=AS_OF)


@pytest.mark.django_db
def test_the_pages_render_and_a_contact_replaces_the_work_panel(ten_cases, make_user, client):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    client.force_login(clerk)
    queue = client.get("/renewals/cases/?queue=unassigned")
    assert queue.status_code == 200 and len(queue.context["page"].rows) == 10
    response = client.post("/renewals/cases/next/")
    assert response.status_code == 302 and response.url == f"/renewals/cases/{ten_cases[0].pk}/"
    page = client.get(response.url)
    assert page.status_code == 200 and 'id="contact-form"' in page.content.decode()
    partial = client.post(f"/renewals/cases/{ten_cases[0].pk}/contact/",
                          {"channel": "phone", "reached": "0", "outcome": "no_answer"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and partial.templates[0].name == "renewals/_case_work.html"
    assert 'data-status="waiting_customer"' in partial.content.decode()
    # the home shows the workbench's queues
    home = client.get("/")
    assert 'id="workbench-home"' in home.content.decode()


@pytest.mark.django_db
def test_a_lead_edits_a_call_script_and_the_case_page_shows_it(ten_cases, make_user, client):
    from renewals.models import CallScript

    lead = make_user("lead_gd", ["team_lead"], ["GD"])
    client.force_login(lead)
    assert client.get("/renewals/cases/scripts/").status_code == 200
    client.post("/renewals/cases/scripts/", {"audience": "older", "language": "zh-hans", "text": "先核对身份。请到柜面缴费。"})
    assert CallScript.objects.get(audience="older", language="zh-hans").text == "先核对身份。请到柜面缴费。"
    # the GZ holder was born in 1949: the older customers' script
    assert "请到柜面缴费" in client.get(f"/renewals/cases/{ten_cases[0].pk}/").content.decode()
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    client.force_login(clerk)
    assert client.get("/renewals/cases/scripts/").status_code == 403
