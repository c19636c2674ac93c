"""The KPIs of the hand-built portfolio (reporting/tests/conftest.py), worked out by hand, through
`manage.py kpi --json`, the API and the dashboard. One scenario, several checks: its six nights
are the slow part."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from billing.services.schedules import policy_id_chunks
from reporting.models import DailyFact, MonthClose, Restatement
from reporting.selectors import persistency_curves
from reporting.services.snapshot import kpi_snapshot

pytestmark = pytest.mark.django_db

DECEMBER = {
    # due 2026-12-01: A 100 + B 300 + C 300 + D 400 + E 500 = 1600.00; in time: A 100 (debit),
    # B 50 (partial), D 400 (valued 12-20, imported 01-04: restated); C nothing, E late (01-03)
    "collection_rate": {"numerator": "550.00", "denominator": "1600.00", "rate": "0.3438"},
    # A's line paid, B's failed
    "payment_success_rate": {"numerator": "1", "denominator": "2", "rate": "0.5000"},
    "lapse_rate": {"numerator": "0", "denominator": "5", "rate": "0.0000"},
    "reinstatement_rate": {"numerator": "0", "denominator": "0", "rate": None},
    # month 13 of A and B (issued 2025-12-01) began 2026-12-01: A paid 100 of 100, B 50 of 300
    "persistency_13": {"numerator": "150.00", "denominator": "400.00", "rate": "0.3750"},
    "persistency_13_count": {"numerator": "1", "denominator": "2", "rate": "0.5000"},
    "persistency_25": {"numerator": "0.00", "denominator": "0.00", "rate": None},
    "persistency_25_count": {"numerator": "0", "denominator": "0", "rate": None},
}
JANUARY = {
    # due 2027-01-01: the same 1600.00, nothing paid for it yet; C and E lapsed on 01-01, C was
    # reinstated on 01-08 (of the 2 lapsed in the two years to 01-31); the 01-01 debits await the bank
    "collection_rate": {"numerator": "0.00", "denominator": "1600.00", "rate": "0.0000"},
    "payment_success_rate": {"numerator": "0", "denominator": "0", "rate": None},
    "lapse_rate": {"numerator": "2", "denominator": "5", "rate": "0.4000"},
    "reinstatement_rate": {"numerator": "1", "denominator": "2", "rate": "0.5000"},
}


def _kpi(*args) -> list[dict]:
    out = io.StringIO()
    call_command("kpi", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def _without_contacts(rows: list[dict]) -> list[dict]:
    for row in rows:
        assert set(row["contact_rate"]) == {"numerator", "denominator", "rate"}  # provisional: not asserted
        row.pop("contact_rate")
    return rows


def test_the_hand_built_portfolio_through_the_command_the_api_and_the_page(kpi_portfolio, make_user):
    # the command: the whole portfolio, December (whole month: read from the monthly rollup)
    december = _without_contacts(_kpi("--from", "2026-12-01", "--to", "2026-12-31"))
    assert december == [{"slice": {}, "from": "2026-12-01", "to": "2026-12-31", "data_as_of": "2027-01-10",
                         **DECEMBER}]
    # the same due day read from the daily facts (half a month) gives the same collection figure
    half = _kpi("--from", "2026-12-01", "--to", "2026-12-15")[0]
    assert half["collection_rate"] == DECEMBER["collection_rate"]
    january = _kpi("--from", "2027-01-01", "--to", "2027-01-31")[0]
    assert {k: january[k] for k in JANUARY} == JANUARY

    # by branch: BJ = C + D (700.00 due, D's 400.00 in time); GD-GZ = A + B + E (900.00, 150.00)
    by_branch = _without_contacts(_kpi("--from", "2026-12-01", "--to", "2026-12-31", "--by", "branch"))
    assert [(r["slice"], r["collection_rate"], r["payment_success_rate"]) for r in by_branch] == [
        ({"branch": "BJ"}, {"numerator": "400.00", "denominator": "700.00", "rate": "0.5714"},
         {"numerator": "0", "denominator": "0", "rate": None}),
        ({"branch": "GD-GZ"}, {"numerator": "150.00", "denominator": "900.00", "rate": "0.1667"},
         {"numerator": "1", "denominator": "2", "rate": "0.5000"}),
    ]

    # the API gives the same list, within the caller's branches
    api = Client()
    api.force_login(make_user("manager_hq", ["manager"], ["HQ"]))
    response = api.get("/api/v1/kpis/", {"from": "2026-12-01", "to": "2026-12-31", "by": "branch"})
    assert response.status_code == 200
    assert _without_contacts(response.json()) == by_branch
    bj = Client()
    bj.force_login(make_user("manager_bj", ["manager"], ["BJ"]))
    rows = bj.get("/api/v1/kpis/", {"from": "2026-12-01", "to": "2026-12-31", "by": "branch"}).json()
    assert [r["slice"] for r in rows] == [{"branch": "BJ"}]
    whole = bj.get("/api/v1/kpis/", {"from": "2026-12-01", "to": "2026-12-31"}).json()[0]
    assert whole["collection_rate"] == {"numerator": "400.00", "denominator": "700.00", "rate": "0.5714"}
    assert bj.get("/api/v1/kpis/", {"from": "2026-12-01"}).status_code == 400
    assert bj.get("/api/v1/kpis/", {"from": "2026-12-01", "to": "2026-12-31", "by": "colour"}).status_code == 400
    clerk = Client()
    clerk.force_login(make_user("underwriter", ["underwriter"], ["HQ"]))
    assert clerk.get("/api/v1/kpis/", {"from": "2026-12-01", "to": "2026-12-31"}).status_code == 403

    # the page: the manager lands on it, every figure with its data-as-of date
    response = api.get("/", {"from": "2026-12-01", "to": "2026-12-31"})
    assert response.templates[0].name == "reporting/dashboard.html"
    html = response.content.decode()
    assert 'data-as-of="2027-01-10"' in html and "34.38%" in html and "57.14%" in html and "16.67%" in html
    cards = {c["metric"].code: c for c in response.context["cards"]}
    assert cards["collection_rate"]["figure"]["numerator"] == "550.00"
    gz_row = next(r for r in response.context["slices"]["branch"] if r["value"] == "GD-GZ")
    assert gz_row["url"] == "/reporting/drill/?metric=collection_rate&from=2026-12-01&to=2026-12-31&branch=GD-GZ"

    # the dashboard's Excel: a sheet for the summary and one per slice, headers frozen
    book = load_workbook(io.BytesIO(api.get("/reporting/", {"from": "2026-12-01", "to": "2026-12-31",
                                                            "export": "xlsx"}).content))
    assert len(book.sheetnames) == 5 and book.worksheets[1].freeze_panes == "B2"
    branch_sheet = book.worksheets[1]
    assert [c.value for c in branch_sheet[2]][:4] == ["北京分公司", 400, 700, 0.5714]
    assert branch_sheet["D2"].number_format == "0.00%" and branch_sheet["B2"].number_format == "#,##0.00"

    # the drill-down: the three GD-GZ installments behind 150.00 / 900.00, phones masked
    drill = api.get(gz_row["url"])
    assert drill.context["count"] == 3
    assert [(r[0], str(r[7]), str(r[8])) for r in drill.context["rows"]] == [
        ("8860000000000101", "100.00", "100.00"), ("8860000000000102", "300.00", "50.00"),
        ("8860000000000105", "500.00", "0.00")]
    assert "138****5678" in drill.content.decode() and "13812345678" not in drill.content.decode()
    assert bj.get(gz_row["url"]).context["count"] == 0  # another branch's policies: none shown
    assert len(api.get(gz_row["url"] + "&page=9").context["rows"]) == 3  # past the end: the last page
    book = load_workbook(io.BytesIO(api.get(gz_row["url"] + "&export=xlsx").content))
    sheet = book.active
    assert sheet.freeze_panes == "B2" and sheet["A2"].value == "8860000000000101"
    assert sheet["H2"].number_format == "#,##0.00" and sheet["F2"].number_format == "yyyy-mm-dd"
    csv_text = api.get(gz_row["url"] + "&export=csv").content.decode("utf-8-sig")
    assert len(csv_text.strip().splitlines()) == 4
    lapses = api.get("/reporting/drill/", {"metric": "lapse_rate", "from": "2027-01-01", "to": "2027-01-31"})
    assert [r[0] for r in lapses.context["rows"]] == ["8860000000000103", "8860000000000105"]
    failed = api.get("/reporting/drill/", {"metric": "payment_success_rate", "from": "2026-12-01", "to": "2026-12-31",
                                           "bank": "中国建设银行", "reason": "insufficient_funds"})
    assert [r[0] for r in failed.context["rows"]] == ["8860000000000102"]

    # restated days: 12-01 twice, by the bank's answers and B's money (night 12-10), by D's
    # back-dated money and E's late money (night 01-05)
    restated = list(Restatement.objects.order_by("as_of"))
    assert [(r.as_of, r.day, r.before["premium_received"], r.after["premium_received"]) for r in restated] == [
        (dt.date(2026, 12, 10), dt.date(2026, 12, 1), "0.00", "150.00"),
        (dt.date(2027, 1, 5), dt.date(2026, 12, 1), "150.00", "550.00"),
    ]
    assert (restated[0].before["debit_lines_failed"], restated[0].after["debit_lines_failed"]) == ("0", "1")
    # causes: the whole test is one transaction, so rows written by SQL carry its start time (the
    # debit bookings); those written by the ORM carry their own (B's, D's and E's money)
    assert restated[0].causes["debit_results"] == 2 and restated[0].causes["money_imported"] >= 1
    assert restated[1].causes == {"money_imported": 2}
    page = api.get("/reporting/restatements/")
    assert page.status_code == 200 and "2026-12-01" in page.content.decode() and "550.00" in page.content.decode()
    # the figures before and after are the whole company's: not for a branch's manager
    assert "550.00" not in bj.get("/reporting/restatements/").content.decode()
    assert "57.14%" in bj.get("/", {"from": "2026-12-01", "to": "2026-12-31"}).content.decode()

    # a night done again changes nothing
    facts = list(DailyFact.objects.order_by("id").values_list("day", "premium_due", "premium_received"))
    for lo, hi in policy_id_chunks():
        kpi_snapshot(dt.date(2027, 1, 10), lo, hi)
    assert sorted(DailyFact.objects.values_list("day", "premium_due", "premium_received")) == sorted(facts)
    assert Restatement.objects.count() == 2

    # a persistency cohort by hand. Issued 2025-12: A and B reached month 13 on 2026-12-01, A
    # paid, B paid 50 of 300. Issued 2020-12: C, D, E; months 13 to 61 predate their first import
    # (paid to 2026-12-01), so they are derived from the feed as paid.
    manager = make_user("manager", ["manager"], ["HQ"])
    curves = persistency_curves(user=manager)
    cohort_2025 = [c for c in curves if c["year"] == 2025]
    assert [(c["month_n"], c["policies_due"], c["policies_persisting"], str(c["count_rate"]), str(c["premium_due"]),
             str(c["premium_received"]), str(c["premium_rate"]), c["derived"]) for c in cohort_2025] == [
        (13, 2, 1, "0.5000", "400.00", "150.00", "0.3750", 0)]
    cohort_2020 = [(c["month_n"], c["policies_due"], c["policies_persisting"], c["derived"])
                   for c in curves if c["year"] == 2020]
    assert cohort_2020 == [(13, 3, 3, 3), (25, 3, 3, 3), (37, 3, 3, 3), (49, 3, 3, 3), (61, 3, 3, 3)]
    assert "37.50%" in api.get("/reporting/persistency/").content.decode()


def test_other_slices_and_the_text_output(kpi_portfolio, make_user):
    from renewals.tests.factories import TeamFactory

    # by product: WL20 = A + B + D (800.00 due; 100 + 50 + 400 in time), H30 = C + E (800.00, none)
    by_product = _kpi("--from", "2026-12-01", "--to", "2026-12-31", "--by", "product")
    assert [(r["slice"], r["collection_rate"]["numerator"], r["collection_rate"]["denominator"],
             r["collection_rate"]["rate"]) for r in by_product] == [
        ({"product": "H30"}, "0.00", "800.00", "0.0000"), ({"product": "WL20"}, "550.00", "800.00", "0.6875")]
    by_agent = _kpi("--from", "2026-12-01", "--to", "2026-12-31", "--by", "agent")
    assert [(r["slice"], r["collection_rate"]["denominator"]) for r in by_agent] == [
        ({"agent": "AG101"}, "400.00"), ({"agent": "AG102"}, "500.00"), ({"agent": "AG201"}, "700.00")]
    by_method = _kpi("--from", "2026-12-01", "--to", "2026-12-31", "--by", "payment_method")
    assert [r["slice"] for r in by_method] == [{"payment_method": "auto_debit"}, {"payment_method": "bank_transfer"}]
    # a team's figures are its members' branches' (provisional): Beijing's clerks see C and D
    TeamFactory(name="北京续期一组", members=[make_user("clerk_bj", ["clerk"], ["BJ"])])
    [row] = _kpi("--from", "2026-12-01", "--to", "2026-12-31", "--by", "team")
    assert (row["slice"], row["collection_rate"]["rate"]) == ({"team": "北京续期一组"}, "0.5714")
    out = io.StringIO()
    call_command("kpi", "--from", "2026-12-01", "--to", "2026-12-31", stdout=out)
    assert "collection_rate: 550.00 / 1600.00 = 0.3438" in out.getvalue()
    assert "data as of 2027-01-10" in out.getvalue()


def test_a_closed_month_keeps_its_figures_as_reported(kpi_portfolio, make_user):
    """A closed month's figures stay as reported beside the current ones. Closed now, December is
    550.00 of 1600.00; its reported figure is then set to what a close before D's back-dated money
    would have kept (150.00 of 1600.00), and the dashboard shows both."""
    with pytest.raises(SystemExit):  # January has not ended by the data-as-of date (2027-01-10)
        call_command("kpi_close_month", "--month", "2027-01", stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("kpi_close_month", "--month", "2026-12", "--json", stdout=out)
    closed = json.loads(out.getvalue())
    assert closed["collection_rate"] == DECEMBER["collection_rate"]
    # as if it had been closed before D's money arrived: the figures then
    figures = MonthClose.objects.get().figures
    figures["all"]["collection_rate"] = {"numerator": "150.00", "denominator": "1600.00", "rate": "0.0938"}
    MonthClose.objects.update(figures=figures)
    client = Client()
    client.force_login(make_user("manager", ["manager"], ["HQ"]))
    html = client.get("/reporting/", {"from": "2026-12-01", "to": "2026-12-31"}).content.decode()
    assert 'id="month-closed"' in html and "9.38%" in html and "34.38%" in html
    with pytest.raises(SystemExit):  # closed once
        call_command("kpi_close_month", "--month", "2026-12", stdout=io.StringIO(), stderr=io.StringIO())


COMPACT_CHECKS = {
    # compact table: (its key columns, the same sums grouped from the chunks' facts)
    "reporting_slicedayfact": ("day", "SELECT day, {s4}, {fig} FROM reporting_dailyfact GROUP BY day, {s4}"),
    "reporting_slicemonthfact": ("month", "SELECT date_trunc('month', day)::date, {s4}, {fig} FROM reporting_dailyfact "
                                          "GROUP BY 1, {s4}"),
    "reporting_slicedebitfact": ("day, bank_name, reason", "SELECT day, bank_name, reason, {s4}, {fig} "
                                 "FROM reporting_debitfact GROUP BY day, bank_name, reason, {s4}"),
    "reporting_slicepersistencyfact": ("cohort, month_n, derived", "SELECT cohort, month_n, derived, {s4}, {fig} "
                                       "FROM reporting_persistencyfact GROUP BY cohort, month_n, derived, {s4}"),
}


def _compact_and_full() -> list[tuple[set, set]]:
    from django.db import connection

    from reporting.services.snapshot import DAY_FIGURES, DEBIT_FIGURES, PERSISTENCY_FIGURES

    s4 = "branch_id, product_id, payment_method, sales_channel"
    figures = {"reporting_slicedayfact": DAY_FIGURES, "reporting_slicemonthfact": DAY_FIGURES,
               "reporting_slicedebitfact": DEBIT_FIGURES, "reporting_slicepersistencyfact": PERSISTENCY_FIGURES}
    out = []
    with connection.cursor() as cursor:
        for table, (keys, full_sql) in COMPACT_CHECKS.items():
            names = figures[table]
            cursor.execute(f"SELECT {keys}, {s4}, {', '.join(names)} FROM {table} "
                           f"WHERE {' OR '.join(f'{n} <> 0' for n in names)}")
            compact = set(cursor.fetchall())
            cursor.execute(full_sql.format(s4=s4, fig=", ".join(f"sum({n})" for n in names)))
            full = {row for row in cursor.fetchall() if any(v != 0 for v in row[-len(names):])}
            out.append((compact, full))
    return out


def test_the_compact_tables_hold_the_chunks_sums_after_restatements_and_a_rebuild(kpi_portfolio):
    # the dashboard reads the compact tables (no agent, no chunk); each chunk adds its difference
    # at every snapshot: after the scenario's six nights, one of them restating December ...
    pairs = _compact_and_full()
    assert all(full for _compact, full in pairs)
    for compact, full in pairs:
        assert compact == full
    # ... and after every chunk was rebuilt from scratch: nothing counted twice
    call_command("kpi_rebuild", "--as-of", "2027-01-10", stdout=io.StringIO())
    for compact, full in _compact_and_full():
        assert compact == full


def test_the_night_prepares_each_scope_s_dashboard_and_a_past_night_does_not(kpi_portfolio, make_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reporting.services.warm import kpi_warm

    make_user("manager_hq", ["manager"], ["HQ"])
    bj = make_user("manager_bj", ["manager"], ["BJ"])
    make_user("manager_bj2", ["manager"], ["BJ"])  # the same scope as manager_bj: computed once
    assert kpi_warm(dt.date(2020, 1, 10), 0, 0) == 0  # a past date caught up: nobody reads it
    assert kpi_warm(dt.date(2027, 1, 10), 0, 0) == 2
    client = Client()
    client.force_login(bj)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/reporting/", {"from": "2027-01-01", "to": "2027-01-10"})
    assert response.status_code == 200
    # the figures came from the cache: no fact table was read for the page
    assert not [q for q in queries.captured_queries if "reporting_slice" in q["sql"] or "fact" in q["sql"]]
