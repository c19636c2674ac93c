"""WeChat Pay bills: the personal 微信支付账单明细 export and the merchant trade (交易账单) and
fund-flow (资金账单) bills.

Personal: UTF-8, a 16-line preamble padded with commas, then
`交易时间,交易类型,交易对方,商品,收/支,金额(元),支付方式,当前状态,交易单号,商户单号,备注`.
Amounts are `¥`-prefixed, `/` means empty, ids end with a TAB or spaces. 收/支 收入 is a credit,
支出 a debit; `/` (a move between one's own balances: 零钱通, 提现, 充值) is neither and is
skipped with a warning, as are failed, closed and revoked payments.

Merchant bills (optionally GZIP): every value is prefixed with a backtick; the detail rows are
followed by a summary header and one summary row. Trade bill, 27 columns (ALL, since 2018) or the
legacy 24 (总金额 / 代金券或立减优惠金额, times sometimes written with full-width colons):
SUCCESS rows are money received (应结订单金额, the amount that settles to us, else 总金额),
REFUND rows are debits that reverse a payment (退款金额), identified by 微信退款单号; other
states are skipped with a warning. Fund-flow bill: 收支类型 收入/支出 with unsigned amounts.
"""

from __future__ import annotations

from .base import (
    CREDIT,
    DEBIT,
    LineError,
    ParsedStatement,
    StatementLine,
    UnreadableFile,
    clean_cell,
    decode_text,
    join_text,
    new_statement,
    parse_amount,
    parse_date,
    squash,
)
from .tabular import cell, column_index, count_and_sum, empty, find_header, has, is_blank, norm, read_rows, unpack

_PERSONAL = {"交易时间", "交易类型", "收/支", "交易单号"}
_TRADE = {"交易时间", "微信订单号", "交易状态"}
_FUND_FLOW = {"记账时间", "资金流水单号", "收支类型"}
_TRADE_SUMMARY = "总交易单数"
_FUND_FLOW_SUMMARY = "资金流水总笔数"


def _wants(names: set[str]):
    normalised = {norm(n) for n in names}
    return lambda cells: normalised <= cells


def parse_wechatpay(data: bytes, *, encoding: str | None = None) -> ParsedStatement:
    data, _ = unpack(data)
    text, used = decode_text(data, encoding=encoding)
    rows = read_rows(text)
    meta = {"encoding": used}
    at = find_header(rows, _wants(_TRADE))
    if at is not None:
        return _trade(rows, at, meta)
    at = find_header(rows, _wants(_FUND_FLOW))
    if at is not None:
        return _fund_flow(rows, at, meta)
    at = find_header(rows, _wants(_PERSONAL))
    if at is not None:
        return _personal(rows, at, meta)
    raise UnreadableFile("not a WeChat Pay bill: no header with 交易时间/微信订单号/交易状态 (trade bill), "
                         "记账时间/资金流水单号/收支类型 (fund-flow bill) or 交易时间/交易类型/收/支/交易单号 "
                         "(personal export) found")


