"""E-mailed reports (issue 15): a branch manager's e-mail holds only their branches."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.test import Client
from openpyxl import load_workbook

from reporting.models import ReportSubscription
from reporting.services.subscriptions import kpi_reports

pytestmark = pytest.mark.django_db


def test_a_branch_managers_monthly_report_holds_only_their_branches(kpi_portfolio, make_user, django_capture_on_commit_callbacks):
    manager = make_user("manager_bj", ["manager"], ["BJ"])
    manager.email = "bj.manager@example.cn"
    manager.language = "en"
    manager.save(update_fields=["email", "language"])
    client = Client()
    client.force_login(manager)
    response = client.post("/reporting/subscriptions/", {"frequency": "monthly"})
    assert response.status_code == 302
    assert ReportSubscription.objects.get(user=manager).frequency == "monthly"

    with django_capture_on_commit_callbacks(execute=True):
        assert kpi_reports(dt.date(2027, 1, 2), 0, 2**62) == 0  # not the 1st: nothing due
        assert kpi_reports(dt.date(2027, 1, 1), 0, 2**62) == 1
        assert kpi_reports(dt.date(2027, 1, 1), 0, 2**62) == 0  # the night again: sent once
    [message] = mail.outbox
    assert message.to == ["bj.manager@example.cn"]
    assert "2026-12-01 to 2026-12-31" in message.subject
    # Beijing: C and D, 400.00 of 700.00 collected in time; nothing of Guangzhou
    assert "Collection rate: 57.14% (400.00 / 700.00)" in message.body
    assert "广州" not in message.body
    name, content, _type = message.attachments[0]
    book = load_workbook(io.BytesIO(content))
    branch_rows = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in branch_rows] == ["北京分公司"]

    client.post("/reporting/subscriptions/", {"cancel": str(ReportSubscription.objects.get(user=manager).pk)})
    assert not ReportSubscription.objects.get(user=manager).active
    other = make_user("manager_hq", ["manager"], ["HQ"])
    client.force_login(other)
    assert client.post("/reporting/subscriptions/", {"cancel": "999999"}).status_code == 404
