"""Bank statement CSVs through the built-in templates and a saved mapping."""

import datetime as dt

import pytest

from billing.importers import parse, parse_csv
from billing.importers.base import BadOptions, UnreadableFile

from .helpers import D, fixture, line_at


def test_cn_online_banking_gbk_with_preamble():
    # Our fixture: 5 preamble lines, the header on line 6, rows on lines 7-12.
    # 7: 收入 300.00 CNY; 8: "1,200.00" CNY; 9: only 支出金额 (no income: skipped, warned);
    # 10: -300.00 冲正 (a debit, a reversal); 11: 2400.00 USD (kept in USD); 12: 合计 (skipped).
    # -> 4 lines: credits CNY 300.00 + 1200.00 = 1500.00 and USD 2400.00; debit CNY 300.00.
    parsed = parse_csv(fixture("bank_cn_online_banking_gbk.csv"), "cn-online-banking")

    assert parsed.errors == []
    assert [item.line for item in parsed.lines] == [7, 8, 10, 11]
    assert parsed.counts() == {"credit": 3, "debit": 1}
    assert parsed.totals() == {"credit": {"CNY": D("1500.00"), "USD": D("2400.00")}, "debit": {"CNY": D("300.00")}}
    assert [(w.line, w.reason) for w in parsed.warnings] == [
        (9, "no amount in this row: skipped"), (12, "summary row skipped: '合计 3600.00 50.00'")]
    assert parsed.meta["encoding"] == "gb18030"
    assert parsed.account == "6222020200001234567" and parsed.currency == "CNY"

    first = line_at(parsed, 7)
    assert first.value_date == dt.date(2026, 11, 20)
    assert first.amount == D("300.00") and first.direction == "credit"
    assert first.payer_name == "张伟" and first.payer_account == "6222020200001234"
    assert first.reference == "ICBC2026112000001"
    assert "8860000000000001" in first.remittance
    assert line_at(parsed, 8).amount == D("1200.00")
    reversal = line_at(parsed, 10)
    assert (reversal.direction, reversal.amount, reversal.reversal) == ("debit", D("300.00"), True)
    foreign = line_at(parsed, 11)
    assert (foreign.currency, foreign.account_currency, foreign.value_date) == ("USD", "CNY", dt.date(2026, 11, 23))


GENERIC = (
    "导出时间：2026-11-25 09:00\n"
    "\n"
    "value_date,amount,currency,payer_name,payer_account,reference,remittance\n"
    "2026-11-20,300.00,CNY,张伟,6222020200001234,R0001,续期保费 保单8860000000000001\n"
    "2026-11-2x,300.00,CNY,王芳,6217000010001234567,R0002,保单8860000000000002\n"
    "2026-11-21,abc,CNY,王芳,6217000010001234567,R0003,保单8860000000000002\n"
    "2026-11-22,-50.00,,中国工商银行,,R0004,退款\n"
    '2026-11-23,100.00,CNY,李四,,R0005,"保单8860000000000005\n十一月"\n'
    "2026-11-24,200.00,CNY,赵六,,R0006,保单8860000000000006\n"
)


def test_generic_utf8_bom_malformed_lines_in_the_middle():
    # Physical lines: 1 preamble, 2 blank, 3 header, 4 good, 5 bad date, 6 bad amount, 7 negative
    # (a debit, currency defaulting to CNY), 8-9 one row with a quoted line break, 10 good.
    parsed = parse_csv(b"\xef\xbb\xbf" + GENERIC.encode("utf-8"))

    assert [(e.line, e.reason) for e in parsed.errors] == [
        (5, "value_date: not a date: '2026-11-2x'"), (6, "amount: not an amount: 'abc'")]
    assert [item.line for item in parsed.lines] == [4, 7, 8, 10]
    assert parsed.totals() == {"credit": {"CNY": D("600.00")}, "debit": {"CNY": D("50.00")}}
    debit = line_at(parsed, 7)
    assert (debit.direction, debit.amount, debit.currency, debit.reversal) == ("debit", D("50.00"), "CNY", False)
    assert line_at(parsed, 8).remittance == "保单8860000000000005 十一月"
    assert parsed.meta["encoding"] == "utf-8-sig"


def test_same_file_in_gbk_and_utf8_gives_the_same_lines():
    utf8 = parse("csv", GENERIC.encode("utf-8"), template="generic")
    gbk = parse("csv", GENERIC.encode("gbk"), template="generic")

    assert [(i.line, i.amount, i.payer_name, i.remittance) for i in utf8.lines] == \
           [(i.line, i.amount, i.payer_name, i.remittance) for i in gbk.lines]
    assert gbk.meta["encoding"] == "gb18030"


def test_a_saved_mapping_with_direction_column_and_several_remittance_columns():
    data = (
        "记账日期\t交易金额\t借贷标志\t对方名称\t对方账号\t流水号\t用途\t附言\n"
        "20261120\t300.00\t贷\t张伟\t6222020200001234\tB001\t保费\t保单8860000000000001\n"
        "20261121\t50.00\t借\t本行\t\tB002\t手续费\t\n"
        "20261122\t-300.00\t贷\t张伟\t6222020200001234\tB003\t退回\t保单8860000000000001\n"
    ).encode("gbk")
    mapping = {"value_date": "记账日期", "amount": "交易金额", "direction": "借贷标志", "payer_name": "对方名称",
               "payer_account": "对方账号", "reference": "流水号", "remittance": ["用途", "附言"]}

    parsed = parse_csv(data, mapping)

    assert [(i.line, i.direction, i.amount, i.reversal) for i in parsed.lines] == [
        (2, "credit", D("300.00"), False), (3, "debit", D("50.00"), False), (4, "debit", D("300.00"), True)]
    assert parsed.lines[0].remittance == "保费 保单8860000000000001"
    assert parsed.lines[0].value_date == dt.date(2026, 11, 20)


def test_template_and_header_problems():
    with pytest.raises(BadOptions, match="unknown CSV template"):
        parse_csv(b"a,b\n", "hsbc")
    with pytest.raises(BadOptions, match="unknown field"):
        parse_csv(b"a,b\n", {"value_date": "a", "amount": "b", "policy": "c"})
    with pytest.raises(UnreadableFile, match="no header row with the columns 交易日期, 收入金额"):
        parse_csv(GENERIC.encode(), "cn-online-banking")
    with pytest.raises(UnreadableFile, match="neither UTF-8 nor GBK"):
        parse_csv(b"value_date,amount\n\xff\xfe\xfd\x80", "generic")
