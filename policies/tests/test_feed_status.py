"""Who owns the status after the first import (policy-feed.md): a later feed may only move a
policy to an outcome the core system owns; any other differing status is kept for the
core-system consistency report (page, CSV, API). And the feed's optional sales_channel column.

The portfolio fixture imports, on 2026-11-25, the Guangzhou policy (in force, monthly, paid to
2026-11-30) and the Beijing one (in force, annual, issued 2024-02-29, paid to 2026-02-28, product
H30 with 30 days of grace). The Beijing policy's 2026-02-28 installment was unpaid through its
grace (to 2026-03-30), so our nightly run lapses it effective 2026-03-31.
"""

import datetime as dt

import pytest
from django.test import Client

from accounts.tests.factories import TokenFactory, UserFactory
from conftest import BJ_POLICY, GZ_POLICY, POLICY_HEADER, policies_csv
from core.dates import business_today
from policies.models import Policy, PolicyImport, PolicyStatusChange
from policies.services.demo import demo_policy_rows
from policies.services.imports import policies_import
from policies.services.status import policy_status_change

pytestmark = pytest.mark.django_db

GZ_NO, BJ_NO = "8860000000000001", "8860000000000002"
FIRST_RESEND, SECOND_RESEND = dt.date(2026, 11, 26), dt.date(2026, 11, 27)
BJ_LAPSE = dt.date(2026, 3, 31)  # 2026-02-28 + 30 days of grace, the day after


def _import(data: bytes, as_of: dt.date) -> dict:
    return policies_import(files=[("policies.csv", data)], as_of=as_of)["files"][0]


def _history(policy_no: str) -> list[tuple]:
    return list(PolicyStatusChange.objects.filter(policy__policy_no=policy_no).order_by("effective_date", "id")
                .values_list("status", "effective_date", "source", "rule", "voided_at"))


def _lapse_bj() -> None:
    """What the nightly run does to the Beijing policy (renewals' lapse step, by the service)."""
    policy_status_change(policy=Policy.objects.get(policy_no=BJ_NO), status="lapsed", effective_date=BJ_LAPSE,
                         source="nightly", rule="lapse_after_grace")


def _english_client(username: str, roles: list[str]) -> Client:
    client = Client()
    client.force_login(UserFactory(username=username, roles=roles, branches=["HQ"], language="en"))
    return client


def _token_client(username: str, roles: list[str], branches=("HQ",)) -> Client:
    token = TokenFactory(user=UserFactory(username=username, roles=roles, branches=branches))
    return Client(headers={"Authorization": f"Token {token.key}"})


# --- status ownership -------------------------------------------------------------------------


def test_a_resent_feed_saying_in_force_does_not_unlapse_a_policy_we_lapsed(portfolio):
    _lapse_bj()
    history_before = _history(BJ_NO)
    assert history_before == [("in_force", dt.date(2024, 2, 29), "feed", "feed_first_import", None),
                              ("lapsed", BJ_LAPSE, "nightly", "lapse_after_grace", None)]

    report = _import(policies_csv(GZ_POLICY, BJ_POLICY), as_of=FIRST_RESEND)  # BJ_POLICY says in_force

    bj = Policy.objects.get(policy_no=BJ_NO)
    assert (bj.status, bj.lapse_date) == ("lapsed", BJ_LAPSE)  # ours
    assert (bj.feed_status, bj.feed_status_since) == ("in_force", FIRST_RESEND)  # kept for the report
    assert _history(BJ_NO) == history_before
    assert (report["created"], report["updated"], report["unchanged"], report["rejected"]) == (0, 1, 1, 0)
    assert report["status_not_applied"] == 1
    assert any(w["column"] == "status" and "consistency report" in w["reason"] for w in report["warnings"])
    # the difference went to the trail like any field the import writes
    event = bj.events.filter(pgh_label="update").order_by("-pgh_id").first()
    assert (event.status, event.feed_status) == ("lapsed", "in_force")
    assert event.pgh_context.metadata["job"] == "import_policies:policies.csv"


