import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from conftest import AS_OF, BJ_POLICY, GZ_POLICY, policies_csv
from policies.models import Agent, Customer, Policy, PolicyImport, PolicyStatusChange
from policies.services.imports import policies_import

pytestmark = pytest.mark.django_db


def _import(data: bytes, name="policies.csv", as_of=AS_OF) -> dict:
    return policies_import(files=[(name, data)], as_of=as_of)["files"][0]


def test_first_import_creates_policies_customers_agents_and_history(portfolio):
    gz = Policy.objects.select_related("holder", "insured", "agent", "branch", "product").get(
        policy_no="8860000000000001")
    assert gz.modal_premium == Decimal("300.00")
    assert gz.paid_to_date == dt.date(2026, 11, 30)
    assert gz.holder == gz.insured  # no insured columns: the holder is the insured
    assert gz.holder.id_no == "11010519491231002X"
    assert gz.holder.birth_date == dt.date(1949, 12, 31)
    assert gz.agent.code == "AG001" and gz.agent.status == "active"
    assert Agent.objects.get(code="AG002").status == "left"
    bj = Policy.objects.get(policy_no="8860000000000002")
    assert bj.holder.gender == "F"  # read from the ID number's 17th digit when the feed is silent
    assert bj.holder.birth_date == dt.date(1980, 1, 1)
    assert list(PolicyStatusChange.objects.filter(policy=gz).values_list("status", "effective_date")) == [
        ("in_force", dt.date(2020, 1, 31))]


def test_resending_the_same_file_changes_nothing(portfolio):
    report = _import(policies_csv(GZ_POLICY, BJ_POLICY))
    assert (report["rows"], report["created"], report["updated"], report["unchanged"], report["rejected"]) == (
        2, 0, 0, 2, 0)
    assert PolicyStatusChange.objects.count() == 2


def test_changed_row_updates_and_writes_the_trail(portfolio):
    changed = GZ_POLICY.replace("300.00,100000.00", "320.00,100000.00")
    report = _import(policies_csv(changed, BJ_POLICY))
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 1)
    policy = Policy.objects.get(policy_no="8860000000000001")
    assert policy.modal_premium == Decimal("320.00")
    event = policy.events.order_by("-pgh_id").first()
    assert event.pgh_label == "update"
    assert event.modal_premium == Decimal("320.00")
    assert event.pgh_context.metadata["job"] == "import_policies:policies.csv"


def test_feed_paid_to_date_is_not_applied_after_first_import(portfolio):
    later = GZ_POLICY.replace("2026-11-30,in_force", "2026-12-31,in_force")
    _import(policies_csv(later))
    policy = Policy.objects.get(policy_no="8860000000000001")
    assert policy.paid_to_date == dt.date(2026, 11, 30)  # ours
    assert policy.feed_paid_to_date == dt.date(2026, 12, 31)  # kept for the consistency report


def test_status_change_from_a_later_feed_takes_effect_on_the_business_date(portfolio):
    surrendered = BJ_POLICY.replace(",in_force,", ",surrendered,")
    _import(policies_csv(surrendered), as_of=dt.date(2026, 12, 1))
    history = list(PolicyStatusChange.objects.filter(policy__policy_no="8860000000000002")
                   .order_by("effective_date").values_list("status", "effective_date", "rule"))
    assert history == [("in_force", dt.date(2024, 2, 29), "feed_first_import"),
                       ("surrendered", dt.date(2026, 12, 1), "feed_status_change")]


