"""The trail reads like a ledger (issue 12): who, when, what in words, the object as a policy
link, before → after with labels and values in the reader's language; filters; keyset pages that
neither skip nor repeat a row; the CSV and Excel exports the same."""

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from accounts.tests.factories import UserFactory
from audit.selectors import TrailCursor, TrailFilter, trail_page
from audit.services import audit_context, audit_event
from policies.models import Policy
from policies.services.status import policy_status_change

pytestmark = pytest.mark.django_db
GZ, BJ = "8860000000000001", "8860000000000002"


@pytest.fixture
def ledger(portfolio):
    """An import (in the portfolio), a change by a clerk's request, a status change by a night, a reveal."""
    clerk = UserFactory(username="clerk_gz", display_name="陈晓明", roles=["clerk"], branches=["GD-GZ"])
    policy = Policy.objects.select_related("holder").get(policy_no=GZ)
    # the import writes no row for a new policy: its first change has nothing before it to compare with
    Policy.objects.filter(pk=policy.pk).update(bank_name="中国建设银行")
    with audit_context(user=clerk.pk, username="clerk_gz"):
        Policy.objects.filter(pk=policy.pk).update(payment_method="bank_transfer")
    with audit_context(job="nightly:lapse", business_date="2027-01-30"):
        policy_status_change(policy=policy, status="lapsed", effective_date=dt.date(2027, 1, 30), source="nightly",
                             rule="lapse_after_grace")
    audit_event(obj=policy.holder, label="reveal", actor=clerk, field="holder_phone", policy_no=GZ)
    return clerk


def _auditor() -> Client:
    client = Client()
    client.force_login(UserFactory(username="auditor", roles=["auditor"], branches=["HQ"]))
    return client


def test_the_ledger_says_who_what_and_before_after_in_chinese(ledger):
    response = _auditor().get("/audit/", {"policy_no": GZ, "action": "update"})
    assert response.status_code == 200
    rows = response.context["rows"]
    change = next(r for r in rows if r.model == "policies.Policy" and r.username)
    assert (change.user, change.username, change.action_label, change.object_label) == ("陈晓明", "clerk_gz", "修改", "保单")
    assert change.policy_no == GZ
    assert ("交费方式", "银行代扣", "银行转账") in change.changes
    html = response.content.decode()
    assert f'href="/policies/{GZ}/"' in html
    assert "bank_transfer" not in html and "payment_method" not in html


def test_a_night_row_carries_its_business_date_and_job(ledger):
    rows = _auditor().get("/audit/", {"business_date": "2027-01-30"}).context["rows"]
    assert rows, "the night's rows"
    assert {r.business_date for r in rows} == {"2027-01-30"}
    assert {r.job for r in rows} == {"夜间批处理"}
    assert all(r.user == "" for r in rows)


def test_filters_by_user_policy_and_dates(ledger):
    client = _auditor()
    by_user = client.get("/audit/", {"username": "clerk_gz"}).context["rows"]
    assert {r.action for r in by_user} == {"update", "reveal"}
    assert client.get("/audit/", {"policy_no": BJ, "username": "clerk_gz"}).context["rows"] == []
    reveal = client.get("/audit/", {"action": "reveal"}).context["rows"]
    assert [(r.model, r.policy_no, r.revealed) for r in reveal] == [("policies.Customer", GZ, "holder_phone")]
    assert "13812345678" not in client.get("/audit/", {"action": "reveal"}).content.decode()
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    empty = client.get("/audit/", {"date_from": tomorrow.isoformat()})
    assert empty.context["rows"] == [] and 'id="trail-empty" data-filtered="1"' in empty.content.decode()
    refused = client.get("/audit/", {"date_from": "2026-12-02", "date_to": "2026-12-01"})
    assert refused.context["form"].errors["date_to"] == ["结束日期不能早于开始日期。"]


def test_keyset_pages_neither_skip_nor_repeat(ledger):
    everything, last = trail_page(filters=TrailFilter(), size=10_000)
    assert last is None and len(everything) > 10
    seen, after = [], None
    while True:
        rows, after = trail_page(filters=TrailFilter(), after=after, size=3)
        seen.extend((type(r)._meta.label, r.pgh_id) for r in rows)
        if after is None:
            break
        assert TrailCursor.decode(after.encode()) == after
    assert seen == [(type(r)._meta.label, r.pgh_id) for r in everything]
    assert len(set(seen)) == len(seen)


def test_a_bad_cursor_is_the_first_page(ledger):
    response = _auditor().get("/audit/", {"after": "not-a-cursor"})
    assert response.status_code == 200 and response.context["rows"]


def test_exports_are_the_ledger_with_chinese_headers(ledger):
    client = _auditor()
    response = client.get("/audit/export.csv", {"policy_no": GZ, "action": "update"})
    body = b"".join(response.streaming_content).decode()
    table = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert table[0][:3] == ["时间", "业务日期", "操作人"]
    policy_row = next(r for r in table[1:] if r[6] == "保单" and r[3] == "clerk_gz")
    assert policy_row[2] == "陈晓明" and policy_row[7] == GZ and "交费方式: 银行代扣 → 银行转账" in policy_row[9]
    response = client.get("/audit/export.xlsx", {"policy_no": GZ, "action": "update"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    lines = list(sheet.iter_rows(values_only=True))
    assert sheet.title == "操作轨迹" and lines[0][0] == "时间"
    assert [line[9] for line in lines[1:]] == [row[9] for row in table[1:]]


def test_exports_need_export_trail(ledger):
    client = Client()
    client.force_login(UserFactory(roles=["team_lead"], branches=["HQ"]))
    assert client.get("/audit/export.xlsx").status_code == 403


def test_the_policy_page_shows_the_policy_ledger(ledger):
    client = Client()
    client.force_login(ledger)
    response = client.get(f"/policies/{GZ}/")
    kinds = {(r.model, r.action) for r in response.context["trail"]}
    assert {("policies.Policy", "update"), ("policies.Customer", "reveal")} <= kinds
    assert all(r.policy_no == GZ for r in response.context["trail"])