def test_a_resent_policy_imported_lapsed_stays_lapsed_when_the_feed_says_in_force(reference_data):
    lapsed = BJ_POLICY.replace(",in_force,", ",lapsed,2025-04-30")
    _import(policies_csv(lapsed), as_of=dt.date(2026, 11, 25))
    _import(policies_csv(BJ_POLICY), as_of=FIRST_RESEND)
    bj = Policy.objects.get(policy_no=BJ_NO)
    assert (bj.status, bj.lapse_date, bj.feed_status) == ("lapsed", dt.date(2025, 4, 30), "in_force")
    assert [(s, d) for s, d, *_rest in _history(BJ_NO)] == [("in_force", dt.date(2024, 2, 29)),
                                                            ("lapsed", dt.date(2025, 4, 30))]


def test_a_feed_saying_surrendered_is_applied_on_the_imports_business_date(portfolio):
    surrendered = GZ_POLICY.replace(",in_force,", ",surrendered,")
    report = _import(policies_csv(surrendered, BJ_POLICY), as_of=dt.date(2026, 12, 3))
    gz = Policy.objects.get(policy_no=GZ_NO)
    assert (gz.status, gz.lapse_date, gz.feed_status, gz.feed_status_since) == ("surrendered", None, "", None)
    assert _history(GZ_NO) == [("in_force", dt.date(2020, 1, 31), "feed", "feed_first_import", None),
                               ("surrendered", dt.date(2026, 12, 3), "feed", "feed_status_change", None)]
    assert PolicyStatusChange.objects.get(policy=gz, status="surrendered").reason == "was in_force"
    assert (report["updated"], report["status_not_applied"]) == (1, 0)


def test_an_outcome_the_core_system_owns_ends_a_lapsed_policy_and_its_lapse_date(portfolio):
    _lapse_bj()
    terminated = BJ_POLICY.replace(",in_force,", ",terminated,")
    _import(policies_csv(terminated), as_of=FIRST_RESEND)
    bj = Policy.objects.get(policy_no=BJ_NO)
    assert (bj.status, bj.lapse_date, bj.feed_status) == ("terminated", None, "")
    assert _history(BJ_NO)[-1] == ("terminated", FIRST_RESEND, "feed", "feed_status_change", None)


def test_a_feed_saying_lapsed_for_a_policy_in_force_is_not_applied_but_listed(portfolio):
    lapsed = GZ_POLICY.replace("2026-11-30,in_force,", "2026-11-30,lapsed,2026-11-01")
    report = _import(policies_csv(lapsed, BJ_POLICY), as_of=FIRST_RESEND)
    gz = Policy.objects.get(policy_no=GZ_NO)
    assert (gz.status, gz.lapse_date) == ("in_force", None)
    assert (gz.feed_status, gz.feed_status_since) == ("lapsed", FIRST_RESEND)
    assert _history(GZ_NO) == [("in_force", dt.date(2020, 1, 31), "feed", "feed_first_import", None)]
    assert report["status_not_applied"] == 1


def test_sending_the_same_file_twice_changes_nothing(portfolio):
    _lapse_bj()
    lapsed_gz = GZ_POLICY.replace("2026-11-30,in_force,", "2026-11-30,lapsed,2026-11-01")
    feed = policies_csv(lapsed_gz, BJ_POLICY)
    _import(feed, as_of=FIRST_RESEND)
    snapshot = sorted(Policy.objects.values_list("policy_no", "status", "lapse_date", "feed_status",
                                                 "feed_status_since", "updated_at"))
    history_count, trail_count = PolicyStatusChange.objects.count(), Policy.pgh_event_model.objects.count()

    report = _import(feed, as_of=SECOND_RESEND)

    assert (report["created"], report["updated"], report["unchanged"], report["status_not_applied"]) == (0, 0, 2, 0)
    assert sorted(Policy.objects.values_list("policy_no", "status", "lapse_date", "feed_status",
                                             "feed_status_since", "updated_at")) == snapshot
    assert snapshot[0][1:5] == ("in_force", None, "lapsed", FIRST_RESEND)  # the date it was first said
    assert snapshot[1][1:5] == ("lapsed", BJ_LAPSE, "in_force", FIRST_RESEND)
    assert (PolicyStatusChange.objects.count(), Policy.pgh_event_model.objects.count()) == (history_count,
                                                                                            trail_count)


