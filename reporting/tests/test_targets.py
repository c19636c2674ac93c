"""Branch targets (issue 15): set by managers on their page (errors beside the fields, every change
in the trail), shown against the actuals on the dashboard and in the API. December's actuals of
the hand-built portfolio (reporting/tests/portfolio.py) by hand:
  BJ     C 300 + D 400 = 700.00 due, D's 400.00 in time          -> 0.5714
  GD-GZ  A 100 + B 300 + E 500 = 900.00 due, A 100 + B 50 in time -> 0.1667 (GD: the same, its only child)
"""

from decimal import Decimal

import pytest
from django.apps import apps
from django.test import Client

from reporting.models import KpiTarget

pytestmark = pytest.mark.django_db
DECEMBER = {"from": "2026-12-01", "to": "2026-12-31"}


def _set(client, **data):
    return client.post("/reporting/targets/", {"metric": "collection_rate", "period": "month", **data})


def test_managers_set_targets_and_the_dashboard_and_api_show_them_against_actuals(kpi_portfolio, make_user):
    hq_manager, bj_manager = make_user("manager_hq", ["manager"], ["HQ"]), make_user("manager_bj", ["manager"], ["BJ"])
    hq, bj = Client(), Client()
    hq.force_login(hq_manager)
    bj.force_login(bj_manager)
    branch = {code: pk for code, pk in apps.get_model("policies", "Branch").objects.values_list("code", "pk")}

    # given: HQ sets 10% for Guangdong in December, then changes it to 12%; BJ's manager sets 50% for
    # the fourth quarter and 60% for December
    assert _set(hq, branch=branch["GD"], start="2026-12", target="10").status_code == 302
    assert _set(hq, branch=branch["GD"], start="2026-12", target="12").status_code == 302
    assert _set(bj, branch=branch["BJ"], period="quarter", start="2026-10", target="50").status_code == 302
    assert _set(bj, branch=branch["BJ"], start="2026-12", target="60.00").status_code == 302
    assert KpiTarget.objects.count() == 3

    # errors show beside the field they concern, nothing is saved
    response = _set(bj, branch=branch["BJ"], period="quarter", start="2026-12", target="50")
    assert response.status_code == 400
    assert response.context["form"].errors == {"start": ["季度须从一月、四月、七月或十月开始。"]}
    assert 'data-error-for="start"' in response.content.decode()
    response = _set(bj, branch=branch["BJ"], start="2026-12", target="abc")
    assert response.context["form"].errors == {"target": ["请输入百分比，例如 95.5。"]}
    response = _set(bj, branch=branch["BJ"], start="2026-12", target="101")
    assert response.context["form"].errors == {"target": ["请输入 0 到 100 之间的百分比。"]}
    response = _set(bj, branch=branch["GD"], start="2026-12", target="50")  # not one of BJ's branches
    assert list(response.context["form"].errors) == ["branch"]
    response = _set(bj, branch=branch["BJ"], start="December", target="50")
    assert response.context["form"].errors == {"start": ["请按 YYYY-MM 格式输入月份。"]}
    clerk = Client()
    clerk.force_login(make_user("clerk", ["clerk"], ["HQ"]))
    assert _set(clerk, branch=branch["BJ"], start="2026-12", target="50").status_code == 403
    assert KpiTarget.objects.count() == 3

    # the trail: who set Guangdong's target, and its change from 10% to 12%
    gd = KpiTarget.objects.get(branch__code="GD")
    events = apps.get_model("reporting", "KpiTargetEvent").objects.filter(pgh_obj_id=gd.pk).order_by("pgh_id")
    assert [(e.pgh_label, e.target, e.pgh_context.metadata["username"]) for e in events] == [
        ("create", Decimal("0.1000"), "manager_hq"), ("update", Decimal("0.1200"), "manager_hq")]

    # the dashboard of December: BJ's month target (60%) beats its quarter's; actual 0.5714, 2.86
    # points short. GD: 12% against 0.1667, 4.67 points above
    rows = hq.get("/reporting/", DECEMBER).context["targets"]
    assert [(r["branch"].code, str(r["rate"]), str(r["actual"]), f"{r['gap']:.2f}", r["met"]) for r in rows] == [
        ("BJ", "0.6000", "0.5714", "-2.86", False), ("GD", "0.1200", "0.1667", "4.67", True)]
    # the fourth quarter: only BJ's quarter target holds it
    rows = hq.get("/reporting/", {"from": "2026-10-01", "to": "2026-12-31"}).context["targets"]
    assert [(r["branch"].code, str(r["rate"])) for r in rows] == [("BJ", "0.5000")]

    # the API, within the caller's branches: BJ's manager sees BJ's
    assert bj.get("/api/v1/kpis/targets/", DECEMBER).json() == [{
        "branch": "BJ", "metric": "collection_rate", "period": "month", "period_from": "2026-12-01",
        "period_to": "2026-12-31", "target": "0.6000",
        "actual": {"numerator": "400.00", "denominator": "700.00", "rate": "0.5714"},
        "gap_points": "-2.86", "met": False}]
    assert bj.get("/api/v1/kpis/targets/", {"from": "2026-12-01"}).status_code == 400
    # the targets page lists BJ's two for BJ's manager
    assert [t.branch.code for t in bj.get("/reporting/targets/").context["page"]] == ["BJ", "BJ"]


def test_a_lapse_rate_target_is_met_at_or_below_it(kpi_portfolio, make_user):
    """Lower is better for the lapse rate: any actual (a rate of at most 1) meets a 100% target, and
    a target is missed when the actual is above it (the collection rate: the other way round)."""
    client = Client()
    client.force_login(make_user("manager_hq", ["manager"], ["HQ"]))
    gd = apps.get_model("policies", "Branch").objects.get(code="GD").pk
    assert _set(client, metric="lapse_rate", branch=gd, start="2026-12", target="100").status_code == 302
    [row] = client.get("/reporting/", DECEMBER).context["targets"]
    assert row["actual"] is not None and row["actual"] <= 1
    assert row["met"] is True
