"""The API against its own schema (issue 10): schemathesis generates requests for every operation of
the OpenAPI schema, valid and invalid ones, and sends them in process (the project's WSGI handler,
no network), as a service user and as a clerk of GD-GZ; the payment webhook is signed per generated
body by a hook. No answer is a 5xx and every answer conforms to the schema: a documented status
code, content type, headers and body. Derandomised (a fixed seed, no example database), 25
examples per operation.

The schema is generated at collection (the generator /api/schema/ runs, rendered the same way), so
pytest lists one test per operation; `test_the_served_schema_is_the_fuzzed_one` ties it to the
served one. (schemathesis.pytest.from_fixture, which would fetch it per test, does not run under
pytest 9.2: it writes a node attribute pytest removed.)"""

import json
import time

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.authtoken.models import Token
from schemathesis.core import NotSet
from schemathesis.specs.openapi import checks as openapi_checks

from billing.services.webhooks import webhook_signature
from policies.models import Policy

SECRET = "fuzz-webhook-secret"
WEBHOOK_PATH = "/api/v1/webhooks/payments/"
CONFIG = {
    "seed": 20261125,
    "generation": {"max-examples": 25, "database": "none"},
    "suppress-health-check": ["all"],
}
CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]
# the service user and a clerk of one branch (issue 10), and finance, the one role the money lines
# and statement imports answer beyond a 403
ACTORS = {"integration": ("core_feed", ["integration"], ["HQ"]), "clerk": ("clerk_gz", ["clerk"], ["GD-GZ"]),
          "finance": ("finance_hq", ["finance"], ["HQ"])}
GZ_NO, BJ_NO = "8860000000000001", "8860000000000002"  # the portfolio fixture's policies
# a valid upsert of the Guangzhou policy (policies.csv fields)
PUT_BODY = {
    "product_code": "WL20", "branch_code": "GD-GZ", "agent_code": "AG001", "agent_name": "黄志强",
    "agent_status": "active", "holder_name": "张伟", "holder_id_type": "resident_id",
    "holder_id_no": "11010519491231002X", "holder_birth_date": "1949-12-31", "holder_gender": "F",
    "holder_phone": "13812345678", "issue_date": "2020-01-31", "frequency": "monthly", "premium_term_years": "20",
    "modal_premium": "300.00", "sum_assured": "100000.00", "payment_method": "auto_debit",
    "bank_name": "中国工商银行", "bank_account": "6222020200001234", "bank_account_name": "张伟",
    "paid_to_date": "2026-11-30", "status": "in_force", "lapse_date": "",
}
WEBHOOK_BODY = {"platform": "alipay", "transaction_id": "2026112822001", "amount": "300.00", "currency": "CNY",
                "paid_at": "2026-11-28T23:30:00+08:00", "payer_name": "张伟", "policy_no": GZ_NO}

pytestmark = pytest.mark.django_db


def _schema_document() -> dict:
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def _with_examples(document: dict) -> dict:
    """The portfolio's own values as the schema's examples, so that cases also reach data (a policy
    of the clerk's branch and one outside it, a valid upsert, a payment) besides 404s and 400s."""
    document = json.loads(json.dumps(document))
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "policy_no":
                    parameter["examples"] = {"guangzhou": {"value": GZ_NO}, "beijing": {"value": BJ_NO}}
    bodies = {("/api/v1/policies/{policy_no}/", "put"): PUT_BODY, (WEBHOOK_PATH, "post"): WEBHOOK_BODY}
    for (path, method), body in bodies.items():
        document["paths"][path][method]["requestBody"]["content"]["application/json"]["examples"] = {
            "valid": {"value": body}}
    return document


DOCUMENT = _schema_document()
SCHEMA = schemathesis.openapi.from_dict(_with_examples(DOCUMENT), config=schemathesis.Config.from_dict(CONFIG))


@schemathesis.hook
def before_call(context, case, kwargs):
    """Sign the webhook's body as the payment platform would: the body is serialized here and sent
    as these very bytes, signed, with a fresh timestamp; other operations pass untouched."""
    if case.operation.path != WEBHOOK_PATH:
        return
    body = b""
    if not isinstance(case.body, NotSet):
        sent = case.as_transport_kwargs()
        body = json.dumps(sent["json"]).encode() if "json" in sent else sent.get("data") or b""
        body = body.encode() if isinstance(body, str) else body
        kwargs["data"] = body
    case.headers = {**(case.headers or {}), "X-Signature": webhook_signature(body=body, secret=SECRET),
                    "X-Timestamp": str(int(time.time()))}


@pytest.fixture
def wsgi_app():
    # Django's handler closes the database connection at each request's start and end; the test's
    # connection holds its transaction (the data), so it stays open, as in Django's test client
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(params=list(ACTORS))
def actor_token(request, portfolio, make_user, settings) -> str:
    settings.PAYMENT_WEBHOOK_SECRET = SECRET
    username, roles, branches = ACTORS[request.param]
    return Token.objects.create(user=make_user(username, roles, branches)).key


def test_the_served_schema_is_the_fuzzed_one(actor_token):
    served = Client(headers={"Authorization": f"Token {actor_token}"}).get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    assert served.json() == DOCUMENT


@SCHEMA.parametrize()
def test_no_operation_answers_5xx_or_off_schema(case, actor_token, wsgi_app):
    case.call_and_validate(app=wsgi_app, headers={"Authorization": f"Token {actor_token}"}, checks=CHECKS)




# --- the named cases -------------------------------------------------------------------------

NEW_NO = "8860000000000099"


