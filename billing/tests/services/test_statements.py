import datetime as dt
import gc
import hashlib
from concurrent.futures import Future
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction

from billing import importers
from billing.importers.base import UnreadableFile
from billing.models import Installment, MatchingRule, Payment, StatementImport
from billing.services.bulk_matching import candidate_rows, match_plan
from billing.services.schedules import bulk_transaction_prepare, installments_extend
from billing.services.statements import (
    MONEY_TABLES,
    _import_part,
    _open_credit,
    _staged,
    _texts,
    statement_import,
)
from billing.tests.factories import MatchingRuleFactory
from conftest import AS_OF

pytestmark = pytest.mark.django_db
D = Decimal

CSV = """交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要
2026-11-28,300.00,CNY,张伟,6222020200001234,BK0001,保单8860000000000001续期保费
2026-11-28,1200.00,CNY,王芳,6217000000000001,BK0002,8860000000000002 年交保费
2026-11-28,88.00,CNY,李四,6228000000000009,BK0003,不知道是什么钱
2026-13-45,50.00,CNY,赵六,6228000000000010,BK0004,日期写错了
2026-11-29,300.00,CNY,张伟,6222020200001234,BK0005,第二期
2026-11-29,1200.00,USD,王芳,6217000000000001,BK0006,8860000000000002
"""


@pytest.fixture
def ready(portfolio):
    installments_extend(as_of=AS_OF)
    MatchingRule.objects.all().delete()
    MatchingRuleFactory(position=10, reference=True)  # 保单号
    MatchingRuleFactory(position=20, payer_account=True)  # 付款账号


def _import(data: bytes, name="statement.csv"):
    return statement_import(name=name, data=data, format="csv", template="cn-online-banking", as_of=AS_OF)


def test_import_matches_reports_and_keeps_the_rest(ready):
    report = _import(CSV.encode())
    assert {k: report[k] for k in ("lines", "new", "duplicate", "matched", "proposed", "suspense", "rejected")} == {
        "lines": 5, "new": 5, "duplicate": 0, "matched": 3, "proposed": 0, "suspense": 2, "rejected": 1}
    # line 5 of the file (the fourth data row) has a bad date; the others imported
    assert report["errors"] == [{"line": 5, "reason": report["errors"][0]["reason"]}]
    assert "2026-13-45" in report["errors"][0]["reason"] or "date" in report["errors"][0]["reason"]
    # CNY credit total: 300 + 1200 + 88 + 300 (the USD line is counted in its own currency)
    assert (report["total_credit"], report["total_debit"]) == ("1888.00", "0.00")
    assert report["totals_by_currency"] == {"credit": {"CNY": "1888.00", "USD": "1200.00"}, "debit": {}}
    gz = list(Installment.objects.filter(policy__policy_no="8860000000000001", status="paid")
              .order_by("sequence").values_list("sequence", "paid_value_date"))
    # BK0001 by the policy number (set-based), BK0005 by the payer's account (line by line)
    assert gz == [(82, dt.date(2026, 11, 28)), (83, dt.date(2026, 11, 29))]
    usd = Payment.objects.get(reference="BK0006")
    assert (usd.status, usd.currency, usd.amount) == ("suspense", "USD", D("1200.00"))
    assert StatementImport.objects.get().report["matched"] == 3


def test_the_same_file_twice_adds_nothing(ready):
    _import(CSV.encode())
    again = _import(CSV.encode())
    assert (again["lines"], again["new"], again["duplicate"], again["matched"]) == (5, 0, 5, 0)
    assert Payment.objects.count() == 5


def test_an_overlapping_file_adds_only_its_new_lines(ready):
    _import(CSV.encode())
    header, *rows = CSV.strip().splitlines()
    overlap = "\n".join([header, rows[-1], "2026-11-30,300.00,CNY,张伟,6222020200001234,BK0007,保单8860000000000001"])
    report = _import(overlap.encode())
    assert (report["new"], report["duplicate"], report["matched"]) == (1, 1, 1)


def test_gbk_file_imports_the_same(ready):
    report = _import(CSV.encode("gbk"))
    assert (report["new"], report["matched"]) == (5, 3)
    assert Payment.objects.get(reference="BK0003").payer_name == "李四"


def test_unreadable_file_changes_nothing(ready):
    with pytest.raises(UnreadableFile):
        statement_import(name="x.xml", data=b"<not xml", format="camt053", as_of=AS_OF)
    assert StatementImport.objects.count() == 0 and Payment.objects.count() == 0


