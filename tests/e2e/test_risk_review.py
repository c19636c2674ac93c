"""A risk reviewer's day in a real browser (issue 17): signs in to the risk home, claims the next
flag, reads its evidence, confirms it with a reason handing the policy to a clerk of its team, and
exports the evidence pack."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from renewals.models import Case, WorkTeam
from renewals.selectors_cases import case_queue_qs
from renewals.services.teams import work_team_ensure
from risk.models import Flag, Review, Rule
from risk.services.evaluation import risk_aggregate, risk_evaluate
from risk.tests.conftest import customer, paid, policy
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AS_OF = dt.date(2026, 11, 25)


def test_a_reviewer_claims_a_flag_reads_the_evidence_confirms_it_and_exports_the_pack(
    live_server, reference_data, make_user, page, login,
):
    # a transactional test may have emptied the shipped rules: the one this journey needs
    Rule.objects.get_or_create(key="third-party-payer", version=1, defaults=dict(
        kind="third_party_payer", name="非投保人缴费", threshold=Decimal("1"), severity="low",
        params={"days": 365}, state="active"))
    gz = policy("RK0000000020", customer("郑四"))
    paid(gz, "1000.00", on=dt.date(2026, 9, 1), payer_name="李四", payer_account="6222000000000404")
    risk_aggregate(AS_OF, 0, 2**62)
    risk_evaluate(AS_OF, 0, 2**62)
    flag = Flag.objects.get()
    make_user("risk_gz", ["risk_reviewer"], ["GD-GZ"])
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    work_team_ensure(name="广州续期组", kind=WorkTeam.Kind.RENEWAL, branch_codes=("GD-GZ",), members=[clerk])

    login(page, "risk_gz")
    expect(page.locator("[data-kpi=open]")).to_have_text("1")
    with page.expect_navigation():
        page.click("main form[action$='/risk/claim-next/'] button[type=submit]")
    assert page.url.endswith(f"/risk/flags/{flag.pk}/")
    evidence = page.locator("#evidence table[data-section=payments]")
    expect(evidence).to_contain_text("李四")
    expect(evidence).to_contain_text("****0404")  # the account masked on screen
    expect(page.locator("#flag-sentence")).to_contain_text("RK0000000020")
    screenshot(page, "risk-flag-evidence", element=page.locator("#evidence"))

    page.select_option("#decide-form select[name=outcome]", "confirm")
    page.fill("#decide-form textarea[name=reason]", "代缴人与投保人无亲属关系，已核实")
    page.check("#decide-form input[name=actions][value=handoff_clerk]")
    with page.expect_navigation():
        page.click("#decide-form button[type=submit]")
    flag.refresh_from_db()
    assert (flag.status, flag.outcome_reason) == ("confirmed", "代缴人与投保人无亲属关系，已核实")
    expect(page.locator("#reviews")).to_contain_text("代缴人与投保人无亲属关系，已核实")
    # the hand-off: a case with the flag's reason in the Guangzhou renewal team's queue
    case = Case.objects.get(policy=gz)
    assert "代缴人与投保人无亲属关系，已核实" in case.question and "RK0000000020" in case.question
    assert list(case_queue_qs(user=clerk, queue="team", as_of=AS_OF)) == [case]

    with page.expect_download() as download_info:
        page.click("#pack-form button[type=submit]")
    archive = zipfile.ZipFile(io.BytesIO(open(download_info.value.path(), "rb").read()))
    assert sorted(archive.namelist()) == ["evidence_payments.csv", "summary.xlsx"]
    rows = archive.read("evidence_payments.csv").decode("utf-8-sig")
    assert "李四" in rows and "6222000000000404" in rows  # in full for the regulator (the export is on the trail)
    assert list(Review.objects.filter(flag=flag).values_list("action", flat=True)) == ["claim", "confirm", "pack"]