def test_a_feed_that_agrees_again_clears_the_difference_and_keeps_our_lapse_date(portfolio):
    _lapse_bj()
    _import(policies_csv(BJ_POLICY), as_of=FIRST_RESEND)
    agrees = BJ_POLICY.replace(",in_force,", ",lapsed,2026-04-01")  # its lapse date differs: ours is kept
    _import(policies_csv(agrees), as_of=SECOND_RESEND)
    bj = Policy.objects.get(policy_no=BJ_NO)
    assert (bj.status, bj.lapse_date, bj.feed_status, bj.feed_status_since) == ("lapsed", BJ_LAPSE, "", None)


def test_the_api_put_keeps_our_status_too(portfolio):
    from policies.tests.test_api import PUT_BODY

    _lapse_bj()
    api = _token_client("core_feed", ["integration"])
    body = PUT_BODY | {"product_code": "H30", "branch_code": "BJ", "holder_name": "王芳",
                       "holder_id_no": "110105198001010024", "holder_birth_date": "", "holder_gender": "",
                       "holder_phone": "13987654321", "holder_email": "", "holder_address": "",
                       "issue_date": "2024-02-29", "frequency": "annual", "premium_term_years": "10",
                       "modal_premium": "1200.00", "sum_assured": "50000.00", "payment_method": "bank_transfer",
                       "bank_name": "", "bank_account": "", "bank_account_name": "", "paid_to_date": "2026-02-28",
                       "status": "in_force", "lapse_date": ""}
    response = api.put(f"/api/v1/policies/{BJ_NO}/", data=body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["lapse_date"]) == ("lapsed", "2026-03-31")
    bj = Policy.objects.get(policy_no=BJ_NO)
    assert (bj.feed_status, bj.feed_status_since) == ("in_force", business_today())
    assert len(_history(BJ_NO)) == 2

    matured = api.put(f"/api/v1/policies/{BJ_NO}/", data=body | {"status": "matured"},
                      content_type="application/json")
    assert matured.json()["status"] == "matured"
    assert _history(BJ_NO)[-1] == ("matured", business_today(), "api", "feed_status_change", None)
    assert Policy.objects.get(policy_no=BJ_NO).feed_status == ""


# --- the consistency report -------------------------------------------------------------------


@pytest.fixture
def differences(portfolio):
    """BJ: lapsed by us, the feed says in_force; GZ: the feed says paid to 2026-12-31 (ours 2026-11-30)."""
    _lapse_bj()
    later = GZ_POLICY.replace("2026-11-30,in_force", "2026-12-31,in_force")
    _import(policies_csv(later, BJ_POLICY), as_of=FIRST_RESEND)


def test_the_report_page_lists_status_differences_beside_paid_to_date_ones(differences):
    client = _english_client("cons_admin", ["admin"])
    page = client.get("/policies/consistency/").content.decode()
    bj_row = page[page.index(f'data-policy="{BJ_NO}"'):]
    bj_row = bj_row[:bj_row.index("</tr>")]
    assert '<td class="status-ours">Lapsed</td>' in bj_row
    assert '<td class="status-feed">In force</td>' in bj_row
    assert '<td class="status-feed-since">2026-11-26</td>' in bj_row
    assert f'data-policy="{GZ_NO}"' in page and "2026-12-31" in page

    only_status = client.get("/policies/consistency/", {"difference": "status"}).content.decode()
    assert f'data-policy="{BJ_NO}"' in only_status and f'data-policy="{GZ_NO}"' not in only_status