def test_hostile_xml_is_rejected_not_expanded(ready):
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>&lol2;</BkToCstmrStmt></Document>"""
    with pytest.raises(UnreadableFile):
        statement_import(name="bomb.xml", data=bomb, format="camt053", as_of=AS_OF)
    assert Payment.objects.count() == 0


def test_a_saved_bank_template_maps_its_own_headers(ready, make_user, client):
    client.force_login(make_user("fin_t", ["finance"]))
    response = client.post("/billing/csv-templates/", {
        "name": "icbc-2026", "bank_name": "中国工商银行", "value_date": "入账日期", "amount": "贷方发生额",
        "payer_name": "对方单位", "payer_account": "对方账号", "reference": "凭证号", "remittance": "用途, 附言"})
    assert response.status_code == 302
    data = ("入账日期,贷方发生额,对方单位,对方账号,凭证号,用途,附言\n"
            "2026-11-28,300.00,张伟,6222020200001234,V01,续期,保单8860000000000001\n").encode()
    report = statement_import(name="icbc.csv", data=data, format="csv", template="icbc-2026", as_of=AS_OF)
    assert (report["lines"], report["matched"]) == (1, 1)
    assert Payment.objects.get(reference="V01").remittance == "续期 保单8860000000000001"


def test_an_unknown_template_is_refused_with_the_names_that_exist(ready):
    with pytest.raises(UnreadableFile, match="generic"):
        statement_import(name="x.csv", data=CSV.encode(), format="csv", template="nope", as_of=AS_OF)


RETURN_CAMT054 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>RET1</MsgId><CreDtTm>2026-12-02T09:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><Acct><Id><Othr><Id>6222020200000000001</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
<Ntry><Amt Ccy="CNY">300.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-12-02</Dt></BookgDt><ValDt><Dt>2026-12-02</Dt></ValDt><AcctSvcrRef>RET-0001</AcctSvcrRef>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>
<RtrInf><Rsn><Cd>AC06</Cd></Rsn><AddtlInf>账户冻结</AddtlInf></RtrInf></TxDtls></NtryDtls></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"""


def test_a_returned_debit_in_a_notification_reopens_the_installment(ready):
    from billing.models import DebitLine
    from billing.services.debits import DebitOutcome, debit_batch_create, debit_results_apply

    batch = debit_batch_create(collection_date=dt.date(2026, 11, 30))
    e2e = batch.lines.get().end_to_end_id
    debit_results_apply(outcomes=[DebitOutcome(e2e, paid=True)], as_of=dt.date(2026, 12, 1))
    first = Installment.objects.filter(policy__policy_no="8860000000000001").order_by("sequence").first()
    assert first.status == "paid"
    report = statement_import(name="ret.xml", data=RETURN_CAMT054.format(e2e=e2e).encode(), format="camt054",
                              as_of=dt.date(2026, 12, 2))
    assert (report["lines"], report["total_debit"], report["reversed"]) == (1, "300.00", 1)
    first.refresh_from_db()
    assert (first.status, first.amount_paid) == ("overdue", D("0.00"))
    line = DebitLine.objects.get(end_to_end_id=e2e)
    assert (line.status, line.reason, line.reason_code) == ("failed", "account_frozen", "AC06")
    # the same notification again changes nothing
    again = statement_import(name="ret.xml", data=RETURN_CAMT054.format(e2e=e2e).encode(), format="camt054",
                             as_of=dt.date(2026, 12, 2))
    assert (again["new"], again["reversed"]) == (0, 0)


def test_the_set_based_rule_pays_the_oldest_open_installment_after_the_paid_ones(ready):
    _import(CSV.encode())  # 82 and 83 of 8860000000000001 paid
    header = CSV.splitlines()[0]
    again = f"{header}\n2026-11-30,300.00,CNY,张伟,,BK0101,保单8860000000000001续期保费\n"
    report = _import(again.encode(), name="again.csv")
    assert (report["matched"], report["suspense"]) == (1, 0)
    paid = list(Installment.objects.filter(policy__policy_no="8860000000000001", status="paid")
                .order_by("sequence").values_list("sequence", "paid_value_date"))
    assert paid == [(82, dt.date(2026, 11, 28)), (83, dt.date(2026, 11, 29)), (84, dt.date(2026, 11, 30))]


def test_the_bulk_booking_leaves_the_planner_settings_as_it_found_them(ready):
    from django.db import connection

    # the import's transaction is a savepoint of the test's: a setting it changed and did not
    # restore would still show here
    with connection.cursor() as cursor:
        _import(CSV.encode())
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "on"
        cursor.execute("SET LOCAL enable_seqscan = off")
        _import(CSV.replace("BK0001", "BK0901").replace("BK0002", "BK0902").encode(), name="second.csv")
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "off"


def test_each_number_of_a_line_is_flagged_by_the_rules_whose_pattern_found_it(ready):
    # the first rule reads only a number after 保单, a later reference rule any 16 digits, and the
    # payer-account rule's conflict check the generic pattern: each pattern is searched once a line
    MatchingRule.objects.filter(position=10).update(pattern=r"保单([0-9]{16})")
    MatchingRuleFactory(position=30, reference=True, name="任意号码", pattern=r"(?<![0-9])([0-9]{16})(?![0-9])")
    data = ("交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
            "2026-11-28,300.00,CNY,张伟,,CF01,保单8860000000000001 与 8860000000000002\n"
            "2026-11-28,300.00,CNY,张伟,,CF02,8860000000000003\n"
            "2026-11-28,300.00,CNY,张伟,,CF03,没有号码\n").encode()
    _import(data)
    with connection.cursor() as cursor:
        cursor.execute("SELECT line_no, policy_no, first, rules FROM match_candidate ORDER BY line_no, policy_no")
        assert cursor.fetchall() == [(2, "8860000000000001", True, True), (2, "8860000000000002", False, True),
                                     (3, "8860000000000003", False, True)]


