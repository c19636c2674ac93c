"""Alipay: the real personal export (GBK) and our own merchant 业务明细 fixture."""

import datetime as dt
import io
import zipfile

import pytest

from billing.importers import parse, parse_alipay
from billing.importers.base import UnreadableFile

from .helpers import D, fixture, line_at, sample


def test_personal_export_sample_lines_and_totals():
    # 24 preamble lines, header on line 25, 10 rows on lines 26-35. By 收/支 and 交易状态:
    # 26 支出 49.74 交易成功        -> debit
    # 27 支出 20.00 等待确认收货    -> debit (the money has left the balance)
    # 28 不计收支 16.03 退款成功    -> skipped (neither)
    # 29 不计收支 99.34             -> skipped
    # 30 收入 222228.50 交易成功    -> credit
    # 31 不计收支 82.00 交易关闭    -> skipped
    # 32 不计收支 50.00 退款成功    -> skipped
    # 33 支出 50.00 交易关闭        -> skipped (closed: refunded by row 32)
    # 34 支出 9.90, 35 支出 82.00   -> debits
    # = 5 lines: 1 credit 222228.50; 4 debits 49.74 + 20.00 + 9.90 + 82.00 = 161.64.
    parsed = parse_alipay(sample("alipay/example-alipay-records_personal_gbk.csv"))

    assert parsed.errors == []
    assert [item.line for item in parsed.lines] == [26, 27, 30, 34, 35]
    assert parsed.counts() == {"credit": 1, "debit": 4}
    assert parsed.totals() == {"credit": {"CNY": D("222228.50")}, "debit": {"CNY": D("161.64")}}
    assert [w.line for w in parsed.warnings if "skipped" in w.reason] == [28, 29, 31, 32, 33]
    # what the preamble declares (the maintainers trimmed the rows, so it does not match them)
    assert parsed.declared == {"count": 66, "credit_count": 1, "credit_total": D("28.50"), "debit_count": 63,
                               "debit_total": D("16.54"), "neither_count": 2, "neither_total": D("16.37")}
    assert parsed.meta["encoding"] == "gb18030" and parsed.account == "xx@gmail.com"


def test_personal_export_fields():
    parsed = parse_alipay(sample("alipay/example-alipay-records_personal_gbk.csv"))

    first = line_at(parsed, 26)
    assert first.value_date == dt.date(2023, 2, 12)
    assert first.amount == D("49.74")
    assert first.reference == "202302xxxxxx0011000103xxxxxx"  # padded, with a trailing TAB in the file
    assert first.remittance == "亲情卡" and first.payer_account == ""  # `/` is empty
    income = line_at(parsed, 30)
    assert (income.direction, income.payer_name, income.payer_account) == ("credit", "xxxx", "xxx***@163.com")
    # `xxxx` (anonymised) is the 交易订单号 of rows 34 and 35: not an identity
    assert line_at(parsed, 34).reference == "" and line_at(parsed, 34).raw["bank_reference"] == "xxxx"


def test_merchant_trade_bill():
    # Our fixture: 4 `#` lines, the header on line 5, rows on 6-9, then 4 `#` footer lines.
    # 6 交易 300.00, 7 交易 1200.00, 8 退款 -300.00 (same 支付宝交易号 as 6), 9 交易 2400.00
    # -> credits 300 + 1200 + 2400 = 3900.00 (3), debit 300.00 (1), as the footer declares.
    parsed = parse_alipay(fixture("alipay_merchant_trade_gbk.csv"))

    assert parsed.errors == [] and parsed.warnings == []
    assert [item.line for item in parsed.lines] == [6, 7, 8, 9]
    assert parsed.counts() == {"credit": 3, "debit": 1}
    assert parsed.totals() == {"credit": {"CNY": D("3900.00")}, "debit": {"CNY": D("300.00")}}
    assert parsed.declared == {"credit_count": 3, "credit_total": D("3900.00"), "debit_count": 1,
                               "debit_total": D("300.00")}
    assert parsed.account == "20881234567890120156"
    payment, refund = line_at(parsed, 6), line_at(parsed, 8)
    assert payment.reference == "2026112022001412345678901234"  # the trailing TAB is gone
    assert "8860000000000001" in payment.remittance and "RD8860000000000001202611" in payment.remittance
    assert payment.value_date == dt.date(2026, 11, 20)
    assert (refund.direction, refund.amount, refund.reversal) == ("debit", D("300.00"), True)
    assert refund.reference == "2026112022001412345678901234/RF8860000000000001202611"


def test_merchant_trade_bill_inside_its_zip():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("20881234567890120156_20261124_业务明细(汇总).csv", "#汇总\n".encode("gbk"))
        handle.writestr("20881234567890120156_20261124_业务明细.csv", fixture("alipay_merchant_trade_gbk.csv"))

    parsed = parse("alipay", archive.getvalue())

    assert len(parsed.lines) == 4
    assert parsed.meta["member"] == "20881234567890120156_20261124_业务明细.csv"


def test_not_an_alipay_bill():
    with pytest.raises(UnreadableFile, match="not an Alipay bill"):
        parse_alipay(sample("wechatpay/example-wechat-records_personal.csv"))
