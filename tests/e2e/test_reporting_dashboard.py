"""A manager's journey in a real browser (issue 15): sign in, land on the dashboard, open
December, click the Guangzhou branch's collection rate, land on the three policies behind it
(reporting/tests/portfolio.py: 150.00 of 900.00), and export them to Excel."""

import io

import pytest
from openpyxl import load_workbook

from reporting.tests.portfolio import kpi_portfolio_build
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_drills_from_a_branchs_collection_rate_to_its_policies_and_exports_them(
        page, login, live_server, make_user):
    kpi_portfolio_build()
    make_user("manager", ["manager"], ["HQ"])
    login(page, "manager")
    assert page.locator("#kpi-cards").is_visible()  # the manager's home is the dashboard
    page.fill("#period-from", "2026-12-01")
    page.fill("#period-to", "2026-12-31")
    with page.expect_navigation():
        page.click("#period-form button[type=submit]")
    assert page.locator("[data-as-of]").first.get_attribute("data-as-of") == "2027-01-10"
    gz = page.locator('#slice-branch tr[data-slice="GD-GZ"] a[data-figure="collection_rate"]')
    assert gz.inner_text() == "16.67%"
    screenshot(page, "reporting-dashboard", element=page.locator("#slice-branch"))
    with page.expect_navigation():
        gz.click()
    assert "/reporting/drill/" in page.url and "branch=GD-GZ" in page.url
    assert page.locator("#drill-count").inner_text() == "3"
    policies = page.locator("#drill-rows tbody tr td:first-child a").all_inner_texts()
    assert policies == ["8860000000000101", "8860000000000102", "8860000000000105"]
    screenshot(page, "reporting-drill", element=page.locator("#drill-rows"))
    with page.expect_download() as download_info:
        page.click("#drill-export-xlsx")
    download = download_info.value
    assert download.suggested_filename == "collection_rate-2026-12-01-2026-12-31.xlsx"
    sheet = load_workbook(io.BytesIO(open(download.path(), "rb").read())).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "8860000000000101", "8860000000000102", "8860000000000105"]
