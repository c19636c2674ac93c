"""The REST API of interfaces.md: shapes, status on a date, errors, the upsert, token auth and
the OpenAPI schema and docs served without a CDN."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import TokenFactory, UserFactory
from conftest import AS_OF, GZ_POLICY, policies_csv
from core.dates import business_today
from policies.models import Policy, PolicyStatusChange
from policies.services.imports import policies_import

pytestmark = pytest.mark.django_db

GZ_NO = "8860000000000001"
NEW_NO = "8860000000000099"
LAPSED_NO = "8860000000000003"
# the Guangzhou policy imported lapsed: paid to 2026-01-31, lapsed on 2026-04-01
LAPSED_POLICY = GZ_POLICY.replace(GZ_NO, LAPSED_NO).replace("2026-11-30,in_force,", "2026-01-31,lapsed,2026-04-01")

PUT_BODY = {
    "product_code": "WL20", "branch_code": "GD-GZ", "agent_code": "AG001", "agent_name": "黄志强",
    "agent_status": "active", "holder_name": "张伟", "holder_id_type": "resident_id",
    "holder_id_no": "11010519491231002X", "holder_birth_date": "1949-12-31", "holder_gender": "F",
    "holder_phone": "13812345678", "holder_email": "zhang@example.cn", "holder_address": "广州市天河区中山路1号",
    "issue_date": "2021-03-15", "frequency": "quarterly", "premium_term_years": "10", "modal_premium": "850.50",
    "sum_assured": "200000.00", "payment_method": "auto_debit", "bank_name": "中国工商银行",
    "bank_account": "6222020200001234", "bank_account_name": "张伟", "paid_to_date": "2026-12-15",
    "status": "in_force", "lapse_date": "",
}


def _token_client(username: str, roles: list[str], branches=("HQ",)) -> Client:
    token = TokenFactory(user=UserFactory(username=username, roles=roles, branches=branches))
    return Client(headers={"Authorization": f"Token {token.key}"})


@pytest.fixture
def clerk_api(portfolio) -> Client:
    return _token_client("clerk", ["clerk"], ["GD-GZ"])


@pytest.fixture
def feed_api(portfolio) -> Client:
    return _token_client("core_feed", ["integration"])


# --- list and detail ------------------------------------------------------------------------


def test_list_with_search_is_paginated(clerk_api):
    response = clerk_api.get("/api/v1/policies/", {"search": GZ_NO})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    assert [p["policy_no"] for p in body["results"]] == [GZ_NO]


def test_list_pages_through_many_results(portfolio):
    rows = [GZ_POLICY.replace(GZ_NO, f"88600000000001{n:02d}") for n in range(55)]
    policies_import(files=[("policies.csv", policies_csv(*rows))], as_of=AS_OF)
    client = _token_client("manager", ["manager"])

    first = client.get("/api/v1/policies/", {"search": "11010519491231002X"}).json()
    assert first["count"] == 56  # the portfolio's own and the 55 new, one holder
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/policies/?page=2&search=11010519491231002X"
    assert len(first["results"]) == 50
    assert first["results"][0]["policy_no"] == GZ_NO  # ordered by policy number

    second = client.get(first["next"]).json()
    assert second["count"] == 56
    assert second["next"] is None
    assert second["previous"] == "http://testserver/api/v1/policies/?search=11010519491231002X"
    assert [p["policy_no"] for p in second["results"]] == [f"88600000000001{n:02d}" for n in range(49, 55)]


def test_list_search_finds_nothing_outside_the_branches(clerk_api):
    body = clerk_api.get("/api/v1/policies/", {"search": "8860000000000002"}).json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_list_without_search_is_the_users_branches(clerk_api):
    body = clerk_api.get("/api/v1/policies/").json()
    assert [p["policy_no"] for p in body["results"]] == [GZ_NO]


def test_detail_fields(clerk_api):
    response = clerk_api.get(f"/api/v1/policies/{GZ_NO}/")
    assert response.status_code == 200
    data = response.json()
    assert {k: data[k] for k in ("policy_no", "status", "paid_to_date", "issue_date", "frequency", "modal_premium",
                                 "product_code", "branch_code")} == {
        "policy_no": GZ_NO, "status": "in_force", "paid_to_date": "2026-11-30", "issue_date": "2020-01-31",
        "frequency": "monthly", "modal_premium": "300.00", "product_code": "WL20", "branch_code": "GD-GZ",
    }
    assert data["sum_assured"] == "100000.00"
    assert data["lapse_date"] is None


def test_detail_of_a_missing_policy_is_404(clerk_api):
    response = clerk_api.get("/api/v1/policies/8869999999999999/")
    assert response.status_code == 404
    assert list(response.json()) == ["errors"]
    assert list(response.json()["errors"]) == ["detail"]


# --- status on a date -----------------------------------------------------------------------


def _status(client: Client, policy_no: str, on: str | None = None):
    query = {"on": on} if on is not None else {}
    return client.get(f"/api/v1/policies/{policy_no}/status/", query)


def test_status_before_the_issue_date_is_404(clerk_api):
    assert _status(clerk_api, GZ_NO, "2020-01-30").status_code == 404


def test_status_on_the_issue_date_is_in_force(clerk_api):
    response = _status(clerk_api, GZ_NO, "2020-01-31")
    assert response.status_code == 200
    assert response.json() == {"policy_no": GZ_NO, "on": "2020-01-31", "status": "in_force"}


def test_status_without_on_is_today(clerk_api):
    response = _status(clerk_api, GZ_NO)
    assert response.status_code == 200
    assert response.json() == {"policy_no": GZ_NO, "on": business_today().isoformat(), "status": "in_force"}


def test_status_of_a_policy_imported_lapsed(clerk_api):
    policies_import(files=[("policies.csv", policies_csv(LAPSED_POLICY))], as_of=AS_OF)
    policy = Policy.objects.get(policy_no=LAPSED_NO)
    assert (policy.status, policy.lapse_date.isoformat()) == ("lapsed", "2026-04-01")
    expected = {
        "2020-01-30": None,
        "2020-01-31": "in_force",
        "2026-03-31": "in_force",  # the day before the lapse
        "2026-04-01": "lapsed",  # the lapse date
        "2026-04-02": "lapsed",
        "2026-11-25": "lapsed",
    }
    for on, status in expected.items():
        response = _status(clerk_api, LAPSED_NO, on)
        if status is None:
            assert response.status_code == 404, on
        else:
            assert response.status_code == 200, on
            assert response.json() == {"policy_no": LAPSED_NO, "on": on, "status": status}


def test_status_follows_a_voided_lapse(clerk_api):
    policies_import(files=[("policies.csv", policies_csv(LAPSED_POLICY))], as_of=AS_OF)
    PolicyStatusChange.objects.filter(policy__policy_no=LAPSED_NO, status="lapsed").update(
        voided_at=timezone.now(), void_reason="payment in time found")
    assert _status(clerk_api, LAPSED_NO, "2026-04-01").json()["status"] == "in_force"


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "20260101", "yesterday", "2026-1-5", " "])
def test_status_with_a_bad_date_is_400(clerk_api, bad):
    response = _status(clerk_api, GZ_NO, bad)
    assert response.status_code == 400
    assert response.json() == {"errors": {"on": [f"not a date in YYYY-MM-DD form: {bad.strip()!r}"]}}


# --- authentication and permission ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/policies/", f"/api/v1/policies/{GZ_NO}/",
                                  f"/api/v1/policies/{GZ_NO}/status/?on=2025-06-30"])
def test_without_credentials_is_401(portfolio, path):
    response = Client().get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert list(response.json()["errors"]) == ["detail"]


def test_a_wrong_token_is_401(portfolio):
    response = Client(headers={"Authorization": "Token " + "0" * 40}).get("/api/v1/policies/")
    assert response.status_code == 401


def test_put_without_credentials_is_401(portfolio):
    response = Client().put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY, content_type="application/json")
    assert response.status_code == 401
    assert not Policy.objects.filter(policy_no=NEW_NO).exists()


def test_token_auth_works(portfolio):
    token = TokenFactory(user__roles=["integration"], user__branches=["HQ"])
    assert len(token.key) == 40
    response = Client().get(f"/api/v1/policies/{GZ_NO}/", headers={"Authorization": f"Token {token.key}"})
    assert response.status_code == 200
    assert response.json()["policy_no"] == GZ_NO


def test_clerk_put_is_403(clerk_api):
    response = clerk_api.put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY, content_type="application/json")
    assert response.status_code == 403
    assert list(response.json()["errors"]) == ["detail"]
    assert not Policy.objects.filter(policy_no=NEW_NO).exists()


# --- PUT (upsert) ---------------------------------------------------------------------------


def test_put_creates_then_updates_then_refuses_a_bad_id(feed_api):
    created = feed_api.put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert {k: data[k] for k in ("policy_no", "status", "paid_to_date", "issue_date", "frequency", "modal_premium",
                                 "product_code", "branch_code")} == {
        "policy_no": NEW_NO, "status": "in_force", "paid_to_date": "2026-12-15", "issue_date": "2021-03-15",
        "frequency": "quarterly", "modal_premium": "850.50", "product_code": "WL20", "branch_code": "GD-GZ",
    }
    assert data["bank_account"] == "****1234"  # masked in the answer too
    assert list(PolicyStatusChange.objects.filter(policy__policy_no=NEW_NO)
                .values_list("status", "effective_date", "source")) == [
        ("in_force", Policy.objects.get(policy_no=NEW_NO).issue_date, "api")]

    # the same body again: 200, nothing changes
    again = feed_api.put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY, content_type="application/json")
    assert again.status_code == 200
    assert again.json()["modal_premium"] == "850.50"

    updated = feed_api.put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY | {"modal_premium": "900.00"},
                           content_type="application/json")
    assert updated.status_code == 200
    assert updated.json()["modal_premium"] == "900.00"
    policy = Policy.objects.get(policy_no=NEW_NO)
    assert str(policy.modal_premium) == "900.00"
    update_event = policy.events.filter(pgh_label="update").order_by("-pgh_id").first()
    assert update_event.pgh_context.metadata["username"] == "core_feed"
    assert update_event.pgh_context.metadata["job"] == "api:policy_upsert"

    bad = feed_api.put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY | {"holder_id_no": "110105194912310021",
                                                                       "modal_premium": "1.00"},
                       content_type="application/json")
    assert bad.status_code == 400
    assert bad.json() == {"errors": {"holder_id_no": ["check digit is 1, expected X"]}}
    assert str(Policy.objects.get(policy_no=NEW_NO).modal_premium) == "900.00"  # untouched


def test_put_with_a_missing_field_is_400(feed_api):
    body = {k: v for k, v in PUT_BODY.items() if k != "issue_date"}
    response = feed_api.put(f"/api/v1/policies/{NEW_NO}/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["issue_date"]
    assert len(response.json()["errors"]["issue_date"]) == 1


def test_put_with_an_unknown_product_is_400(feed_api):
    response = feed_api.put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY | {"product_code": "NOPE"},
                            content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"product_code": ["unknown product 'NOPE'"]}}


def test_put_outside_the_users_branches(portfolio):
    client = _token_client("feed_bj", ["integration"], ["BJ"])
    new = client.put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY, content_type="application/json")
    assert new.status_code == 400
    # the reason speaks the user's language (Chinese unless they chose English)
    assert new.json() == {"errors": {"branch_code": ["不在您所辖机构范围内"]}}
    existing = client.put(f"/api/v1/policies/{GZ_NO}/", data=PUT_BODY | {"branch_code": "BJ"},
                          content_type="application/json")
    assert existing.status_code == 404  # a policy of another branch does not exist for this user
    assert Policy.objects.get(policy_no=GZ_NO).branch.code == "GD-GZ"


# --- schema and docs ------------------------------------------------------------------------


def test_openapi_schema(clerk_api):
    response = clerk_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/policies/", "/api/v1/policies/{policy_no}/", "/api/v1/policies/{policy_no}/status/"} <= set(
        schema["paths"])
    assert set(schema["paths"]["/api/v1/policies/{policy_no}/"]) >= {"get", "put"}


def test_swagger_ui_is_served_from_the_app(clerk_api):
    response = clerk_api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    for cdn in ("cdn.", "jsdelivr", "unpkg", "cdnjs", "googleapis"):
        assert cdn not in html, cdn
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls), urls
    assert all(u.startswith("/") for u in urls), urls  # nothing from another host
    assert "/api/schema/" in html