def test_bad_rows_are_reported_with_line_key_column_and_reason_and_the_rest_imports(reference_data):
    bad_id = GZ_POLICY.replace("8860000000000001", "8860000000000003").replace("11010519491231002X",
                                                                                "110105194912310021")
    no_product = BJ_POLICY.replace("8860000000000002,H30", "8860000000000004,NOPE")
    report = _import(policies_csv(GZ_POLICY, bad_id, BJ_POLICY, no_product))
    assert (report["rows"], report["created"], report["rejected"]) == (4, 2, 2)
    assert report["errors"] == [
        {"line": 3, "key": "8860000000000003", "column": "holder_id_no", "reason": "check digit is 1, expected X"},
        {"line": 5, "key": "8860000000000004", "column": "product_code", "reason": "unknown product 'NOPE'"},
    ]
    assert set(Policy.objects.values_list("policy_no", flat=True)) == {"8860000000000001", "8860000000000002"}
    kept = PolicyImport.objects.get()
    assert kept.rejected == 2 and kept.report["errors"][0]["line"] == 3


def test_line_numbers_are_physical_lines_with_quoted_newlines(reference_data):
    multiline = GZ_POLICY.replace("广州市天河区中山路1号", '"广州市天河区\n中山路1号"')
    bad = BJ_POLICY.replace(",annual,", ",weekly,")
    report = _import(policies_csv(multiline, bad))
    assert report["errors"] == [{"line": 4, "key": "8860000000000002", "column": "frequency",
                                 "reason": "'weekly' is not one of annual, semiannual, quarterly, monthly"}]
    assert Customer.objects.get(id_no="11010519491231002X").address == "广州市天河区\n中山路1号"


def test_gbk_and_utf8_bom_files_import_the_same(reference_data):
    gbk = _import(policies_csv(GZ_POLICY).decode().encode("gbk"))
    assert gbk["created"] == 1
    assert Customer.objects.get(id_no="11010519491231002X").name == "张伟"
    bom = _import(b"\xef\xbb\xbf" + policies_csv(GZ_POLICY, BJ_POLICY))
    assert (bom["created"], bom["unchanged"]) == (1, 1)


def test_files_in_any_order_are_imported_branches_first(db):
    from conftest import BRANCHES_CSV, PRODUCTS_CSV
    report = policies_import(files=[("p.csv", policies_csv(GZ_POLICY)), ("prod.csv", PRODUCTS_CSV.encode()),
                                    ("b.csv", BRANCHES_CSV.encode())], as_of=AS_OF)
    assert [(f["kind"], f["created"]) for f in report["files"]] == [("branches", 4), ("products", 2),
                                                                   ("policies", 1)]


def test_lapsed_policy_arrives_with_history_from_its_lapse_date(reference_data):
    lapsed = BJ_POLICY.replace(",in_force,", ",lapsed,2025-04-30")
    _import(policies_csv(lapsed))
    history = list(PolicyStatusChange.objects.order_by("effective_date").values_list("status", "effective_date"))
    assert history == [("in_force", dt.date(2024, 2, 29)), ("lapsed", dt.date(2025, 4, 30))]


def test_lapsed_without_lapse_date_is_rejected(reference_data):
    report = _import(policies_csv(BJ_POLICY.replace(",in_force,", ",lapsed,")))
    assert report["errors"][0]["column"] == "lapse_date" and report["errors"][0]["reason"] == "required"


def test_bulk_raw_sql_update_of_n_policies_leaves_n_trail_rows(portfolio):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE policies_policy SET sum_assured = sum_assured + 1")
        assert cursor.rowcount == 2
    assert Policy.pgh_event_model.objects.filter(pgh_label="update").count() == 2


def test_consistency_report_lists_a_differing_feed_paid_to_date(portfolio, make_user, client):
    later = GZ_POLICY.replace("2026-11-30,in_force", "2026-12-31,in_force")
    _import(policies_csv(later))
    admin = make_user("cons_admin", ["admin"])
    client.force_login(admin)
    page = client.get("/policies/consistency/").content.decode()
    assert "8860000000000001" in page and "2026-12-31" in page and "8860000000000002" not in page
    rows = client.get("/policies/consistency/?export=csv").content.decode("utf-8-sig").splitlines()
    assert rows[1].endswith("2026-11-30,2026-12-31")
    client.force_login(make_user("cons_clerk", ["clerk"], ["GD-GZ"]))
    assert client.get("/policies/consistency/").status_code == 403
