"""The shared rules: amounts, dates, the registry, and that every sample file is under test."""

import datetime as dt
from pathlib import Path

import pytest

from billing.importers import PARSERS, parse
from billing.importers.base import BadOptions, StatementLine, parse_amount, parse_date, squash

from .helpers import SAMPLES, D

# Every file of the shared samples folder, and the test that counts its lines by hand.
COVERED = {
    "alipay/example-alipay-records_personal_gbk.csv": "test_alipay",
    "wechatpay/example-wechat-records_personal.csv": "test_wechatpay",
    "camt053/abnamro_sample_camt053.001.02.xml": "test_camt",
    "camt053/genkgo_camt053.v2.five.decimals.xml": "test_camt",
    "camt053/genkgo_camt053.v8.xml": "test_camt",
    "camt053/goldmansachs_us_camt053.001.02.xml": "test_camt",
    "camt053/ing_sample_camt053.001.02.xml": "test_camt",
    "camt053/nordea_sample_camt053.001.02.xml": "test_camt",
    "camt053/oca_test-camt053-txdtls_ch.001.04.xml": "test_camt",
    "camt053/oca_test-camt053_insurance_reversal.001.02.xml": "test_camt",
    "camt053/subite_LT_2024-04-11_minified.001.08.xml": "test_camt",
    "camt054/genkgo_camt054.v2.xml": "test_camt",
    "camt054/genkgo_camt054.v8.xml": "test_camt",
    "camt054/oca_test-camt054_qrr.001.04.xml": "test_camt",
    "camt054/oca_test-sepa-camt054-unpaid_AC06.001.02.xml": "test_camt",
    "mt940/asnb_swift_blocks.txt": "test_mt940",
    "mt940/betterplace_sepa_snippet_de.sta": "test_mt940",
    "mt940/cmxl_mt940_de.sta": "test_mt940",
    "mt940/jejik_abnamro.sta": "test_mt940",
    "mt940/jejik_ing.sta": "test_mt940",
    "mt940/mbank_pl.sta": "test_mt940",
    "mt940/sberbank_hu_insurance_dd.sta": "test_mt940",
    "pain002/crossriver_pain002.001.03_txn_rejected_badXmlns.xml": "test_debit_results",
    "pain002/nordea_pain002.001.03_pmtinf_reject_NARR.xml": "test_debit_results",
    "pain002/nordea_pain002.001.03_txn_reject_NARR.xml": "test_debit_results",
    "pain002/oca_test-sepa-pain002-unpaid_AC01_MS02_MD06_AM04.xml": "test_debit_results",
    "pain002/sepaking_pain.002.002.03_sdd_AC01.xml": "test_debit_results",
    "pain008/phpsepaxml_pain.008.001.08.xml": "test_debit_results",
    "pain008/sepaking_pain.008.001.02.xml": "test_debit_results",
    "pain008/sepaking_pain.008.003.02.xml": "test_debit_results",
}


def test_every_sample_file_is_under_test():
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared samples folder {SAMPLES} is missing")
    on_disk = {str(path.relative_to(SAMPLES)) for path in SAMPLES.rglob("*") if path.is_file()} - {"README.md"}

    assert on_disk == set(COVERED)
    here = Path(__file__).parent
    for name, module in COVERED.items():
        assert Path(name).name in (here / f"{module}.py").read_text(), f"{name} is not used in {module}"


@pytest.mark.parametrize(("written", "amount"), [
    ("300.00", "300.00"), ("01.00", "1.00"), ("8.850", "8.85"), ("0.01000", "0.01"), ("388645", "388645.00"),
    ("1,234.56", "1234.56"), ("1.234,56", "1234.56"), ("1,200.00", "1200.00"), ("¥50.0", "50.00"),
    ("￥1,000", "1000.00"), ("-12.00", "-12.00"), ("(12.00)", "-12.00"), ("12.00-", "-12.00"), ("`0.60", "0.60"),
    ("３００．００", "300.00"), ("1.005", "1.005"),
])
def test_amounts_as_banks_write_them(written, amount):
    assert parse_amount(written) == D(amount)


@pytest.mark.parametrize("written", ["300.00", "01.00", "8.850", "0.01000", "388645", "0", "1.005", "12.5",
                                     "000000000000123.40"])
def test_a_plain_amount_reads_as_the_same_amount_written_with_a_currency_mark(written):
    # digits and a point take a short path; the same amount behind ¥ takes the general one
    assert str(parse_amount(written)) == str(parse_amount(f"¥{written}"))
    assert str(parse_amount(written)) == str(parse_amount(f"{written}元"))


def test_a_negative_amount_is_refused_where_it_is_not_allowed():
    assert parse_amount("12.00", allow_negative=False) == D("12.00")
    with pytest.raises(ValueError, match="negative amount not allowed"):
        parse_amount("-12.00", allow_negative=False)


@pytest.mark.parametrize(("written", "squashed"), [
    ("  多个  空格\t", "多个 空格"), ("a\u00a0b", "a b"), ("\u3000全角\u3000空格", "全角 空格"), ("x\r\ny", "x y"), ("", ""),
])
def test_whitespace_runs_become_one_space(written, squashed):
    assert squash(written) == squashed


@pytest.mark.parametrize(("written", "amount"), [("9,", "9.00"), (",4", "0.40"), ("107,5", "107.50"),
                                                 ("1,234", "1.234"), ("1125250,4", "1125250.40")])
def test_decimal_comma_amounts(written, amount):
    assert parse_amount(written, decimal_comma=True) == D(amount)


@pytest.mark.parametrize("written", ["", None, "abc", "1.2.3.4", "12-34", "1,2,3", "--1"])
def test_not_amounts(written):
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(written)


@pytest.mark.parametrize("written", ["2026-11-25", "2026/11/25", "2026.11.25", "2026年11月25日", "20261125",
                                     "2026-11-25 16：33：45", "`2026-11-25 09:00:00", "2026-11-25T23:30:00+08:00"])
def test_dates(written):
    assert parse_date(written) == dt.date(2026, 11, 25)


def test_a_time_with_an_offset_is_read_on_shanghai_calendar():
    assert parse_date("2026-11-24T18:00:00Z") == dt.date(2026, 11, 25)
    assert parse_date("2026-11-24T23:30:00.000+01:00") == dt.date(2026, 11, 25)
    assert parse_date("2026-11-25T07:59:00+08:00") == dt.date(2026, 11, 25)
    assert parse_date("2026-11-24T23:30:00") == dt.date(2026, 11, 24)  # no offset: local already


@pytest.mark.parametrize("written", ["2026-11-2x", "2026-02-30", "25/11/2026", ""])
def test_not_dates(written):
    with pytest.raises(ValueError, match="not a date"):
        parse_date(written)


def test_registry_and_single_entry():
    assert set(PARSERS) == {"camt053", "camt054", "mt940", "csv", "alipay", "wechatpay", "pain002",
                            "debit_result_csv"}
    with pytest.raises(BadOptions, match="unknown statement format 'bai2'"):
        parse("bai2", b"")
    with pytest.raises(BadOptions, match="does not take the option"):
        parse("mt940", b":20:X\n", template="generic")


def test_a_line_refuses_a_negative_amount_or_an_unknown_direction():
    with pytest.raises(ValueError):
        StatementLine(line=1, value_date=None, booking_date=None, amount=D("-1.00"), direction="credit",
                      currency="CNY", account="")
    with pytest.raises(ValueError):
        StatementLine(line=1, value_date=None, booking_date=None, amount=D("1.00"), direction="in",
                      currency="CNY", account="")
