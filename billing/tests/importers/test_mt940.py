"""MT940 against every real sample (counts and totals by hand from the :61: records), field
checks, and our own small files for reversals, a malformed record and GBK text."""

import datetime as dt

import pytest

from billing.importers import parse_mt940
from billing.importers.base import UnreadableFile

from .helpers import D, line_at, sample

EXPECTED = [
    # 2 messages, 8 + 2 :61:, all D: 9 + 11.59 + 11.63 + 11.8 + 13.45 + 15.49 + 107 + 141.48
    # (first message) + 9.49 + 15 (second) = 345.93.
    ("jejik_abnamro.sta", 10, {"credit": 0, "debit": 10}, {"credit": {}, "debit": {"EUR": D("345.93")}}),
    # 7 :61:: D 25.03 + 3.03 + 1.11 + 20.00 + 1.10 = 50.27; C 3.68 + 1.00 = 4.68.
    ("jejik_ing.sta", 7, {"credit": 2, "debit": 5}, {"credit": {"EUR": D("4.68")}, "debit": {"EUR": D("50.27")}}),
    # 2 messages, 4 + 7 :61:. CR (credit, funds code R): 50990.05 + 154551.93 + 154551.93 + 335.33
    # + 15000 + 15000.05 + 125004.88 + 915311.55 = 1430745.72 (8); DR: 1500.00 + 0.08 + 3572569.03
    # = 3574069.11 (3). (Message 1: 766656.49 + 360093.91 - 1500 = 1125250,4 as its :62F: says.)
    ("betterplace_sepa_snippet_de.sta", 11, {"credit": 8, "debit": 3},
     {"credit": {"EUR": D("1430745.72")}, "debit": {"EUR": D("3574069.11")}}),
    # 3 messages. DEM (11 :61:): C 18500 + 4200 + 3656.74 + 23040 = 49396.74; D 6800 + 620.3 + 14220
    # + 1507 + 19900 + 400 + 5862.14 = 49309.44. EUR (2): DR 800, CR 3000. PLN (3): C 20000 + 40,
    # D 10000. Each currency summed on its own.
    ("cmxl_mt940_de.sta", 16, {"credit": 7, "debit": 9},
     {"credit": {"DEM": D("49396.74"), "EUR": D("3000.00"), "PLN": D("20040.00")},
      "debit": {"DEM": D("49309.44"), "EUR": D("800.00"), "PLN": D("10000.00")}}),
    # 3 :61: CN 0,01 = 0.03 PLN (0.40 + 0.03 = the closing 0.43).
    ("mbank_pl.sta", 3, {"credit": 3, "debit": 0}, {"credit": {"PLN": D("0.03")}, "debit": {}}),
    # 31 daily statements, 8 :61: in 5 of them: C 1000.00 + 828.72 + 1000.18 = 2828.90;
    # D 65.00 + 801.55 + 1.65 + 1000.00 + 903.76 = 2771.96 (444.29 + 2828.90 - 2771.96 = 501.23).
    ("asnb_swift_blocks.txt", 8, {"credit": 3, "debit": 5},
     {"credit": {"EUR": D("2828.90")}, "debit": {"EUR": D("2771.96")}}),
    # 3 :61: DF (debit, funds code F): 2402 + 3460 + 3575 = 9437.00 HUF (627311.30 - 9437 = 617874.30).
    ("sberbank_hu_insurance_dd.sta", 3, {"credit": 0, "debit": 3}, {"credit": {}, "debit": {"HUF": D("9437.00")}}),
]