def _personal(rows, at: int, meta: dict) -> ParsedStatement:
    header_line, header = rows[at]
    index = column_index(header)
    declared: dict = {}
    account = ""
    for _, cells in rows[:at]:
        line = clean_cell(cells[0]) if cells else ""
        for label, prefix in (("收入", "credit"), ("支出", "debit"), ("中性交易", "neither")):
            if line.startswith(label):
                found = count_and_sum(line)
                if found:
                    declared[f"{prefix}_count"], declared[f"{prefix}_total"] = found
        if line.startswith("共") and "笔" in line:
            digits = "".join(ch for ch in line.split("笔")[0] if ch.isdigit())
            if digits:
                declared["count"] = int(digits)
        if line.startswith("微信昵称"):
            meta["nickname"] = line.split("[", 1)[-1].rstrip("]")
    lines: list[StatementLine] = []
    errors: list[LineError] = []
    warnings: list[LineError] = []
    for line_number, cells in rows[at + 1:]:
        if is_blank(cells):
            continue
        side = empty(cell(cells, index, "收/支"))
        status = cell(cells, index, "当前状态")
        kind = cell(cells, index, "交易类型")
        if side not in ("收入", "支出"):
            warnings.append(LineError(line_number, f"收/支 {side or '/'} ({kind}): neither received nor paid, skipped"))
            continue
        if any(word in status for word in ("失败", "关闭", "撤销")):
            warnings.append(LineError(line_number, f"当前状态 {status}: no money moved, skipped"))
            continue
        try:
            day = parse_date(cell(cells, index, "交易时间"))
        except ValueError as exc:
            errors.append(LineError(line_number, f"交易时间: {exc}"))
            continue
        try:
            amount = parse_amount(cell(cells, index, "金额(元)", "金额"), allow_negative=False)
        except ValueError as exc:
            errors.append(LineError(line_number, f"金额(元): {exc}"))
            continue
        lines.append(StatementLine(
            line=line_number, value_date=day, booking_date=day, amount=amount,
            direction=CREDIT if side == "收入" else DEBIT, currency="CNY", account=account,
            payer_name=empty(cell(cells, index, "交易对方")),
            reference=empty(cell(cells, index, "交易单号")),
            remittance=join_text([empty(cell(cells, index, "商品")), empty(cell(cells, index, "备注"))]),
            reversal="退款" in kind,
            raw={"交易时间": cell(cells, index, "交易时间"), "交易类型": kind, "当前状态": status,
                 "支付方式": empty(cell(cells, index, "支付方式")), "商户单号": empty(cell(cells, index, "商户单号"))},
            account_currency="CNY",
        ))
    meta.update({"layout": "personal", "header_line": header_line})
    return new_statement("wechatpay", lines, errors, warnings, currency="CNY", account=account, declared=declared,
                         meta=meta)


def _summary(rows, start: int, marker: str) -> tuple[int, dict]:
    """(index of the summary header or len(rows), {summary header: value})."""
    for position in range(start, len(rows)):
        cells = rows[position][1]
        if cells and clean_cell(cells[0]) == marker:
            names = [clean_cell(c) for c in cells]
            values = rows[position + 1][1] if position + 1 < len(rows) else []
            return position, {name: clean_cell(value) for name, value in zip(names, values, strict=False) if name}
    return len(rows), {}


def _money(value: str):
    try:
        return parse_amount(value)
    except ValueError:
        return None


def _trade(rows, at: int, meta: dict) -> ParsedStatement:
    header_line, header = rows[at]
    index = column_index(header)
    end, summary = _summary(rows, at + 1, _TRADE_SUMMARY)
    legacy = not has(index, "应结订单金额")
    declared: dict = {"summary": summary}
    if summary.get(_TRADE_SUMMARY, "").isdigit():
        declared["count"] = int(summary[_TRADE_SUMMARY])
    for key, names in (("credit_total", ("应结订单总金额", "总交易额")), ("debit_total", ("退款总金额", "总退款金额")),
                       ("fee_total", ("手续费总金额",)), ("order_total", ("订单总金额",))):
        for name in names:
            if name in summary and _money(summary[name]) is not None:
                declared[key] = _money(summary[name])
                break
    lines: list[StatementLine] = []
    errors: list[LineError] = []
    warnings: list[LineError] = []
    accounts = set()
    for line_number, cells in rows[at + 1:end]:
        if is_blank(cells):
            continue
        status = cell(cells, index, "交易状态").upper()
        if status not in ("SUCCESS", "REFUND"):
            warnings.append(LineError(line_number, f"交易状态 {status or '(empty)'}: not money received or refunded, "
                                                   "skipped"))
            continue
        refund = status == "REFUND"
        when = (cell(cells, index, "退款成功时间") if refund else "") or cell(cells, index, "交易时间")
        try:
            day = parse_date(when)
        except ValueError as exc:
            errors.append(LineError(line_number, f"交易时间: {exc}"))
            continue
        if refund:
            columns: tuple[str, ...] = ("退款金额", "申请退款金额")
        else:
            columns = ("应结订单金额", "总金额", "订单金额")
        value, column = next(((cell(cells, index, c), c) for c in columns if cell(cells, index, c)), ("", columns[0]))
        try:
            amount = abs(parse_amount(value))
        except ValueError as exc:
            errors.append(LineError(line_number, f"{column}: {exc}"))
            continue
        sub_merchant = cell(cells, index, "特约商户号", "子商户号")
        account = sub_merchant if sub_merchant not in ("", "0") else cell(cells, index, "商户号")
        accounts.add(account)
        order_no = cell(cells, index, "商户订单号")
        transaction_id = cell(cells, index, "微信订单号")
        refund_id = cell(cells, index, "微信退款单号")
        currency = (cell(cells, index, "货币种类") or "CNY").upper()
        lines.append(StatementLine(
            line=line_number, value_date=day, booking_date=day, amount=amount, direction=DEBIT if refund else CREDIT,
            currency=currency, account=account, payer_account=cell(cells, index, "用户标识"),
            reference=(refund_id or cell(cells, index, "商户退款单号")) if refund else transaction_id,
            # 商户订单号 is the order number we issued: it carries the policy number.
            remittance=join_text([cell(cells, index, "商品名称"), cell(cells, index, "商户数据包"), order_no]
                                 + ([cell(cells, index, "商户退款单号")] if refund else [])),
            reversal=refund,
            raw={"交易时间": when, "交易状态": status, "交易类型": cell(cells, index, "交易类型"), "商户订单号": order_no,
                 "微信订单号": transaction_id, "付款银行": cell(cells, index, "付款银行"),
                 "手续费": cell(cells, index, "手续费"), "费率": cell(cells, index, "费率"),
                 **({"original_reference": transaction_id, "退款类型": cell(cells, index, "退款类型"),
                     "退款状态": cell(cells, index, "退款状态")} if refund else {})},
            account_currency=currency,
        ))
    meta.update({"layout": "merchant-trade-24" if legacy else "merchant-trade", "header_line": header_line,
                 "columns": len(header)})
    return new_statement("wechatpay", lines, errors, warnings, currency="CNY",
                         account=accounts.pop() if len(accounts) == 1 else "", declared=declared, meta=meta)


