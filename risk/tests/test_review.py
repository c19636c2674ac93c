"""The review queue, a flag's page, outcomes, the evidence pack, the API and the pages around
them (issue 17)."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook

from accounts.tests.factories import TokenFactory
from audit.models import Operation
from billing.models import CounterPayment
from core.events import FLAG_CONFIRMED, event_subscribe, event_unsubscribe
from policies.models import Branch, Policy
from renewals.models import Hold
from risk.models import Claim, Flag, Review, Rule
from risk.services.flags import flag_claim_next, flag_decide
from risk.tests.conftest import AS_OF
from risk.tests.test_evaluation import night

pytestmark = pytest.mark.django_db


@pytest.fixture
def raised(cash, make_user):
    night()
    cash["reviewer"] = make_user("risk_gz", ["risk_reviewer"], ["GD-GZ"])
    cash["hq"] = make_user("risk_hq", ["risk_reviewer"], ["HQ"])
    cash["bj"] = make_user("risk_bj", ["risk_reviewer"], ["BJ"])
    return cash


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_queue_is_ordered_by_severity_then_age_and_scoped_to_branches(raised):
    response = _client(raised["reviewer"]).get("/risk/")
    flags = list(response.context["page"])
    assert [f.severity for f in flags] == sorted((f.severity for f in flags),
                                                 key=lambda s: {"high": 0, "medium": 1, "low": 2}[s])
    # the refund to another account has no policy of a branch: the head office's only
    assert "refund-other-account" not in {f.rule_key for f in flags}
    assert len(flags) == 10
    assert "refund-other-account" in {f.rule_key for f in _client(raised["hq"]).get("/risk/").context["page"]}
    assert list(_client(raised["bj"]).get("/risk/").context["page"]) == []
    kind = _client(raised["reviewer"]).get("/risk/", {"kind": "large_cash"}).context["page"]
    assert [f.rule_key for f in kind] == ["large-cash"]


def test_a_reviewer_of_another_branch_gets_404_and_the_attempt_is_on_the_trail(raised):
    flag = Flag.objects.get(rule_key="amount-deviation")
    before = Operation.objects.filter(action="access_denied").count()
    assert _client(raised["bj"]).get(f"/risk/flags/{flag.pk}/").status_code == 404
    assert Operation.objects.filter(action="access_denied").count() == before + 1
    assert _client(raised["reviewer"]).get(f"/risk/flags/{flag.pk}/").status_code == 200


def test_evidence_rows_of_policies_outside_the_branches_are_masked(raised):
    Policy.objects.filter(policy_no="RK0000000034").update(branch=Branch.objects.get(code="BJ"))
    flag = Flag.objects.get(rule_key="shared-payer-account")
    response = _client(raised["reviewer"]).get(f"/risk/flags/{flag.pk}/")
    rows = {tuple(r) for s in response.context["sections"] for r in s["table"]}
    html = response.content.decode()
    assert "RK0000000030" in html and "RK0000000034" not in html
    assert sum(1 for r in rows if "***" in r) == 1


def test_claim_next_never_hands_the_same_flag_to_two_reviewers(raised, make_user):
    other = make_user("risk_gz2", ["risk_reviewer"], ["GD-GZ"])
    first = flag_claim_next(actor=raised["reviewer"], as_of=AS_OF)
    second = flag_claim_next(actor=other, as_of=AS_OF)
    assert first.severity == "high" and second.pk != first.pk
    assert Review.objects.filter(action="claim").count() == 2


def test_an_outcome_needs_a_reason_and_a_confirmation_runs_the_chosen_actions(raised):
    seen = []
    event_subscribe(FLAG_CONFIRMED, lambda event: seen.append(sorted(event.policy_ids)), key="test-flag-confirmed")
    try:
        client = _client(raised["reviewer"])
        flag = Flag.objects.get(rule_key="third-party-payer")
        response = client.post(f"/risk/flags/{flag.pk}/decide/", {"outcome": "confirm", "reason": ""})
        assert response.status_code == 400 and Flag.objects.get(pk=flag.pk).status == "open"
        client.post(f"/risk/flags/{flag.pk}/decide/", {"outcome": "confirm", "reason": "代缴人身份不明",
                                                       "actions": ["hold_collection"]})
        flag.refresh_from_db()
        assert (flag.status, flag.outcome_reason, flag.reviewed_by) == ("confirmed", "代缴人身份不明",
                                                                        raised["reviewer"])
        assert seen == [[raised["third-party-payer"].pk]]
        assert Hold.objects.get(policy=raised["third-party-payer"]).status == "requested"
        op = Operation.objects.get(action="risk_flag_confirm")
        assert (op.reason, op.details["version"]) == ("代缴人身份不明", 1)
    finally:
        event_unsubscribe(FLAG_CONFIRMED, "test-flag-confirmed")


def test_snooze_hides_a_flag_until_its_date(raised):
    from risk.services.evaluation import risk_aggregate
    from risk.services.flags import flag_snooze

    flag = Flag.objects.get(rule_key="amount-deviation")
    flag_snooze(flag=flag, actor=raised["reviewer"], until=AS_OF + dt.timedelta(days=5), reason="等客户回电",
                as_of=AS_OF)
    assert flag.pk not in {f.pk for f in _client(raised["reviewer"]).get("/risk/").context["page"]}
    risk_aggregate(AS_OF + dt.timedelta(days=5), 0, 2**62)
    assert Flag.objects.get(pk=flag.pk).status == "open"


def test_the_evidence_pack_is_a_zip_with_a_summary_and_the_rows_and_is_on_the_trail(raised):
    flag = Flag.objects.get(rule_key="shared-payer-account")
    response = _client(raised["reviewer"]).post(f"/risk/flags/{flag.pk}/pack/")
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["evidence_payments.csv", "summary.xlsx"]
    assert archive.read("evidence_payments.csv").decode("utf-8-sig").count("\n") == 6  # header + 5 rows
    summary = load_workbook(io.BytesIO(archive.read("summary.xlsx")))
    assert len(list(summary.worksheets[1].iter_rows(min_row=2))) == 5  # the five policies
    assert Review.objects.filter(flag=flag, action="pack").count() == 1
    assert Operation.objects.filter(action="risk_flag_pack", object_ref=str(flag.pk)).count() == 1


def test_the_api_lists_flags_filtered_by_policy_kind_and_status(raised):
    api = Client(headers={"Authorization": f"Token {TokenFactory(user=raised['reviewer']).key}"})
    body = api.get("/api/v1/flags/", {"policy_no": "RK0000000001"}).json()
    assert [(f["rule"], f["rule_kind"], f["rule_version"], f["policy_nos"], f["status"]) for f in body["results"]] == [
        ("unpaid-installments", "unpaid_installments", 1, ["RK0000000001"], "open")]
    assert body["results"][0]["reason"]
    assert api.get("/api/v1/flags/", {"rule_kind": "large_cash"}).json()["count"] == 1
    assert api.get("/api/v1/flags/", {"status": "cleared"}).json()["count"] == 0
    assert api.get("/api/v1/flags/", {"rule_kind": "nope"}).status_code == 400


def test_claims_come_through_the_api_and_a_claims_handler_enters_them(raised, make_user):
    token = TokenFactory(user__username="claims_system", user__roles=["integration"], user__branches=["HQ"])
    api = Client(headers={"Authorization": f"Token {token.key}"})
    notice = {"policy_no": "RK0000000003", "claim_no": "CL-900", "loss_date": "2026-11-01",
              "reported_date": "2026-11-03", "kind": "medical", "status": "reported"}
    assert api.post("/api/v1/claims/", notice, content_type="application/json").status_code == 201
    notice["status"] = "approved"
    assert api.post("/api/v1/claims/", notice, content_type="application/json").status_code == 200
    assert Claim.objects.get(claim_no="CL-900").status == "approved"
    handler = _client(make_user("claims_gz", ["claims"], ["GD-GZ"]))
    handler.post("/risk/claims/", {"policy_no": "RK0000000004", "claim_no": "CL-901", "loss_date": "2026-11-10",
                                   "reported_date": "2026-11-12", "kind": "accident", "status": "reported"})
    assert Claim.objects.get(claim_no="CL-901").source == "manual"


def test_the_rule_page_saves_a_version_and_backtests_it_without_raising(raised):
    client = _client(raised["hq"])
    v1 = Rule.objects.get(key="amount-deviation", state="active")
    response = client.post(f"/risk/rules/{v1.pk}/", {"action": "version", "name": v1.name, "threshold": "10",
                                                    "days": "90", "severity": "low", "products": "", "branches": "",
                                                    "change_reason": "放宽"})
    v2 = Rule.objects.get(key="amount-deviation", version=2)
    assert response.url == f"/risk/rules/{v2.pk}/" and v2.state == "draft"
    before = Flag.objects.count()
    response = client.post(f"/risk/rules/{v2.pk}/", {"action": "backtest", "as_of": "2026-11-25"})
    assert response.context["backtest"]["count"] == 2 and Flag.objects.count() == before


def test_the_risk_reviewer_lands_on_their_home(raised):
    flag_decide(flag=Flag.objects.get(rule_key="amount-deviation"), actor=raised["hq"], outcome="clear",
                reason="误报", as_of=dt.date.today())
    response = _client(raised["reviewer"]).get("/")
    assert response.templates[0].name == "risk/home.html"
    assert response.context["summary"]["open_count"] == 9


def test_the_monthly_list_has_the_large_cash_and_the_confirmed_cases(raised):
    client = _client(raised["hq"])
    response = client.get("/risk/compliance/", {"month": "2026-11"})
    assert [c.receipt_no for c in response.context["cash"]] == ["RRK0000000090"]
    assert response.context["cash_total"] == Decimal("50000.00")
    xlsx = client.get("/risk/compliance/", {"month": "2026-11", "format": "xlsx"})
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0]


def test_finance_records_a_counter_payment_on_its_page(raised):
    client = _client(raised["finance"])
    response = client.post("/billing/counter/", {"method": "cash", "amount": "60000.00", "value_date": "2026-11-20",
                                                 "payer_name": "柳六", "receipt_no": "R-77", "policy_no": ""})
    assert response.status_code == 302
    assert CounterPayment.objects.get(receipt_no="R-77").payment.amount == Decimal("60000.00")
    assert Flag.objects.filter(rule_key="large-cash", subject_key="name:柳六").exists()


def test_a_customer_pack_holds_every_flag_of_the_customer(raised):
    customer = raised["many-accounts"]
    response = _client(raised["reviewer"]).post(f"/risk/customers/{customer.pk}/pack/")
    names = sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist())
    flag = Flag.objects.get(rule_key="many-accounts")
    assert names == [f"flag_{flag.pk}_payments.csv", "summary.xlsx"]
    assert Operation.objects.filter(action="risk_customer_pack", object_ref=str(customer.pk)).count() == 1
    assert _client(raised["bj"]).post(f"/risk/customers/{customer.pk}/pack/").status_code == 404


def test_an_escalated_flag_is_decided_by_compliance(raised):
    flag = Flag.objects.get(rule_key="large-cash")
    flag_decide(flag=flag, actor=raised["reviewer"], outcome="escalate", reason="现金来源不明，上报合规", as_of=AS_OF)
    flag_decide(flag=flag, actor=raised["hq"], outcome="confirm", reason="合规部确认可疑，已报送", as_of=AS_OF)
    assert list(flag.reviews.values_list("action", "actor__username")) == [
        ("escalate", "risk_gz"), ("confirm", "risk_hq")]
    assert Flag.objects.get(pk=flag.pk).status == "confirmed"


def test_a_confirmed_flag_handed_off_is_a_case_in_the_policy_branch_team_queue_on_the_trail(raised, make_user):
    from renewals.models import Case, CaseHistory, WorkTeam
    from renewals.selectors_cases import case_queue_qs
    from renewals.services.teams import work_team_ensure

    clerk_gz = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    clerk_gd = make_user("clerk_gd", ["clerk"], ["GD"])
    work_team_ensure(name="广州续期组", kind=WorkTeam.Kind.RENEWAL, branch_codes=("GD-GZ",), members=[clerk_gz])
    work_team_ensure(name="广东续期组", kind=WorkTeam.Kind.RENEWAL, branch_codes=("GD",), members=[clerk_gd])
    flag = Flag.objects.get(rule_key="third-party-payer")
    client = _client(raised["reviewer"])
    page = client.get(f"/risk/flags/{flag.pk}/")
    assert "handoff_clerk" in page.content.decode()  # offered on the flag's page (registered by renewals)

    client.post(f"/risk/flags/{flag.pk}/decide/", {"outcome": "confirm", "reason": "代缴人身份不明，请核实",
                                                   "actions": ["handoff_clerk"]})

    case = Case.objects.get(policy=raised["third-party-payer"])
    assert (case.type, case.status, case.team.team.name, case.opened_by) == (
        "contact_repair", "open", "广州续期组", raised["reviewer"])
    # the rule, the flag's sentence in the reviewer's language (Chinese), the reviewer's reason
    for part in ("非投保人缴费", "保单 RK0000000020 由非投保人 李四（账户 ****0404）缴费 1 次", "代缴人身份不明，请核实"):
        assert part in case.question
    # in the Guangzhou team's queue, not in the province team's
    assert list(case_queue_qs(user=clerk_gz, queue="team", as_of=AS_OF)) == [case]
    assert list(case_queue_qs(user=clerk_gd, queue="team", as_of=AS_OF)) == []
    # on the trail: the case's opening, the hand-off naming the case, the confirmation naming the action
    assert list(CaseHistory.objects.filter(case=case).values_list("kind", "actor")) == [
        ("opened", raised["reviewer"].pk)]
    assert Operation.objects.get(action="risk_flag_handoff").details["cases"] == [case.pk]
    assert Operation.objects.get(action="risk_flag_confirm").details["actions"] == ["handoff_clerk"]
