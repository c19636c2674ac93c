"""The files the outside world sends the demo department on a working day, as bytes in the real
layouts the importers read (billing/importers/README.md): the bank's online-banking CSV
statement (built-in template cn-online-banking), the Alipay merchant 业务明细 bill, the WeChat Pay
merchant trade bill (27 columns) and the bank's pain.002 answer to a debit batch."""

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class MoneyLine:
    """One incoming payment as the payer made it."""

    value_date: dt.date
    amount: Decimal
    payer_name: str
    payer_account: str
    text: str
    reference: str


def bank_statement_csv(lines: list[MoneyLine]) -> bytes:
    """The Chinese online-banking export: 交易日期, 收入金额, 币种, 对方户名, 对方账号, 交易流水号, 摘要."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["交易日期", "收入金额", "币种", "对方户名", "对方账号", "交易流水号", "摘要"])
    for line in lines:
        writer.writerow([line.value_date.isoformat(), f"{line.amount:.2f}", "CNY", line.payer_name, line.payer_account,
                         line.reference, line.text])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


ALIPAY_HEADER = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
                 "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
                 "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")


def alipay_bill(lines: list[MoneyLine], *, account: str, day: dt.date) -> bytes:
    """Alipay's merchant 业务明细 (GBK, `#` preamble and footer, ids ending with a TAB)."""
    start = min((line.value_date for line in lines), default=day)
    rows = ["#支付宝业务明细查询", f"#账号：[{account}]",
            f"#起始日期：[{start:%Y年%m月%d日} 00:00:00]   终止日期：[{day + dt.timedelta(days=1):%Y年%m月%d日} 00:00:00]",
            "#-----------------------------------------业务明细列表----------------------------------------",
            ALIPAY_HEADER]
    total = Decimal("0.00")
    for line in lines:
        fee = (line.amount * Decimal("0.006")).quantize(Decimal("0.01"))
        paid_at = f"{line.value_date.isoformat()} 10:00:00"
        rows.append(",".join([
            f"{line.reference}\t", f"RD{line.reference[-12:]}\t", "交易", line.text.replace(",", " "), paid_at, paid_at,
            "", "", "", "", "***", f"{line.amount:.2f}", f"{line.amount:.2f}", "0.00", "0.00", "0.00", "0.00", "0.00",
            "", "0.00", "0.00", "\t", f"-{fee:.2f}", "0.00", ""]))
        total += line.amount
    rows += ["#-----------------------------------------业务明细列表结束------------------------------------",
             f"#交易合计：{len(lines)}笔，商家实收共{total:.2f}元，商家优惠共0.00元",
             "#退款合计：0笔，商家实收共0.00元，商家优惠共0.00元",
             f"#导出时间：[{day:%Y年%m月%d日} 18:00:00]"]
    return ("\n".join(rows) + "\n").encode("gbk")


WECHAT_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
                 "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
                 "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")


def wechat_bill(lines: list[MoneyLine], *, merchant: str) -> bytes:
    """WeChat Pay's merchant trade bill, 27 columns, every cell behind a backtick."""
    rows = [WECHAT_HEADER]
    total = fees = Decimal("0.00")
    for line in lines:
        fee = (line.amount * Decimal("0.006")).quantize(Decimal("0.00001"))
        cells = [f"{line.value_date.isoformat()} 12:00:00", "wx8888888888888888", merchant, "0", "", line.reference,
                 f"RD{line.reference[-12:]}", f"o{line.reference[-16:]}", "JSAPI", "SUCCESS", "CMB_DEBIT", "CNY",
                 f"{line.amount:.2f}", "0.00", "0", "0", "0.00", "0.00", "", "", line.text.replace(",", " "), "",
                 f"{fee}", "0.60%", f"{line.amount:.2f}", "0.00", ""]
        rows.append(",".join("`" + cell for cell in cells))
        total += line.amount
        fees += fee
    rows.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
    rows.append(",".join("`" + cell for cell in [str(len(lines)), f"{total:.2f}", "0.00", "0.00", f"{fees}",
                                                  f"{total:.2f}", "0.00"]))
    return ("\n".join(rows) + "\n").encode("utf-8")


ISO_CODES = {"insufficient_funds": ("AM04", "余额不足"), "account_frozen": ("AC06", "账户冻结"),
             "account_closed": ("AC04", "账户已销户"), "invalid_account": ("AC01", "账号不存在"),
             "name_mismatch": ("BE01", "户名不符"),
             # the bank's system down (behaviour.bank_outage): not specified, agent generated
             "bank_outage": ("MS03", "银行系统故障，交易未处理")}


@dataclass(frozen=True)
class DebitAnswer:
    end_to_end_id: str
    amount: Decimal
    result: str  # paid, or one of our failure reasons


def pain002(*, batch_reference: str, answers: list[DebitAnswer], created: dt.date) -> bytes:
    """The bank's CustomerPaymentStatusReport (pain.002.001.03) for one debit batch: ACSC for a
    collected debit, RJCT with the ISO reason code and the bank's words for a failed one."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>',
             f"<GrpHdr><MsgId>RES-{escape(batch_reference)}</MsgId><CreDtTm>{created.isoformat()}T18:00:00+08:00</CreDtTm>"
             "</GrpHdr>",
             f"<OrgnlGrpInfAndSts><OrgnlMsgId>{escape(batch_reference)}</OrgnlMsgId>"
             f"<OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId><OrgnlNbOfTxs>{len(answers)}</OrgnlNbOfTxs>"
             "</OrgnlGrpInfAndSts>",
             f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{escape(batch_reference)}</OrgnlPmtInfId>"
             f"<OrgnlNbOfTxs>{len(answers)}</OrgnlNbOfTxs>"]
    for answer in answers:
        amount = f'<OrgnlTxRef><Amt><InstdAmt Ccy="CNY">{answer.amount:.2f}</InstdAmt></Amt></OrgnlTxRef>'
        if answer.result == "paid":
            status = "<TxSts>ACSC</TxSts>"
        else:
            code, words = ISO_CODES[answer.result]
            status = f"<TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>{code}</Cd></Rsn><AddtlInf>{words}</AddtlInf></StsRsnInf>"
        parts.append(f"<TxInfAndSts><OrgnlEndToEndId>{escape(answer.end_to_end_id)}</OrgnlEndToEndId>{status}{amount}"
                     "</TxInfAndSts>")
    parts.append("</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>")
    return "\n".join(parts).encode("utf-8")