def test_the_report_csv_has_our_status_the_feeds_and_since_when(differences):
    client = _english_client("cons_admin", ["admin"])
    rows = client.get("/policies/consistency/?export=csv").content.decode("utf-8-sig").splitlines()
    # the page's columns, in the reader's language (English here)
    assert rows[0] == ("Policy number,Branch,Policyholder,Status,Core system's status,Core system's status since,"
                       "Paid to date,Core system's paid-to date")
    assert rows[1] == "8860000000000001,广州中心支公司,张伟,In force,,,2026-11-30,2026-12-31"
    assert rows[2] == "8860000000000002,北京分公司,王芳,Lapsed,In force,2026-11-26,2026-02-28,"
    assert len(rows) == 3


def test_the_report_sorts_by_a_column_header(differences):
    client = _english_client("cons_sort", ["admin"])
    page = client.get("/policies/consistency/").content.decode()
    assert 'href="?sort=paid_to_date" data-sort="paid_to_date"' in page
    by_paid = client.get("/policies/consistency/", {"sort": "paid_to_date"}).context["page"].object_list
    assert [p.policy_no for p in by_paid] == ["8860000000000002", "8860000000000001"]  # 2026-02-28, then 2026-11-30
    descending = client.get("/policies/consistency/", {"sort": "-paid_to_date"})
    assert [p.policy_no for p in descending.context["page"].object_list] == ["8860000000000001", "8860000000000002"]
    assert 'href="?sort=paid_to_date" data-sort="paid_to_date">Paid to date ▼</a>' in descending.content.decode()
    unknown = client.get("/policies/consistency/", {"sort": "holder__id_no"}).context["page"].object_list
    assert [p.policy_no for p in unknown] == ["8860000000000001", "8860000000000002"]  # by number


def test_the_report_api(differences):
    api = _token_client("cons_finance", ["finance"])
    body = api.get("/api/v1/consistency-report/").json()
    assert body["count"] == 2
    assert body["results"] == [
        {"policy_no": GZ_NO, "branch_code": "GD-GZ", "holder_name": "张伟", "status": "in_force", "feed_status": "",
         "feed_status_since": None, "paid_to_date": "2026-11-30", "feed_paid_to_date": "2026-12-31"},
        {"policy_no": BJ_NO, "branch_code": "BJ", "holder_name": "王芳", "status": "lapsed",
         "feed_status": "in_force", "feed_status_since": "2026-11-26", "paid_to_date": "2026-02-28",
         "feed_paid_to_date": None},
    ]
    only_status = api.get("/api/v1/consistency-report/", {"difference": "status"}).json()
    assert [r["policy_no"] for r in only_status["results"]] == [BJ_NO]
    bad = api.get("/api/v1/consistency-report/", {"difference": "colour"})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["difference"]


def test_the_report_is_scoped_to_the_users_branches(differences):
    api = _token_client("gz_finance", ["finance"], ["GD-GZ"])
    assert [r["policy_no"] for r in api.get("/api/v1/consistency-report/").json()["results"]] == [GZ_NO]


@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("finance", True), ("integration", True),
                                               ("clerk", False), ("team_lead", False), ("manager", False),
                                               ("auditor", False), ("risk_reviewer", False)])
def test_the_report_is_for_admins_and_finance(differences, role, allowed):
    client = _english_client(f"cons_{role}", [role])
    assert client.get("/policies/consistency/").status_code == (200 if allowed else 403)
    assert client.get("/policies/consistency/?export=csv").status_code == (200 if allowed else 403)
    assert client.get("/api/v1/consistency-report/").status_code == (200 if allowed else 403)
    menu = client.get("/policies/", {"q": GZ_NO}).content.decode()
    assert ('href="/policies/consistency/"' in menu) == allowed


