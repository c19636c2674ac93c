"""camt.053 / camt.054 against every real sample: line counts and totals counted by hand from the
files (each count is explained next to it), then field-level checks."""

import datetime as dt

import pytest

from billing.importers import parse, parse_camt053, parse_camt054
from billing.importers.base import UnreadableFile

from .helpers import D, line_at, sample

# (file, parser, lines, {direction: count}, totals by direction and currency)
EXPECTED = [
    # 13 Ntry. Itemised: Ntry 4 (10 TxDtls x 1.00 = 10.00), Ntry 7 (2 x 1.00 = 2.00), Ntry 10
    # (7 x 1.00 = 7.00); one line each for Ntry 1 (no TxDtls), 8 and 11 (batches with no TxDtls)
    # and the 7 single-TxDtls entries: 10 + 2 + 7 + 10 = 29 lines.
    # CRDT: Ntry 1,2,3 (1.00 each) + 10 x 1.00 (Ntry 4) + Ntry 5 (1.00) + 7 x 1.00 (Ntry 10)
    #       + Ntry 11 (7.00) = 22 lines, 28.00.
    # DBIT: Ntry 6 (`01.00`) + 2 x 1.00 (Ntry 7) + Ntry 8 (2.00) + Ntry 9 (1.00) + Ntry 12 (1.00)
    #       + Ntry 13 (921.00) = 7 lines, 928.00.
    ("camt053/abnamro_sample_camt053.001.02.xml", parse_camt053, 29, {"credit": 22, "debit": 7},
     {"credit": {"EUR": D("28.00")}, "debit": {"EUR": D("928.00")}}),
    # 9 Ntry, none itemised (batches Ntry 4 and 7 have no TxDtls): CRDT 350 + 125 + 120 + 270 + 125
    # = 990.00 (5); DBIT 25 + 300 + 30 + 30 = 385.00 (4). OPBD 1000 + 990 - 385 = CLBD 1605.
    ("camt053/ing_sample_camt053.001.02.xml", parse_camt053, 9, {"credit": 5, "debit": 4},
     {"credit": {"EUR": D("990.00")}, "debit": {"EUR": D("385.00")}}),
    # 6 Ntry with one TxDtls each: CRDT 10000.00 + 100.50; DBIT 700.50 + 300 + 400 + 100 = 1500.50.
    ("camt053/nordea_sample_camt053.001.02.xml", parse_camt053, 6, {"credit": 2, "debit": 4},
     {"credit": {"EUR": D("10100.50")}, "debit": {"EUR": D("1500.50")}}),
    # 15 Ntry, one TxDtls each. CRDT: Ntry 1,3,4,5,6,10,11,12,13,14 = 10 x 10.00 USD.
    # DBIT: Ntry 2,7,9,15 = 4 x 10.00 USD, and Ntry 8 = 29.06 EUR (kept in EUR, not converted).
    ("camt053/goldmansachs_us_camt053.001.02.xml", parse_camt053, 15, {"credit": 10, "debit": 5},
     {"credit": {"USD": D("100.00")}, "debit": {"USD": D("40.00"), "EUR": D("29.06")}}),
    # 3 Ntry: DBIT 754.25; the reversed batch 664.05 itemised as 564.05 + 100.00 (2 DBIT lines);
    # CRDT 1405.31. Debits 754.25 + 564.05 + 100.00 = 1418.30.
    ("camt053/oca_test-camt053_insurance_reversal.001.02.xml", parse_camt053, 4, {"credit": 1, "debit": 3},
     {"credit": {"EUR": D("1405.31")}, "debit": {"EUR": D("1418.30")}}),
    # 1 CRDT Ntry of 3483.00 itemised into its 2 TxDtls: 2187.00 + 1296.00.
    ("camt053/oca_test-camt053-txdtls_ch.001.04.xml", parse_camt053, 2, {"credit": 2, "debit": 0},
     {"credit": {"CHF": D("3483.00")}, "debit": {}}),
    # 1 CRDT Ntry EUR 8.85 with a single TxDtls (its own amount SEK 0 is ignored: one TxDtls).
    ("camt053/genkgo_camt053.v8.xml", parse_camt053, 1, {"credit": 1, "debit": 0},
     {"credit": {"EUR": D("8.85")}, "debit": {}}),
    # 1 CRDT Ntry written `8.850` (3 decimals) = 8.85.
    ("camt053/genkgo_camt053.v2.five.decimals.xml", parse_camt053, 1, {"credit": 1, "debit": 0},
     {"credit": {"EUR": D("8.85")}, "debit": {}}),
    # One line, 2 Stmt (the second has no Ntry). 15 batch Ntry, each with one amount-only TxDtls:
    # one line per Ntry. CRDT Ntry 2, 4, 15: 46840 + 891017.25 + 2648 = 940505.25.
    # DBIT the other 12: 388645 + 46840 + 88667.8 + 3086 + 556633.95 + 2680339.12 + 58.42
    # + 474367.36 + 858626.92 + 90190.85 + 7661.59 + 14568 = 5209685.01.
    # (OPBD 21463830.35 + 940505.25 - 5209685.01 = CLBD 17194650.59.)
    ("camt053/subite_LT_2024-04-11_minified.001.08.xml", parse_camt053, 15, {"credit": 3, "debit": 12},
     {"credit": {"EUR": D("940505.25")}, "debit": {"EUR": D("5209685.01")}}),
    # 1 DBIT Ntry SEK 200000 with 3 TxDtls that carry no amount: one line for the entry.
    ("camt054/genkgo_camt054.v2.xml", parse_camt054, 1, {"credit": 0, "debit": 1},
     {"credit": {}, "debit": {"SEK": D("200000.00")}}),
    # 1 DBIT Ntry SEK 200000 whose 3 TxDtls (CHF 3.1 + 3.2 + 3.2) neither match its currency nor
    # add up to it: one line for the entry, with a warning.
    ("camt054/genkgo_camt054.v8.xml", parse_camt054, 1, {"credit": 0, "debit": 1},
     {"credit": {}, "debit": {"SEK": D("200000.00")}}),
    # 1 CRDT Ntry EUR 5.00, a batch of 1 with one TxDtls.
    ("camt054/oca_test-camt054_qrr.001.04.xml", parse_camt054, 1, {"credit": 1, "debit": 0},
     {"credit": {"EUR": D("5.00")}, "debit": {}}),
    # 1 DBIT Ntry EUR 100.00 (the unpaid direct debit).
    ("camt054/oca_test-sepa-camt054-unpaid_AC06.001.02.xml", parse_camt054, 1, {"credit": 0, "debit": 1},
     {"credit": {}, "debit": {"EUR": D("100.00")}}),
]