def _reltuples() -> dict[str, float]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [list(MONEY_TABLES)])
        return dict(cursor.fetchall())


def test_a_large_import_analyses_the_money_tables_it_grew_and_a_small_one_leaves_them(ready, settings):
    # the file's 5 new lines are payments; 3 are booked (BK0001, BK0002, BK0005: an assignment and an
    # allocation each). ANALYZE reads every row of a small table: reltuples is then exactly the rows
    # the import had written (rolled back with the test)
    settings.NIGHTLY_ANALYZE_MIN_ROWS = 2
    _import(CSV.encode())
    assert _reltuples() == {"billing_payment": 5.0, "billing_assignment": 3.0, "billing_allocation": 3.0}
    # one new line (below the threshold) leaves the statistics as they were
    header, *_rows = CSV.strip().splitlines()
    report = _import(f"{header}\n2026-11-30,300.00,CNY,张伟,6222020200001234,BK0007,保单8860000000000001".encode())
    assert (report["new"], report["matched"]) == (1, 1)
    assert _reltuples() == {"billing_payment": 5.0, "billing_assignment": 3.0, "billing_allocation": 3.0}


def test_a_line_without_a_reference_is_named_by_its_occurrence_among_every_equal_line_of_the_file(ready):
    # three equal transfers, the first with the bank's serial number: the two without one are the
    # second and third of their kind (a file imported before this rule was written names them so)
    data = ("交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
            + "2026-11-28,300.00,CNY,张伟,6222020200001234,BK0001,保单8860000000000001续期保费\n"
            + "2026-11-28,300.00,CNY,张伟,6222020200001234,,保单8860000000000001续期保费\n" * 2)
    _import(data.encode())

    def hashed(occurrence: int) -> str:
        text = f"2026-11-28|300.00|credit|CNY|6222020200001234|张伟|保单8860000000000001续期保费|{occurrence}"
        return "h:" + hashlib.sha256(text.encode()).hexdigest()[:40]

    assert list(Payment.objects.order_by("line_no").values_list("line_no", "identity")) == [
        (2, "BK0001"), (3, hashed(2)), (4, hashed(3))]


def test_the_collector_paused_for_an_import_runs_again_after_it_whatever_its_end(ready):
    gc.enable()
    _import(CSV.encode())
    assert gc.isenabled()
    with pytest.raises(UnreadableFile):
        _import(b"not a statement at all")
    assert gc.isenabled()


def test_a_rule_pattern_whose_first_group_takes_no_part_in_a_match_names_nothing_by_it(ready):
    # an alternation: a line with 单号... matches through the second group, the first is None
    MatchingRule.objects.filter(position=10).update(pattern=r"保单(\d{16})|单号(\d{16})")
    data = ("交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
            "2026-11-28,300.00,CNY,张伟,6222020200001234,BK0001,保单8860000000000001续期保费\n"
            "2026-11-28,88.00,CNY,李四,6228000000000009,BK0003,单号8860000000000002\n")
    report = _import(data.encode())
    assert (report["new"], report["matched"], report["suspense"]) == (2, 1, 1)
    assert dict(Payment.objects.values_list("identity", "status")) == {
        "BK0001": Payment.Status.MATCHED, "BK0003": Payment.Status.SUSPENSE}


def test_a_part_whose_file_wide_checks_failed_decides_them_again_on_its_own_connection(ready):
    # the checks' future holds the look-up's failure (its own connection refused, statements.
    # _known_looked_up): the part looks the policies up itself and books what the file allows
    data = ("交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
            "2026-11-28,300.00,CNY,张伟,6222020200001234,BK0001,保单8860000000000001续期保费\n")
    parsed = importers.parse("csv", data.encode(), template="cn-online-banking")
    plan = match_plan()
    candidates = candidate_rows(plan, _texts(
        (line.line, _open_credit(line), line.remittance, line.reference) for line in parsed.lines))
    failed: Future = Future()
    failed.set_exception(OperationalError("the server closed the connection unexpectedly"))
    account = settings.MAIN_RECEIVING_ACCOUNT
    with transaction.atomic():
        bulk_transaction_prepare()
        record = StatementImport.objects.create(file_name="s.csv", file_sha256="0" * 64, format="csv",
                                                account_no=account)
        result = _import_part(record=record, account=account, source="bank", staged=_staged(parsed.lines),
                              as_of=AS_OF, plan=plan, candidates=candidates, checks=failed, own=None)
    assert [status for _pk, _line_no, status in result.stored] == [Payment.Status.MATCHED]
    assert list(Installment.objects.filter(policy__policy_no="8860000000000001", status="paid")
                .values_list("sequence", "paid_value_date")) == [(82, dt.date(2026, 11, 28))]