@pytest.mark.parametrize(("name", "count", "counts", "totals"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_sample_lines_and_totals(name, count, counts, totals):
    parsed = parse_mt940(sample(f"mt940/{name}"))

    assert parsed.errors == []
    assert len(parsed.lines) == count
    assert parsed.counts() == counts
    assert parsed.totals() == totals


def test_abnamro_amounts_without_decimals_and_multi_line_86():
    parsed = parse_mt940(sample("mt940/jejik_abnamro.sta"))

    first = line_at(parsed, 8)  # ABNANL2A / 940 / ABNANL2A header lines before :20:
    assert first.amount == D("9.00") and first.direction == "debit"
    assert first.value_date == dt.date(2011, 5, 24) and first.booking_date == dt.date(2011, 5, 24)
    assert "000000042188659" in first.remittance and "INCL. 1,44 BTW" in first.remittance
    assert line_at(parsed, 23).amount == D("107.00")
    assert line_at(parsed, 12).booking_date == dt.date(2011, 5, 23)
    assert first.reference == ""  # NONREF and no bank reference: the caller hashes
    second = parsed.declared["statements"][1]
    assert (second["number"], second["opening"], second["closing"]) == ("19322/1", D("2876.84"), D("1849.75"))


def test_ing_soft_hyphens_tabs_and_closing_information():
    parsed = parse_mt940(sample("mt940/jejik_ing.sta"))

    assert "10-06-2010 15:32" in line_at(parsed, 14).remittance  # U+00AD read as the hyphen it was
    assert "GPSEOUL SPOEDBETALING MPBZS1016000047" in line_at(parsed, 12).remittance  # TAB
    last = line_at(parsed, 22)
    assert last.remittance.endswith("Betaling transactiedatum: 22-07-2010")
    assert "D000004" not in last.remittance  # the :86: after :62F: is about the statement


def test_betterplace_cr_dr_marks_returns_and_structured_86():
    parsed = parse_mt940(sample("mt940/betterplace_sepa_snippet_de.sta"))

    credit = line_at(parsed, 5)
    assert credit.direction == "credit" and credit.reversal is False
    assert credit.raw["funds_code"] == "R"  # CR: credit, R the third letter of EUR
    assert credit.reference == "0724710333343453"
    assert credit.payer_name == "KARL KAUFMANN" and credit.payer_account == "DE14508800500194785000"
    assert credit.end_to_end_id == "EndToEndId TFNR 22 004 00001"
    # ?21 "SVWZ+Strukturier" ?22 "ter Verwend" ... cut at 27 characters, joined back
    assert line_at(parsed, 10).remittance == "EREF+TFNR 0300300004 SVWZ+Strukturierter Verwendungszweck 30030004 DE"
    returned = line_at(parsed, 32)  # GVC 159 RETOURE
    assert returned.reversal is True and returned.return_reason == "914"
    assert line_at(parsed, 50).return_reason == "901"
    statements = parsed.declared["statements"]
    assert statements[0]["closing"] == D("1125250.40")  # `1125250,4`
    assert statements[1]["opening"] == D("-1970431.87")  # :60F:D...


def test_cmxl_three_currencies_and_supplementary_details():
    parsed = parse_mt940(sample("mt940/cmxl_mt940_de.sta"))

    assert parsed.currency == ""  # DEM, EUR and PLN statements in one file
    card = line_at(parsed, 53)
    assert card.currency == "PLN" and card.remittance.startswith("Card transaction")
    assert card.payer_account == "PL08106000760000777777777777"
    assert line_at(parsed, 7).amount == D("620.30")  # `620,3`
    # //55555 is written on both EUR lines: not an identity, left empty for the caller to hash
    assert line_at(parsed, 36).reference == "" and line_at(parsed, 36).raw["bank_reference"] == "55555"
    assert line_at(parsed, 38).remittance == "Gehalt Oktober FirmaMustermannGmbH"


def test_mbank_soh_etx_and_bank_reference():
    parsed = parse_mt940(sample("mt940/mbank_pl.sta"))

    first = line_at(parsed, 6)  # line 1 is the SOH character alone
    assert first.reference == "MB170119012058"
    assert first.amount == D("0.01") and first.direction == "credit"
    assert "TNR: 179171073864111.010001" in first.remittance
    assert parsed.account == "PL29114010810000267002001002"


def test_asn_swift_blocks_and_text_cut_at_65_characters():
    parsed = parse_mt940(sample("mt940/asnb_swift_blocks.txt"))

    assert len(parsed.declared["statements"]) == 31
    card = line_at(parsed, 50)
    assert "Betaling aan ICS 99999999999" in card.remittance  # "...aan I" + "CS 999..." rejoined
    assert card.payer_account == "NL08ABNA9999999999"
    first = line_at(parsed, 6)
    assert first.payer_name == "hr gjlm paulissen" and "Betaling sieraden" in first.remittance
    assert line_at(parsed, 198).remittance == "Kosten gebruik betaalrekening inclusief 1 betaalpas"


def test_sberbank_ns_tags_insurer_debits():
    parsed = parse_mt940(sample("mt940/sberbank_hu_insurance_dd.sta"))

    first = line_at(parsed, 12)  # CRLF
    assert first.payer_name == "ERGO Versicherung AG Fioktelep"  # 15 + 16, cut at 27 characters
    assert "G200000137791678" in first.remittance
    assert first.amount == D("2402.00") and first.currency == "HUF"
    assert line_at(parsed, 24).payer_name == "ERGO Eletbiztosito Zrt."


OWN = """:20:STMT-2026-11-25
:25:6222020200001234567
:28C:1/1
:60F:C261124CNY10000,00
:61:2611251125C300,00NTRFRD8860000000000001//ICBC000001
:86:续期保费 保单8860000000000001
:61:2611251125C12X,00NTRFNONREF//ICBC000002
:86:this information belongs to the broken line
:61:2611251125RC300,00NTRFNONREF//ICBC000003
:86:冲正 ICBC000001
:61:2613401125D50,NCHGNONREF//ICBC000004
:61:2611251125RD50,NTRFNONREF//ICBC000005
:86:手续费退回
:62F:C261125CNY9950,00
-
"""


def test_malformed_record_is_reported_with_its_line_and_the_rest_parses():
    parsed = parse_mt940(OWN.encode("gbk"))  # GBK text in :86:

    assert [(e.line, e.reason[:30]) for e in parsed.errors] == [
        (7, ":61: not a statement line (YYM"), (11, ":61: not a date YYMMDD: '26134")]
    assert [item.line for item in parsed.lines] == [5, 9, 12]
    first, reversal_of_credit, reversal_of_debit = parsed.lines
    assert first.remittance == "续期保费 保单8860000000000001"
    assert first.raw["customer_reference"] == "RD8860000000000001"
    # RC: the reversal of a credit takes money out; RD gives it back
    assert (reversal_of_credit.direction, reversal_of_credit.reversal) == ("debit", True)
    assert (reversal_of_debit.direction, reversal_of_debit.reversal) == ("credit", True)
    assert all("broken line" not in item.remittance for item in parsed.lines)
    assert parsed.meta["encoding"] == "gb18030"


def test_not_mt940_is_unreadable():
    with pytest.raises(UnreadableFile, match="not an MT940 statement"):
        parse_mt940("交易日期,收入金额\n2026-11-25,300.00\n".encode())
