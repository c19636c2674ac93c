"""WeChat Pay: the real personal export and our own merchant trade and fund-flow fixtures."""

import datetime as dt
import gzip

import pytest

from billing.importers import parse_wechatpay
from billing.importers.base import UnreadableFile

from .helpers import D, fixture, line_at, sample


def test_personal_export_sample_lines_and_totals():
    # 16 preamble lines, header on line 17, 27 rows on lines 18-44. By 收/支:
    # 支出 (11): 18 28.16, 20 12.00, 21 500.00, 34 2243.46, 35 12.00, 36 12.00, 39 36.99,
    #            41 9.90, 42 `¥50.0`, 43 0.01, 44 0.01 = 2904.53
    # 收入 (5):  19 0.35, 22 23.00, 37 0.07, 38 0.07, 40 5.00 = 28.49
    # `/` (11):  23-33 (零钱通, 提现, 充值, 理财通, 信用卡还款): moves between own balances, skipped.
    parsed = parse_wechatpay(sample("wechatpay/example-wechat-records_personal.csv"))

    assert parsed.errors == []
    assert len(parsed.lines) == 16
    assert parsed.counts() == {"credit": 5, "debit": 11}
    assert parsed.totals() == {"credit": {"CNY": D("28.49")}, "debit": {"CNY": D("2904.53")}}
    assert [w.line for w in parsed.warnings if "neither" in w.reason] == list(range(23, 34))
    assert parsed.declared == {"count": 43, "credit_count": 1, "credit_total": D("0.35"), "debit_count": 1,
                               "debit_total": D("28.16"), "neither_count": 0, "neither_total": D("0.00")}


def test_personal_export_fields():
    parsed = parse_wechatpay(sample("wechatpay/example-wechat-records_personal.csv"))

    first = line_at(parsed, 18)
    assert first.value_date == dt.date(2019, 9, 26)
    assert first.amount == D("28.16") and first.direction == "debit"
    assert first.payer_name == "云膳过桥米线(传奇广场店)"
    assert line_at(parsed, 42).amount == D("50.00")  # `¥50.0`
    received = line_at(parsed, 40)
    assert received.reference == "180000737623062310106004541373333333333333333"  # trailing spaces gone
    assert received.remittance == "赞赏作者的收款_20230623"
    assert line_at(parsed, 37).payer_name == '打开拼多多，点击底部"多多视频"'
    # 3985734 is the (anonymised) 交易单号 of 7 rows: no identity, the caller hashes
    assert line_at(parsed, 18).reference == ""


def test_merchant_trade_bill_27_columns():
    # Our fixture: header line 1; rows 2-6; summary header line 7, summary line 8.
    # 2 SUCCESS 300.00, 3 SUCCESS 1200.00, 4 REFUND 300.00 (of row 2), 5 REVOKED 88.00 (skipped),
    # 6 SUCCESS 2400.00 -> credits 3900.00 (3), debit 300.00 (1): the summary's 应结订单总金额 and
    # 退款总金额.
    parsed = parse_wechatpay(fixture("wechat_trade_all_27.csv"))

    assert parsed.errors == []
    assert [item.line for item in parsed.lines] == [2, 3, 4, 6]
    assert parsed.totals() == {"credit": {"CNY": D("3900.00")}, "debit": {"CNY": D("300.00")}}
    assert [(w.line, w.reason.split(":")[0]) for w in parsed.warnings] == [(5, "交易状态 REVOKED")]
    assert parsed.declared["credit_total"] == D("3900.00") and parsed.declared["debit_total"] == D("300.00")
    assert parsed.declared["fee_total"] == D("21.60")  # `21.60000`
    assert parsed.meta["layout"] == "merchant-trade" and parsed.account == "1900012345"
    payment = line_at(parsed, 2)
    assert payment.reference == "4200002026112012345678901234"  # the backtick is gone
    assert payment.value_date == dt.date(2026, 11, 20)
    assert "8860000000000001" in payment.remittance
    assert payment.raw["手续费"] == "1.80000"
    refund = line_at(parsed, 4)
    assert (refund.direction, refund.amount, refund.reversal) == ("debit", D("300.00"), True)
    assert refund.reference == "50300001202611220123456789"
    assert refund.raw["original_reference"] == payment.reference


def test_merchant_trade_bill_legacy_24_columns_full_width_colons_gzip():
    # Our fixture: rows 2 SUCCESS 500.00, 3 SUCCESS 88.88, 4 REFUND 50.00; times like 16：33：45.
    parsed = parse_wechatpay(gzip.compress(fixture("wechat_trade_legacy_24.csv")))

    assert parsed.errors == []
    assert parsed.meta["layout"] == "merchant-trade-24"
    assert parsed.totals() == {"credit": {"CNY": D("588.88")}, "debit": {"CNY": D("50.00")}}
    assert line_at(parsed, 2).value_date == dt.date(2026, 11, 21)
    assert line_at(parsed, 4).value_date == dt.date(2026, 11, 22)
    assert parsed.declared["credit_total"] == D("588.88") and parsed.declared["count"] == 3


def test_merchant_fund_flow_bill():
    # Our fixture: 5 rows (lines 2-6): 收入 300.00, 支出 1.80 (fee), 收入 1200.00, 支出 300.00
    # (refund), 支出 1198.20 (withdrawal) -> credits 1500.00 (2), debits 1500.00 (3).
    parsed = parse_wechatpay(fixture("wechat_fundflow.csv"))

    assert parsed.errors == []
    assert parsed.counts() == {"credit": 2, "debit": 3}
    assert parsed.totals() == {"credit": {"CNY": D("1500.00")}, "debit": {"CNY": D("1500.00")}}
    assert {k: parsed.declared[k] for k in ("credit_count", "credit_total", "debit_count", "debit_total")} == {
        "credit_count": 2, "credit_total": D("1500.00"), "debit_count": 3, "debit_total": D("1500.00")}
    first = line_at(parsed, 2)
    assert first.reference == "1000001234202611200000000001"
    assert first.remittance == "续期保费 交易 保单8860000000000001 11月保费"  # `\r\n` in 备注 unescaped
    assert line_at(parsed, 5).reversal is True


def test_bad_amount_in_a_merchant_bill_is_reported_with_its_line():
    data = fixture("wechat_trade_all_27.csv").decode().replace("`1200.00", "`1２OO.00", 1).encode()

    parsed = parse_wechatpay(data)

    assert [(e.line, e.reason.split(":")[0]) for e in parsed.errors] == [(3, "应结订单金额")]
    assert [item.line for item in parsed.lines] == [2, 4, 6]


def test_not_a_wechat_bill():
    with pytest.raises(UnreadableFile, match="not a WeChat Pay bill"):
        parse_wechatpay(sample("alipay/example-alipay-records_personal_gbk.csv"))