def _fund_flow(rows, at: int, meta: dict) -> ParsedStatement:
    header_line, header = rows[at]
    index = column_index(header)
    end, summary = _summary(rows, at + 1, _FUND_FLOW_SUMMARY)
    declared: dict = {"summary": summary}
    for key, name in (("count", "资金流水总笔数"), ("credit_count", "收入笔数"), ("debit_count", "支出笔数")):
        if summary.get(name, "").isdigit():
            declared[key] = int(summary[name])
    for key, name in (("credit_total", "收入金额"), ("debit_total", "支出金额")):
        if name in summary and _money(summary[name]) is not None:
            declared[key] = _money(summary[name])
    lines: list[StatementLine] = []
    errors: list[LineError] = []
    warnings: list[LineError] = []
    for line_number, cells in rows[at + 1:end]:
        if is_blank(cells):
            continue
        side = cell(cells, index, "收支类型")
        if side not in ("收入", "支出"):
            errors.append(LineError(line_number, f"收支类型: neither 收入 nor 支出: {side!r}"))
            continue
        try:
            day = parse_date(cell(cells, index, "记账时间"))
        except ValueError as exc:
            errors.append(LineError(line_number, f"记账时间: {exc}"))
            continue
        try:
            amount = abs(parse_amount(cell(cells, index, "收支金额(元)")))
        except ValueError as exc:
            errors.append(LineError(line_number, f"收支金额(元): {exc}"))
            continue
        kind = cell(cells, index, "业务类型")
        # 备注 has its CR/LF written as the two characters \r \n.
        note = squash(cell(cells, index, "备注").replace("\\r", " ").replace("\\n", " "))
        lines.append(StatementLine(
            line=line_number, value_date=day, booking_date=day, amount=amount,
            direction=CREDIT if side == "收入" else DEBIT, currency="CNY", account="",
            reference=cell(cells, index, "资金流水单号"),
            remittance=join_text([cell(cells, index, "业务名称"), kind, note]),
            reversal="退款" in kind,
            raw={"记账时间": cell(cells, index, "记账时间"), "微信支付业务单号": cell(cells, index, "微信支付业务单号"),
                 "业务名称": cell(cells, index, "业务名称"), "业务类型": kind,
                 "账户结余": cell(cells, index, "账户结余(元)"), "业务凭证号": cell(cells, index, "业务凭证号"),
                 "资金变更提交申请人": cell(cells, index, "资金变更提交申请人")},
            account_currency="CNY",
        ))
    meta.update({"layout": "merchant-fund-flow", "header_line": header_line})
    return new_statement("wechatpay", lines, errors, warnings, currency="CNY", account="", declared=declared,
                         meta=meta)