def test_the_report_is_in_the_api_schema(portfolio):
    api = _token_client("cons_schema", ["admin"])
    schema = api.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/consistency-report/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"difference", "page"}
    difference = next(p for p in operation["parameters"] if p["name"] == "difference")
    assert sorted(difference["schema"]["enum"]) == ["paid_to_date", "status"]
    row = schema["components"]["schemas"]["ConsistencyRow"]
    assert set(row["properties"]) == {"policy_no", "branch_code", "holder_name", "status", "feed_status",
                                      "feed_status_since", "paid_to_date", "feed_paid_to_date"}
    put = schema["paths"]["/api/v1/policies/{policy_no}/"]["put"]["requestBody"]["content"]["application/json"]
    assert "sales_channel" in schema["components"]["schemas"][put["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]


# --- sales_channel ----------------------------------------------------------------------------


def test_sales_channel_is_imported_and_defaults_to_agency(reference_data):
    header = POLICY_HEADER + ",sales_channel"
    data = "\n".join([header, GZ_POLICY + ",bancassurance", BJ_POLICY + ","]).encode()
    report = _import(data, as_of=dt.date(2026, 11, 25))
    assert (report["created"], report["rejected"]) == (2, 0)
    assert dict(Policy.objects.values_list("policy_no", "sales_channel")) == {GZ_NO: "bancassurance",
                                                                              BJ_NO: "agency"}
    # a later feed's channel updates the policy, with the trail
    changed = "\n".join([header, GZ_POLICY + ",telemarketing", BJ_POLICY + ","]).encode()
    assert _import(changed, as_of=FIRST_RESEND)["updated"] == 1
    gz = Policy.objects.get(policy_no=GZ_NO)
    assert gz.sales_channel == "telemarketing"
    assert gz.events.filter(pgh_label="update").order_by("-pgh_id").first().sales_channel == "telemarketing"


def test_a_file_without_the_column_imports_agency(reference_data):
    _import(policies_csv(GZ_POLICY), as_of=dt.date(2026, 11, 25))
    assert Policy.objects.get(policy_no=GZ_NO).sales_channel == "agency"


def test_a_bad_sales_channel_is_rejected_with_its_line_and_column(reference_data):
    header = POLICY_HEADER + ",sales_channel"
    data = "\n".join([header, GZ_POLICY + ",online", BJ_POLICY + ",broker"]).encode()
    report = _import(data, as_of=dt.date(2026, 11, 25))
    assert (report["created"], report["rejected"]) == (1, 1)
    assert report["errors"] == [{"line": 3, "key": BJ_NO, "column": "sales_channel",
                                 "reason": "'broker' is not one of agency, bancassurance, telemarketing, online, "
                                           "group"}]
    assert list(Policy.objects.values_list("policy_no", "sales_channel")) == [(GZ_NO, "online")]
    assert PolicyImport.objects.get().report["errors"][0]["column"] == "sales_channel"


def test_sales_channel_through_the_api(portfolio):
    from policies.tests.test_api import NEW_NO, PUT_BODY

    api = _token_client("core_feed", ["integration"])
    created = api.put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY | {"sales_channel": "group"},
                      content_type="application/json")
    assert created.status_code == 201 and created.json()["sales_channel"] == "group"
    bad = api.put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY | {"sales_channel": "Group"},
                  content_type="application/json")
    assert bad.status_code == 400
    assert bad.json() == {"errors": {"sales_channel": [
        "'Group' is not one of agency, bancassurance, telemarketing, online, group"]}}
    assert Policy.objects.get(policy_no=NEW_NO).sales_channel == "group"


def test_the_policy_page_shows_the_sales_channel_and_a_kept_feed_status(differences):
    client = _english_client("page_clerk", ["clerk"])
    page = client.get(f"/policies/{BJ_NO}/").content.decode()
    assert '<dd class="col-7" id="sales-channel">Agency</dd>' in page
    assert 'id="feed-status">In force' in page and "since 2026-11-26" in page


def test_demo_policies_spread_over_the_channels_deterministically_by_seed():
    as_of = dt.date(2026, 11, 25)
    channels = [row["sales_channel"] for row in demo_policy_rows(count=2000, seed=7, as_of=as_of)]
    assert channels == [row["sales_channel"] for row in demo_policy_rows(count=2000, seed=7, as_of=as_of)]
    assert channels != [row["sales_channel"] for row in demo_policy_rows(count=2000, seed=8, as_of=as_of)]
    counts = {c: channels.count(c) for c in set(channels)}
    assert set(counts) == {"agency", "bancassurance", "telemarketing", "online", "group"}
    assert counts["agency"] > counts["bancassurance"] > max(counts["telemarketing"], counts["online"],
                                                            counts["group"])
