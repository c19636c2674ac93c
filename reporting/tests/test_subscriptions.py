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
    [(name, content, _type)] = [a for a in message.attachments if isinstance(a, tuple)]
    book = load_workbook(io.BytesIO(content))
    branch_rows = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in branch_rows] == ["北京分公司"]

    # the HTML part names one PNG per chart by Content-ID; each image travels inline with it
    mime = message.message()
    assert mime.get_content_type() == "multipart/related"
    [html] = [body for body, kind in message.alternatives if kind == "text/html"]
    pngs = [part for part in mime.walk() if part.get_content_type() == "image/png"]
    cids = [part["Content-ID"].strip("<>") for part in pngs]
    assert cids == ["chart-trend", "chart-branches", "chart-funnel", "chart-debits"]
    assert all(f'src="cid:{cid}"' in html for cid in cids)
    assert all(part.get_payload(decode=True).startswith(b"\x89PNG\r\n\x1a\n") for part in pngs)
    assert all(part["Content-Disposition"].startswith("inline") for part in pngs)
    # the HTML, like the text, holds Beijing's figures only
    assert "北京分公司" in html and "广州" not in html and "57.14%" in html

    client.post("/reporting/subscriptions/", {"cancel": str(ReportSubscription.objects.get(user=manager).pk)})
    assert not ReportSubscription.objects.get(user=manager).active
    other = make_user("manager_hq", ["manager"], ["HQ"])
    client.force_login(other)
    assert client.post("/reporting/subscriptions/", {"cancel": "999999"}).status_code == 404


def test_the_branch_chart_of_a_branch_managers_report_draws_only_their_branches(kpi_portfolio, make_user):
    """The PNG is drawn from the dashboard's chart data of the reader's branches: Beijing's
    collection rate alone (400.00 / 700.00 = 57.14%)."""
    from reporting.dashboard import dashboard_figures

    manager = make_user("manager_bj2", ["manager"], ["BJ"])
    figures = dashboard_figures(user=manager, date_from=dt.date(2026, 12, 1), date_to=dt.date(2026, 12, 31),
                                filters={})
    assert figures["chart_data"]["branches"]["names"] == ["北京分公司"]
    assert figures["chart_data"]["branches"]["rates"] == [57.14]
