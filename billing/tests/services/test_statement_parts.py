"""A large statement imported in parts that run at once (issue 9: 100,000 lines in under 10 s on
2 cores). Each part is its own transaction on its own connection: it stages its own lines, reads
the other parts' open credit lines for its checks, and books, stores and rules hopeless only its
own lines (billing.services.statements._parts_run, bulk_matching.payments_match_bulk(own=...,
others=...)). Whatever the split, the file's
outcome is the per-line matcher's, line by line.

Transactional: the parts' connections see only what is committed. The parts are made small here
(STATEMENT_IMPORT_PART_MIN_LINES = 1) so that a file of a few lines is split.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing.models import Allocation, Payment, PaymentEvent, StatementImport
from billing.services.schedules import installments_extend
from billing.services.statements import statement_import
from billing.tests.services import test_matching_equivalence as mixed_file
from billing.tests.services.money_data import policies_add
from conftest import AS_OF, matching_rules_restore

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
GZ = "8860000000000001"  # monthly 300.00, first unpaid installment 82 due 2026-11-30, 83 due 2026-12-31


@pytest.fixture
def shipped_rules(db):
    """The matching rules as the migrations ship them (a transactional test before this one on the
    worker emptied the table; the portfolio fixture puts them back too)."""
    matching_rules_restore()


@pytest.fixture
def in_parts(settings):
    settings.STATEMENT_IMPORT_PARTS = 3
    settings.STATEMENT_IMPORT_PART_MIN_LINES = 1
    return settings


def _csv(lines: list[tuple]) -> bytes:
    day = mixed_file.DAY.isoformat()
    return ("\n".join([mixed_file.HEADER, *(",".join([day, *line]) for line in lines)]) + "\n").encode()


def _import(data: bytes, name: str = "parts.csv") -> dict:
    assert not connection.in_atomic_block  # the parts only where the import's own transaction is the top one
    return statement_import(name=name, data=data, format="csv", template="cn-online-banking", as_of=AS_OF)


def _transactions(prefix: str) -> int:
    """How many transactions stored the lines (a payment's created_at is its transaction's now())."""
    return len(set(Payment.objects.filter(reference__startswith=prefix).values_list("created_at", flat=True)))


def test_a_mixed_statement_in_three_parts_books_what_the_per_line_matcher_books(portfolio, shipped_rules, in_parts):
    policies_add()
    installments_extend(as_of=AS_OF)
    with transaction.atomic():
        per_line, per_line_installments = mixed_file._line_by_line()
        transaction.set_rollback(True)
    assert not Payment.objects.exists()

    report = _import(_csv(mixed_file.LINES))

    # 11 lines in parts of 4, 4 and 3 lines, each stored by its own transaction
    assert _transactions("EQ") == 3
    assert {k: report[k] for k in ("lines", "new", "duplicate", "matched", "proposed", "suspense")} == {
        "lines": 11, "new": 11, "duplicate": 0, "matched": 6, "proposed": 2, "suspense": 3}
    # the same lines decided set-based as in one transaction (written once: no update in the trail)
    set_based = {p.reference for p in Payment.objects.filter(reference__startswith="EQ")
                 if not PaymentEvent.objects.filter(pgh_obj_id=p.pk, pgh_label="update").exists()}
    assert set_based == {"EQ01", "EQ02", "EQ04", "EQ05", "EQ10"}
    assert mixed_file._outcomes() == per_line
    assert mixed_file._installments() == per_line_installments
    # hand-computed (test_matching_equivalence): the exact line pays GZ's 82, the partial one half of 8860000000000003's 7
    assert per_line["EQ01"][4] == [(GZ, 82, D("300.00"), mixed_file.DAY)]
    assert per_line["EQ02"][4] == [("8860000000000003", 7, D("2500.00"), mixed_file.DAY)]
    assert StatementImport.objects.get().new == 11


def test_two_lines_of_one_policy_in_two_parts_are_paid_in_the_file_s_order(portfolio, shipped_rules, in_parts):
    # line 1 in the first part, line 2 in the second: each names GZ and pays 300.00. Neither part
    # books its line set-based (another line of the file names the policy); the per-line matcher
    # then pays 82 (due 2026-11-30) with line 1 and 83 (due 2026-12-31) with line 2.
    installments_extend(as_of=AS_OF)
    settings_lines = [("300.00", "CNY", "张伟", "", "TW01", f"保单{GZ}续期保费"),
                      ("300.00", "CNY", "张伟", "", "TW02", f"保单{GZ} 下月保费")]
    in_parts.STATEMENT_IMPORT_PARTS = 2

    report = _import(_csv(settings_lines))

    assert _transactions("TW") == 2
    assert (report["new"], report["matched"], report["suspense"]) == (2, 2, 0)
    paid = sorted((a.assignment.payment.reference, a.installment.sequence, a.installment.due_date, a.amount)
                  for a in Allocation.objects.select_related("assignment__payment", "installment"))
    assert paid == [("TW01", 82, dt.date(2026, 11, 30), D("300.00")), ("TW02", 83, dt.date(2026, 12, 31), D("300.00"))]
    # both went through the per-line matcher (stored in suspense, then updated)
    assert PaymentEvent.objects.filter(pgh_label="update").values("pgh_obj_id").distinct().count() == 2


def test_a_line_whose_identity_an_earlier_line_of_another_part_has_is_not_staged(portfolio, shipped_rules,
                                                                                 in_parts):
    # two serial numbers that differ only after their 128th character: a line's identity is the
    # first 128 (line_identity), so the second line is the first one again. It is left out before
    # the parts are split (as one transaction's stage left it out), so the first part books its
    # line set-based: no other line of the file names GZ. (A serial number written on two lines
    # is blanked by the parser, and those lines are told apart by their content.)
    installments_extend(as_of=AS_OF)
    serial = "DUP" + "7" * 125
    lines = [("300.00", "CNY", "张伟", "", serial + "01", f"保单{GZ}续期保费"),
             ("300.00", "CNY", "张伟", "", serial + "02", f"保单{GZ}续期保费 again")]
    in_parts.STATEMENT_IMPORT_PARTS = 2

    report = _import(_csv(lines))

    assert (report["lines"], report["new"], report["duplicate"], report["matched"]) == (2, 1, 1, 1)
    payment = Payment.objects.get()
    assert (payment.remittance, payment.status) == (f"保单{GZ}续期保费", Payment.Status.MATCHED)
    assert not PaymentEvent.objects.filter(pgh_label="update").exists()  # booked set-based, written once
    paid = [(a.installment.sequence, a.amount) for a in Allocation.objects.select_related("installment")]
    assert paid == [(82, D("300.00"))]


def test_the_money_tables_are_analysed_after_a_statement_in_parts(portfolio, shipped_rules, in_parts):
    # each on its own connection, at once (core.analyze.analyze_tables(at_once=True))
    in_parts.NIGHTLY_ANALYZE_MIN_ROWS, in_parts.NIGHTLY_ANALYZE_FRACTION = 1, 0
    installments_extend(as_of=AS_OF)
    tables = ["billing_payment", "billing_assignment", "billing_allocation"]
    started = timezone.now()
    in_parts.STATEMENT_IMPORT_PARTS = 2

    report = _import(_csv([("300.00", "CNY", "张伟", "", "AN01", f"保单{GZ}续期保费"),
                           ("88.00", "CNY", "李四", "", "AN02", "不知道")]))

    assert (report["new"], report["matched"]) == (2, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY(%s)", [tables])
        analysed = dict(cursor.fetchall())
    assert sorted(analysed) == sorted(tables)
    assert all(when is not None and when >= started for when in analysed.values()), analysed


def test_the_same_file_again_in_parts_adds_nothing(portfolio, shipped_rules, in_parts):
    policies_add()
    installments_extend(as_of=AS_OF)
    data = _csv(mixed_file.LINES)
    _import(data)
    allocated = sorted(Allocation.objects.values_list("installment_id", "amount"))

    again = _import(data, name="parts-again.csv")

    assert (again["new"], again["duplicate"], again["matched"]) == (0, 11, 0)
    assert Payment.objects.count() == 11
    assert sorted(Allocation.objects.values_list("installment_id", "amount")) == allocated


def test_inside_a_caller_s_transaction_the_file_is_one_part(portfolio, shipped_rules, in_parts):
    installments_extend(as_of=AS_OF)
    lines = [("300.00", "CNY", "张伟", "", "OT01", f"保单{GZ}续期保费"), ("88.00", "CNY", "李四", "", "OT02", "不知道")]
    with transaction.atomic():
        report = statement_import(name="one.csv", data=_csv(lines), format="csv", template="cn-online-banking",
                                  as_of=AS_OF)
    assert _transactions("OT") == 1
    assert (report["new"], report["matched"], report["suspense"]) == (2, 1, 1)


# one camt.053 entry of 1,500.00 itemised into two TxDtls (both lines carry the entry's number, 1):
# 300.00 for GZ's 82 (due 2026-11-30) and 1,200.00 for BJ's annual installment due 2026-02-28
# (issued 2024-02-29, unpaid since: the month end); then a line of its own (2), 300.00 for GZ again (83)
ITEMISED = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>IT1</MsgId><CreDtTm>2026-11-25T09:00:00</CreDtTm></GrpHdr>
<Stmt><Id>IT1</Id><Acct><Id><Othr><Id>6222020200000000001</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
<Ntry><Amt Ccy="CNY">1500.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-11-24</Dt></BookgDt><ValDt><Dt>2026-11-24</Dt></ValDt><AcctSvcrRef>IT-BATCH-1</AcctSvcrRef>
<NtryDtls>
<TxDtls><Amt Ccy="CNY">300.00</Amt><RmtInf><Ustrd>保单8860000000000001续期保费</Ustrd></RmtInf></TxDtls>
<TxDtls><Amt Ccy="CNY">1200.00</Amt><RmtInf><Ustrd>保单8860000000000002续期保费</Ustrd></RmtInf></TxDtls>
</NtryDtls></Ntry>
<Ntry><Amt Ccy="CNY">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-11-24</Dt></BookgDt><ValDt><Dt>2026-11-24</Dt></ValDt><AcctSvcrRef>IT-2</AcctSvcrRef>
<NtryDtls><TxDtls><RmtInf><Ustrd>保单8860000000000001 下月保费</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("parts", [1, 2])
def test_an_itemised_camt_entry_pays_each_of_its_lines_once(portfolio, shipped_rules, in_parts, parts):
    # Before, the entry's two lines (one line number) kept one text between them, the last
    # TxDtls's: GZ looked named by line 2 alone, which was booked set-based to 82 ahead of the
    # entry's own 300.00 for it; and what was decided for the number was booked for both lines.
    installments_extend(as_of=AS_OF)
    in_parts.STATEMENT_IMPORT_PARTS = parts

    report = statement_import(name="itemised.xml", data=ITEMISED.encode(), format="camt053", as_of=AS_OF)

    assert (report["lines"], report["new"], report["matched"], report["suspense"]) == (3, 3, 3, 0)
    paid = sorted((a.assignment.payment.reference, a.installment.policy.policy_no, a.installment.due_date, a.amount)
                  for a in Allocation.objects.select_related("assignment__payment", "installment__policy"))
    assert paid == [("IT-2", GZ, dt.date(2026, 12, 31), D("300.00")),
                    ("IT-BATCH-1#1", GZ, dt.date(2026, 11, 30), D("300.00")),
                    ("IT-BATCH-1#2", "8860000000000002", dt.date(2026, 2, 28), D("1200.00"))]
    assert Payment.objects.get(reference="IT-BATCH-1#1").assignments.count() == 1


def test_an_installment_deleted_while_its_line_is_booked_stops_the_import_and_stores_nothing(portfolio,
                                                                                             shipped_rules):
    """The booking vouches for its allocations' references instead of checking each
    (core.references.references_vouch): each installment it pays is one it has just updated. One
    that another transaction deleted after the match had read it is not updated, and the import
    stops there, storing nothing, instead of writing an allocation of an installment that is gone."""
    from django.conf import settings
    from django.db import IntegrityError

    from billing.models import Installment
    from billing.tests.factories import PaymentFactory
    from core.tests.threads import while_held

    installments_extend(as_of=AS_OF)
    oldest = Installment.objects.get(policy__policy_no=GZ, sequence=82)
    data = _csv([("300.00", "CNY", "张伟", "", "VD01", f"保单{GZ}续期保费"),
                 ("5.00", "CNY", "路人甲", "", "VD02", "转账")])

    def hold() -> None:
        # the second line stored by another import, not yet committed: the import's store waits for
        # it after its match has read GZ's installment 82, which this transaction deletes meanwhile
        PaymentFactory(account_no=settings.MAIN_RECEIVING_ACCOUNT, identity="VD02", amount=D("5.00"))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM billing_installment WHERE id = %s", [oldest.pk])

    with pytest.raises(IntegrityError, match="1 booked installments updated: one no longer exists"):
        while_held(hold, lambda: _import(data))

    assert not Installment.objects.filter(pk=oldest.pk).exists()
    assert not Payment.objects.filter(identity="VD01").exists()
    assert not Allocation.objects.filter(installment__policy__policy_no=GZ).exists()