@pytest.fixture
def feed_api(portfolio, make_user) -> Client:
    token = Token.objects.create(user=make_user("core_feed", ["integration"]))
    return Client(headers={"Authorization": f"Token {token.key}"})


@pytest.mark.parametrize("path", ["/api/v1/nothing/", "/api/v2/policies/", "/api/", "/api",
                                  f"/api/v1/policies/{GZ_NO}/nothing/", "/api/v1/payments/1/"])
def test_an_unknown_api_address_is_the_apis_json_404(feed_api, client, path):
    for caller in (feed_api, client):  # signed in or not
        response = caller.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"errors": {"detail": [response.json()["errors"]["detail"][0]]}}


def test_the_schema_and_the_docs_need_a_signed_in_user_or_a_token(feed_api, client, make_user):
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 401 and list(schema.json()["errors"]) == ["detail"]
    for path in ("/api/docs/", "/api/redoc/"):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next={path}")
    assert feed_api.get("/api/schema/", {"format": "json"}).status_code == 200
    client.force_login(make_user("clerk", ["clerk"], ["GD-GZ"]))
    for path in ("/api/schema/", "/api/docs/", "/api/redoc/"):
        assert client.get(path).status_code == 200, path


def test_every_operation_documents_the_error_answers():
    assert DOCUMENT["components"]["schemas"]["Errors"]["properties"]["errors"]["additionalProperties"] == {
        "type": "array", "items": {"type": "string"}}
    operations = [(path, method, operation) for path, operations in DOCUMENT["paths"].items()
                  for method, operation in operations.items()]
    assert len(operations) >= 12
    for path, method, operation in operations:
        for code in ("400", "401", "403", "404", "409"):
            content = operation["responses"][code]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Errors"}, (method, path, code)


PUT_BAD_VALUES = [
    ("modal_premium", 300.5), ("modal_premium", "NaN"), ("modal_premium", "Infinity"), ("modal_premium", "1e13"),
    ("modal_premium", "300.001"), ("modal_premium", "1000000000000.00"), ("sum_assured", 100000),
    ("premium_term_years", 20), ("holder_name", {"name": "张伟"}), ("branch_code", ["GD-GZ"]),
    ("product_code", None), ("holder_name", "张" * 65), ("issue_date", "2021-02-29"), ("issue_date", "2021-13-01"),
    ("paid_to_date", 20261130), ("bank_account", "6" * 35), ("frequency", True),
]


@pytest.mark.parametrize(("field", "value"), PUT_BAD_VALUES, ids=[f"{f}={str(v)[:16]!r}" for f, v in PUT_BAD_VALUES])
def test_an_upsert_with_a_bad_value_is_a_400_naming_its_field_and_stores_nothing(feed_api, field, value):
    response = feed_api.put(f"/api/v1/policies/{NEW_NO}/", data=PUT_BODY | {field: value},
                            content_type="application/json")
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert not Policy.objects.filter(policy_no=NEW_NO).exists()


def test_an_upsert_body_with_nan_or_not_an_object_is_a_400(feed_api):
    nan = json.dumps(PUT_BODY).replace('"300.00"', "NaN")
    for body in (nan, "[]", "null", "{"):
        response = feed_api.put(f"/api/v1/policies/{NEW_NO}/", data=body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        assert len(response.json()["errors"]) == 1
    assert not Policy.objects.filter(policy_no=NEW_NO).exists()


@pytest.mark.parametrize(("query", "field"), [({"on": ""}, "on"), ({"on": "2026-02-30"}, "on"),
                                             ({"on": "2026-6-30"}, "on"), ({"on": "30/06/2026"}, "on")])
def test_a_date_given_empty_or_impossible_is_a_400_naming_it(feed_api, query, field):
    for path in (f"/api/v1/policies/{GZ_NO}/status/", f"/api/v1/policies/{GZ_NO}/reinstatement-quote/"):
        response = feed_api.get(path, query)
        assert response.status_code == 400, (path, response.content)
        assert list(response.json()["errors"]) == [field]


def test_a_page_that_is_not_a_number_is_a_400_and_one_past_the_last_a_404(feed_api):
    for page in ("abc", "0", "-1", "1.5", "", "9" * 5000):
        response = feed_api.get("/api/v1/policies/", {"page": page})
        if page == "":  # not given: the first page
            assert response.status_code == 200
            continue
        assert response.status_code == 400 and list(response.json()["errors"]) == ["page"], page
    assert feed_api.get("/api/v1/policies/", {"page": "2"}).status_code == 404
    assert feed_api.get("/api/v1/policies/", {"page": "last"}).status_code == 200


def test_a_method_an_operation_does_not_have_is_a_405(feed_api):
    response = feed_api.delete(f"/api/v1/policies/{GZ_NO}/")
    assert response.status_code == 405 and list(response.json()["errors"]) == ["detail"]
    assert Policy.objects.filter(policy_no=GZ_NO).exists()


def test_a_null_character_in_an_address_or_a_search_is_a_4xx_not_a_database_error(feed_api):
    """PostgreSQL text cannot hold NUL: a policy number with one names no policy (404), a search
    with one is a 400 naming it."""
    for path in ("/api/v1/policies/%00/", f"/api/v1/policies/{GZ_NO}%00/status/", "/api/v1/policies/a%00b/installments/"):
        response = feed_api.get(path)
        assert response.status_code == 404 and list(response.json()["errors"]) == ["detail"], path
    for search in ("886\x00", "x" * 201):
        response = feed_api.get("/api/v1/policies/", {"search": search})
        assert response.status_code == 400 and list(response.json()["errors"]) == ["search"]
