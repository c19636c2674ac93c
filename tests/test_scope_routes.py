"""Every URL and API route that takes an id or a policy number, walked as a user of another
branch (issue 10): 404, exactly like something that does not exist, and the attempt in the trail;
403 only where the role may not act at all. The routes come from the URL resolver: a new route
without a case here fails the first test."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.tests.factories import TokenFactory, UserFactory
from audit.models import Operation
from billing.models import Assignment, Payment, StatementImport
from billing.services.schedules import installments_extend
from billing.services.statements import statement_import
from billing.services.suspense import payment_match_manual
from billing.tests.factories import DebitBatchFactory, PaymentFactory
from conftest import AS_OF
from policies.models import Policy
from renewals.models import Application, Case, Hold
from renewals.services.holds import hold_request
from renewals.services.servicing import servicing_apply
from risk.tests.factories import FlagFactory

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"

# routes that take an id but reach nothing of a branch: why each is not walked
EXEMPT = {
    "billing:rule": "a matching rule is configuration of the whole company",
    "billing:csv_template": "a CSV column template is configuration of the whole company",
    "renewals:operations_rerun": "a nightly run is the whole company's",
    "core:home_role": "takes a role code, not an object: 404 unless the user holds the role (tests/test_homes.py)",
    "risk:rule": "a risk rule is configuration of the whole company",
    "scoring:model": "a lapse-risk model version is the whole company's (configure_system)",
    "scoring:model_approve": "a lapse-risk model version is the whole company's (configure_system)",
    "outreach:unsubscribe": "a customer's signed link, no login: a forged one is 404 (outreach/tests/test_consent.py)",
    "outreach:template_edit": "message templates are the whole company's (configure_templates)",
    "outreach:template_preview": "message templates are the whole company's; the sample policy is taken in scope",
    "outreach:template_approval": "message templates are the whole company's (configure_templates)",
    "paylinks:page": "a customer's payment link, no login: the random code is the credential (outreach/tests/test_paylinks.py)",
    "paylinks:done": "a customer's payment link, no login: the random code is the credential (outreach/tests/test_paylinks.py)",
    "paylinks:pay": "a customer's payment link, no login: the random code is the credential (outreach/tests/test_paylinks.py)",
}


def _routes() -> dict[str, str]:
    """name -> route of every pattern with a parameter (the admin's own excepted)."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else (
                    pattern.namespace or namespace)
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner or "")
            elif isinstance(pattern, URLPattern) and "<" in str(pattern.pattern) and pattern.name:
                route = prefix + str(pattern.pattern)
                if not route.startswith("admin/"):
                    found[f"{namespace}:{pattern.name}" if namespace else pattern.name] = route

    walk(get_resolver().url_patterns, "", "")
    return found


@pytest.fixture
def world(portfolio):
    """Objects of the Guangzhou branch, and an outsider of Beijing with every role that acts on them."""
    installments_extend(as_of=AS_OF)
    gz = Policy.objects.get(policy_no=GZ)
    clerk = UserFactory(username="clerk_gz", roles=["clerk"], branches=["GD-GZ"])
    finance = UserFactory(username="finance_hq", roles=["finance"], branches=["HQ"])
    outsider = UserFactory(username="outsider", roles=["clerk", "team_lead", "finance", "underwriter", "risk_reviewer"],
                           branches=["BJ"])
    csv = ("交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
           "2026-11-28,300.00,CNY,张伟,6222020200001234,W1,保单8860000000000001续期保费\n").encode()
    statement_import(name="gz.csv", data=csv, format="csv", template="cn-online-banking", as_of=AS_OF)
    paid = Payment.objects.get(reference="W1")
    pending = PaymentFactory(value_date=AS_OF, amount=Decimal("6000.00"))
    payment_match_manual(payment=pending, policy=gz, amount=Decimal("6000.00"), actor=finance, as_of=AS_OF)
    hold = hold_request(policy=gz, start=dt.date(2026, 12, 10), end=dt.date(2026, 12, 19), reason="住院", actor=clerk)
    application = servicing_apply(policy=gz, kind="deferral", applied_on=AS_OF, effective_date=dt.date(2026, 12, 1),
                                  details={"end": "2027-05-31"}, actor=clerk)
    batch = DebitBatchFactory(collection_date=AS_OF)
    case = Case.objects.create(policy=gz, type="overdue_follow_up", opened_on=AS_OF)
    client = Client()
    client.force_login(outsider)
    api = Client(headers={"Authorization": f"Token {TokenFactory(user=outsider).key}"})
    flag = FlagFactory(rule_key="unpaid-installments", policy=gz, raised_on=AS_OF)
    return {"flag": flag, "holder": gz.holder,
            "gz": gz, "paid": paid, "pending": Assignment.objects.get(payment=pending), "hold": hold,
            "application": application, "batch": batch, "import": StatementImport.objects.get(file_name="gz.csv"),
            "case": case, "page": client, "api": api}