@pytest.mark.parametrize(("name", "parser", "count", "counts", "totals"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_sample_lines_and_totals(name, parser, count, counts, totals):
    parsed = parser(sample(name))

    assert parsed.errors == []
    assert len(parsed.lines) == count
    assert parsed.counts() == counts
    assert parsed.totals() == totals


def test_abnamro_itemised_batch_and_returned_collection():
    parsed = parse_camt053(sample("camt053/abnamro_sample_camt053.001.02.xml"))

    batch = [item for item in parsed.lines if item.line == 4]
    assert len(batch) == 10
    assert {item.amount for item in batch} == {D("1.00")}
    # the TxDtls repeat the entry's AcctSvcrRef, so each gets its position in the batch
    assert [item.reference for item in batch][:2] == ["3095D4322561460S0PS#1", "3095D4322561460S0PS#2"]
    assert len({item.reference for item in parsed.lines}) == 29
    # `01.00` (leading zero)
    assert line_at(parsed, 6).amount == D("1.00")
    returned = line_at(parsed, 13)
    assert returned.direction == "debit" and returned.amount == D("921.00")
    assert returned.reversal is True
    assert returned.return_reason == "MS03"
    assert returned.value_date == dt.date(2012, 4, 2)
    assert returned.end_to_end_id == "1234567X908303804"
    assert returned.payer_name == "Debtor" and returned.payer_account == "NL27ABNA0592326340"
    assert "nota 1234557" in returned.remittance
    assert parsed.account == "NL77ABNA0574908765" and parsed.currency == "EUR"


def test_insurance_reversal_keeps_both_policy_numbers_and_the_iso_code():
    parsed = parse_camt053(sample("camt053/oca_test-camt053_insurance_reversal.001.02.xml"))

    premium = line_at(parsed, 1)
    assert premium.amount == D("754.25") and premium.direction == "debit"
    # the number runs into the text in Ustrd; AddtlTxInf names another policy: both are kept
    assert "857239PERIOD" in premium.remittance and "859239PERIOD" in premium.remittance
    assert premium.reference == "435005714488-ABNO33052620"  # no AcctSvcrRef: the EndToEndId
    first, second = line_at(parsed, 2, 0), line_at(parsed, 2, 1)
    assert (first.amount, second.amount) == (D("564.05"), D("100.00"))
    assert first.reversal and second.reversal
    # RtrInf says AC06 while the narrative says AC07: the coded reason wins
    assert first.return_reason == "AC06"
    assert first.reference == "TESTBANK/NL/20141229/01206408#RVSL"
    credit = line_at(parsed, 3)
    assert credit.remittance == "#RD PARTY MEDIA CUSNO 90782 4210773"
    assert credit.payer_name == "3rd party Media"
    # 15568.27 - 754.25 - 664.05 + 1405.31 is not the closing 15121.12: said, not hidden
    assert any("closing balance is 15121.12" in w.reason for w in parsed.warnings)


def test_ing_reversal_and_returned_transfer():
    parsed = parse_camt053(sample("camt053/ing_sample_camt053.001.02.xml"))

    returned_transfer = line_at(parsed, 5)
    assert returned_transfer.direction == "credit" and returned_transfer.reversal  # RRTN
    assert returned_transfer.return_reason == "AC04"
    refund = line_at(parsed, 9)
    assert refund.reversal and refund.return_reason == "MD06"
    assert refund.value_date == dt.date(2013, 12, 20) and refund.booking_date == dt.date(2014, 1, 3)
    # ING books the reversal under the very ids of the debit it reverses
    assert line_at(parsed, 8).reference == "3101963431841/021514017743280167000000001"
    assert refund.reference == "3101963431841/021514017743280167000000001#RVSL"
    assert line_at(parsed, 1).remittance == "0010008346912014"  # SCOR creditor reference
    assert parsed.declared["credit_count"] == 5 and parsed.declared["credit_total"] == D("990.00")


def test_nordea_ustrd_cut_at_35_characters_is_joined_without_a_space():
    parsed = parse_camt053(sample("camt053/nordea_sample_camt053.001.02.xml"))

    assert line_at(parsed, 2).remittance == "Free text max 140 characters and max 35 characters in one line"
    assert line_at(parsed, 3).remittance == "RF332348236"
    assert line_at(parsed, 1).end_to_end_id == "20190501-E00005"


def test_goldman_foreign_currency_line_stays_in_its_currency():
    parsed = parse_camt053(sample("camt053/goldmansachs_us_camt053.001.02.xml"))

    euro = line_at(parsed, 8)
    assert (euro.currency, euro.amount, euro.account_currency) == ("EUR", D("29.06"), "USD")
    assert parsed.currency == "USD" and parsed.account == "DD01100056869"
    assert [item.line for item in parsed.lines if item.reversal] == [1, 10, 13]
    # the file declares 14 entries (9 credits) while it holds 15 (10): we report, the caller compares
    assert parsed.declared["credit_count"] == 9
    opening = parsed.declared["statements"][0]["balances"][0]
    assert (opening["type"], opening["signed"]) == ("OPBD", D("-843686.20"))


def test_subite_one_line_xml_without_balance_indicator_or_dates():
    parsed = parse_camt053(sample("camt053/subite_LT_2024-04-11_minified.001.08.xml"))

    balances = parsed.declared["statements"][0]["balances"]
    assert [(b["type"], b["indicator"], b["amount"]) for b in balances] == [
        ("OPBD", None, D("21463830.35")), ("CLBD", None, D("17194650.59"))]
    first = line_at(parsed, 1)
    assert first.amount == D("388645.00") and first.raw["batch_transactions"] == "3"
    assert first.reference == "REF000003643800/REF000003631558"
    # no BookgDt/ValDt in the file: the statement's day, and a warning saying so
    assert first.value_date == dt.date(2024, 4, 11)
    assert any("no booking or value date" in w.reason for w in parsed.warnings)
    assert line_at(parsed, 5).amount == D("88667.80")
    assert parsed.account == ""  # two statements, two accounts
    assert {item.account for item in parsed.lines} == {"LT625883379695428516"}


def test_swiss_batch_itemised_with_isr_references():
    parsed = parse_camt053(sample("camt053/oca_test-camt053-txdtls_ch.001.04.xml"))

    first, second = parsed.lines
    assert first.remittance.startswith("302388292000011111111111111")
    assert second.payer_account == "CH3333000000123456789"
    assert first.value_date == dt.date(2017, 3, 23) and first.booking_date == dt.date(2017, 3, 22)


def test_camt054_unpaid_direct_debit_is_a_reversal_with_its_reason():
    parsed = parse_camt054(sample("camt054/oca_test-sepa-camt054-unpaid_AC06.001.02.xml"))

    (unpaid,) = parsed.lines
    assert unpaid.direction == "debit" and unpaid.amount == D("100.00")
    assert unpaid.reversal is True  # IDDT/UPDD with RtrInf
    assert unpaid.return_reason == "AC06"
    assert unpaid.end_to_end_id == "E2EID1"  # our own debit's id, to find the collection it undoes
    assert unpaid.raw["mandate_id"] == "MANDATEID2"
    assert unpaid.payer_name == "DEBTOR4"
    assert unpaid.value_date == dt.date(2016, 10, 8)  # no ValDt: the booking date
    assert parsed.declared["debit_total"] == D("100.00")


def test_camt054_details_that_do_not_add_up_keep_the_entry():
    parsed = parse_camt054(sample("camt054/genkgo_camt054.v8.xml"))

    assert parsed.lines[0].amount == D("200000.00") and parsed.lines[0].currency == "SEK"
    assert "a TxDtls is in CHF" in parsed.warnings[0].reason
    multi = parse_camt054(sample("camt054/genkgo_camt054.v2.xml")).lines[0]
    # several CdtrRefInf in one Strd and two Ustrd: all the text is kept
    assert "Ref number V3 block 1" in multi.remittance and "Ref number V3 block 2" in multi.remittance


def test_camt054_qrr_reference():
    parsed = parse("camt054", sample("camt054/oca_test-camt054_qrr.001.04.xml"))

    assert parsed.lines[0].remittance.startswith("000000000000000000000000003")
    assert parsed.lines[0].reference == "98888208N8/NL0000000000000000000"


def test_bad_entry_is_reported_and_the_others_parse():
    document = b"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>S1</Id>
<Acct><Id><IBAN>CN00TEST</IBAN></Id><Ccy>CNY</Ccy></Acct>
<Ntry><Amt Ccy="CNY">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-20</Dt></BookgDt>
<AcctSvcrRef>A1</AcctSvcrRef></Ntry>
<Ntry><Amt Ccy="CNY">3OO.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>
<Ntry><Amt Ccy="CNY">1,5</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-31</Dt></BookgDt></Ntry>
<Ntry><Amt Ccy="CNY">1,5</Amt><CdtDbtInd>DBIT</CdtDbtInd><ValDt><Dt>2026-11-21</Dt></ValDt>
<AcctSvcrRef>A4</AcctSvcrRef></Ntry>
</Stmt></BkToCstmrStmt></Document>"""

    parsed = parse_camt053(document)

    assert [(e.line, e.reason.split(":")[0]) for e in parsed.errors] == [(2, "entry amount"), (3, "booking date")]
    assert [(item.line, item.amount, item.direction) for item in parsed.lines] == [
        (1, D("300.00"), "credit"), (4, D("1.50"), "debit")]  # decimal comma


def test_wrong_document_is_unreadable():
    with pytest.raises(UnreadableFile, match="not a camt.053/054"):
        parse_camt053(sample("pain008/sepaking_pain.008.001.02.xml"))
    with pytest.raises(UnreadableFile, match="not well-formed XML"):
        parse_camt053(b"<Document><BkToCstmrStmt>")