# name -> (client, method, url, data, expected status)
def _cases(w) -> dict:
    page, api = w["page"], w["api"]
    return {
        "policies:detail": (page, "get", f"/policies/{GZ}/", None, 404),
        "policies:reveal": (page, "post", f"/policies/{GZ}/reveal/phone/", None, 404),
        "billing:import_detail": (page, "get", f"/billing/imports/{w['import'].pk}/", None, 404),
        "billing:payment": (page, "get", f"/billing/payments/{w['paid'].pk}/", None, 404),
        "billing:payment_action": (page, "post", f"/billing/payments/{w['paid'].pk}/refund/", {"reason": "x"}, 404),
        "billing:assignment_decide": (page, "post", f"/billing/matches/{w['pending'].pk}/approve/", {}, 404),
        # debit batches collect for every branch: the head office's, a branch user may not act at all
        "billing:debit_export": (page, "get", f"/billing/debits/{w['batch'].pk}/csv/", None, 403),
        "billing:debit_mark_exported": (page, "post", f"/billing/debits/{w['batch'].pk}/sent/", {}, 403),
        "renewals:reinstatement_apply": (page, "post", f"/renewals/reinstatement/{GZ}/", {}, 404),
        "renewals:hold_request": (page, "post", f"/renewals/holds/{GZ}/",
                                  {"start": "2026-12-20", "end": "2026-12-24", "reason": "x"}, 404),
        "renewals:servicing_apply": (page, "post", f"/renewals/servicing/{GZ}/", {"kind": "deferral"}, 404),
        "renewals:policy_plan": (page, "post", f"/renewals/plan/{GZ}/", {}, 404),
        "renewals:policy_collection_profile": (page, "post", f"/renewals/profile/{GZ}/", {}, 404),
        "renewals:suspension_decide": (page, "post", f"/renewals/suspensions/hold/{w['hold'].pk}/",
                                       {"decision": "approve"}, 404),
        "risk:flag": (page, "get", f"/risk/flags/{w['flag'].pk}/", None, 404),
        "risk:flag_action": (page, "post", f"/risk/flags/{w['flag'].pk}/claim/", {}, 404),
        "risk:customer_pack": (page, "post", f"/risk/customers/{w['holder'].pk}/pack/", {}, 404),
        "outreach:paylink_issue": (page, "post", f"/outreach/paylinks/{GZ}/", {}, 404),
        "outreach:proofs_export": (page, "get", f"/outreach/proofs/{GZ}/export/", None, 404),
        "outreach:identities_update": (page, "post", f"/outreach/identities/{GZ}/",
                                       {"wechat": "oGZ3x5A9bT_2kLmN7pQrStUvWxYz"}, 404),
        "api-policy-detail": (api, "get", f"/api/v1/policies/{GZ}/", None, 404),
        "api-policy-status": (api, "get", f"/api/v1/policies/{GZ}/status/", None, 404),
        "api-policy-installments": (api, "get", f"/api/v1/policies/{GZ}/installments/", None, 404),
        "api-policy-allocations": (api, "get", f"/api/v1/policies/{GZ}/allocations/", None, 404),
        "api-reinstatement-quote": (api, "get", f"/api/v1/policies/{GZ}/reinstatement-quote/", None, 404),
        "api-policy-contacts": (api, "get", f"/api/v1/policies/{GZ}/contacts/", None, 404),
        "scoring-policy-lapse-risk": (api, "get", f"/api/v1/policies/{GZ}/lapse-risk/", None, 404),
        "api-import-detail": (api, "get", f"/api/v1/imports/{w['import'].pk}/", None, 404),
        # the workbench: a case of another branch
        **{f"renewals:case{suffix}": (page, "get" if not suffix else "post",
                                      f"/renewals/cases/{w['case'].pk}/{suffix[1:]}{'/' if suffix else ''}",
                                      {"department": "claims", "question": "x", "answer": "x", "text": "x",
                                       "category": "other", "outcome": "no_answer", "channel": "phone",
                                       "reached": "0"}, 404)
           for suffix in ("", "_claim", "_release", "_contact", "_handoff", "_answer", "_note", "_feedback",
                          "_assign")},
        "api-case-detail": (api, "get", f"/api/v1/cases/{w['case'].pk}/", None, 404),
        "api-case-release": (api, "post", f"/api/v1/cases/{w['case'].pk}/release/", None, 404),
        "api-case-outcome": (api, "post", f"/api/v1/cases/{w['case'].pk}/outcome/",
                             {"channel": "phone", "reached": False, "outcome": "no_answer"}, 404),
    }


def test_every_route_with_an_id_has_a_case():
    cases = _cases({k: None for k in ("page", "api")} | {k: _Any() for k in
                                                           ("import", "paid", "pending", "batch", "hold", "flag", "case",
                                                                                            "holder")})
    missing = sorted(set(_routes()) - set(cases) - set(EXEMPT))
    assert missing == [], f"routes taking an id without a scope case: {missing}"


class _Any:
    pk = 1


def test_every_route_answers_another_branch_as_if_nothing_were_there(world):
    refused = []
    for name, (client, method, url, data, expected) in _cases(world).items():
        before = Operation.objects.filter(action="access_denied").count()
        response = getattr(client, method)(url, data or {})
        recorded = Operation.objects.filter(action="access_denied").count() - before
        if response.status_code != expected or (expected == 404 and recorded != 1):
            refused.append((name, response.status_code, recorded))
    assert refused == [], "name, status, trail entries: " + repr(refused)
    # nothing moved
    assert Hold.objects.get(pk=world["hold"].pk).status == "requested"
    assert Application.objects.get(pk=world["application"].pk).status == "submitted"
    assert Assignment.objects.get(pk=world["pending"].pk).status == "pending_approval"
    assert Payment.objects.get(pk=world["paid"].pk).status == "matched"


def test_applications_reached_by_an_id_in_the_form_answer_404(world):
    page = world["page"]
    before = Operation.objects.filter(action="access_denied").count()
    assert page.post("/renewals/approvals/", {"application": world["application"].pk}).status_code == 404
    assert Operation.objects.filter(action="access_denied").count() == before + 1
    assert Application.objects.get(pk=world["application"].pk).status == "submitted"
