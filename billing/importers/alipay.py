"""Alipay bills: the personal 交易明细 export and the merchant 业务明细 trade bill.

Personal export (2023 layout): GBK, 24 preamble lines (export info, totals, notes), then
`交易时间,交易分类,交易对方,对方账号,商品说明,收/支,金额,收/付款方式,交易状态,交易订单号,商家订单号,备注,`.
Cells are padded with spaces, ids end with a TAB, every row ends with a comma. 收/支 is 收入
(credit), 支出 (debit) or 不计收支: the last is neither (refunds to a card, transfers between
one's own balances) and is skipped with a warning, as is a 交易关闭 (closed) trade: its money
either never moved or was refunded in full.

Merchant 业务明细 (bill_type `trade`; a .csv.zip holding 业务明细.csv and 业务明细(汇总).csv):
GBK, `#` comment lines around a 25-column table whose ids end with a TAB. 业务类型 交易 is money
received; a 退款 row repeats the 支付宝交易号 with negative amounts and is a debit that reverses
the payment. The amount is 商家实收 (what reaches the merchant), else 订单金额. The footer's
`#交易合计` and `#退款合计` are the declared totals.
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

_PERSONAL = {"交易时间", "收/支", "交易订单号"}
_MERCHANT = {"支付宝交易号", "业务类型"}


def _prefer_detail(name: str) -> int:
    """In the zip: the detail file, not its 汇总 (summary) twin."""
    return (2 if "明细" in name else 0) + (0 if "汇总" in name else 1) + (1 if name.lower().endswith(".csv") else 0)


def parse_alipay(data: bytes, *, encoding: str | None = None) -> ParsedStatement:
    data, member = unpack(data, prefer=_prefer_detail)
    text, used = decode_text(data, encoding=encoding)
    rows = read_rows(text)
    at = find_header(rows, lambda cells: {norm(n) for n in _MERCHANT} <= cells)
    if at is not None:
        return _merchant(rows, at, {"encoding": used, "member": member, "layout": "merchant-trade"})
    at = find_header(rows, lambda cells: {norm(n) for n in _PERSONAL} <= cells)
    if at is not None:
        return _personal(rows, at, {"encoding": used, "member": member, "layout": "personal"})
    raise UnreadableFile("not an Alipay bill: no header with 交易时间/收/支/交易订单号 (personal) or "
                         "支付宝交易号/业务类型 (merchant 业务明细) found")


def _personal(rows, at: int, meta: dict) -> ParsedStatement:
    header_line, header = rows[at]
    index = column_index(header)
    declared: dict = {}
    account = ""
    for _, cells in rows[:at]:
        line = clean_cell(",".join(cells))
        for label, prefix in (("收入", "credit"), ("支出", "debit"), ("不计收支", "neither")):
            if line.startswith(label):
                found = count_and_sum(line)
                if found:
                    declared[f"{prefix}_count"], declared[f"{prefix}_total"] = found
        if line.startswith("共") and "笔" in line:
            digits = "".join(ch for ch in line.split("笔")[0] if ch.isdigit())
            if digits:
                declared["count"] = int(digits)
        if line.startswith("支付宝账户"):
            account = squash(line.split("：", 1)[-1].split(":", 1)[-1])
    lines: list[StatementLine] = []
    errors: list[LineError] = []
    warnings: list[LineError] = []
    for line_number, cells in rows[at + 1:]:
        if is_blank(cells):
            continue
        first = clean_cell(cells[0])
        if first.startswith(("#", "---")):
            break
        side = cell(cells, index, "收/支")
        status = cell(cells, index, "交易状态")
        if side not in ("收入", "支出"):
            warnings.append(LineError(line_number, f"收/支 {side or '(empty)'}: neither received nor paid, skipped"))
            continue
        if "关闭" in status or "失败" in status:
            warnings.append(LineError(line_number, f"交易状态 {status}: no money moved, skipped"))
            continue
        try:
            day = parse_date(cell(cells, index, "交易时间"))
        except ValueError as exc:
            errors.append(LineError(line_number, f"交易时间: {exc}"))
            continue
        try:
            amount = parse_amount(cell(cells, index, "金额", "金额(元)"), allow_negative=False)
        except ValueError as exc:
            errors.append(LineError(line_number, f"金额: {exc}"))
            continue
        category = cell(cells, index, "交易分类")
        goods = cell(cells, index, "商品说明")
        lines.append(StatementLine(
            line=line_number, value_date=day, booking_date=day, amount=amount,
            direction=CREDIT if side == "收入" else DEBIT, currency="CNY", account=account,
            payer_name=empty(cell(cells, index, "交易对方")), payer_account=empty(cell(cells, index, "对方账号")),
            reference=empty(cell(cells, index, "交易订单号")),
            remittance=join_text([empty(goods), empty(cell(cells, index, "备注"))]),
            reversal=category == "退款" or goods.startswith("退款"),
            raw={"交易时间": cell(cells, index, "交易时间"), "交易分类": category, "交易状态": status,
                 "收/付款方式": cell(cells, index, "收/付款方式"), "商家订单号": empty(cell(cells, index, "商家订单号"))},
            account_currency="CNY",
        ))
    meta["header_line"] = header_line
    return new_statement("alipay", lines, errors, warnings, currency="CNY", account=account, declared=declared,
                         meta=meta)


def _merchant(rows, at: int, meta: dict) -> ParsedStatement:
    header_line, header = rows[at]
    index = column_index(header)
    declared: dict = {}
    account = ""
    for _, cells in rows:
        line = clean_cell(",".join(cells))
        if not line.startswith("#"):
            continue
        if "账号" in line and "[" in line:
            account = line.split("[", 1)[1].split("]", 1)[0].strip()
        for label, prefix in (("交易合计", "credit"), ("退款合计", "debit")):
            if label in line:
                found = count_and_sum(line)
                if found:
                    declared[f"{prefix}_count"], declared[f"{prefix}_total"] = found[0], abs(found[1])
    amount_column = next((name for name in ("商家实收(元)", "订单金额(元)") if has(index, name)), None)
    if amount_column is None:
        raise UnreadableFile("the Alipay 业务明细 header has neither 商家实收（元） nor 订单金额（元）")
    lines: list[StatementLine] = []
    errors: list[LineError] = []
    warnings: list[LineError] = []
    for line_number, cells in rows[at + 1:]:
        if is_blank(cells) or clean_cell(cells[0]).startswith("#"):
            continue
        kind = cell(cells, index, "业务类型")
        when = cell(cells, index, "完成时间") or cell(cells, index, "创建时间")
        try:
            day = parse_date(when)
        except ValueError as exc:
            errors.append(LineError(line_number, f"完成时间: {exc}"))
            continue
        try:
            amount = parse_amount(cell(cells, index, amount_column))
        except ValueError as exc:
            errors.append(LineError(line_number, f"{amount_column}: {exc}"))
            continue
        if amount == 0:
            warnings.append(LineError(line_number, f"业务类型 {kind}: zero amount, skipped"))
            continue
        refund = "退款" in kind
        trade_no = cell(cells, index, "支付宝交易号")
        batch = cell(cells, index, "退款批次号/请求号")
        # A refund repeats the payment's 支付宝交易号; its batch number tells refunds apart.
        reference = f"{trade_no}/{batch}" if refund and trade_no and batch else trade_no
        order_no = cell(cells, index, "商户订单号")
        lines.append(StatementLine(
            line=line_number, value_date=day, booking_date=day, amount=abs(amount),
            direction=DEBIT if amount < 0 else CREDIT, currency="CNY", account=account,
            payer_account=empty(cell(cells, index, "对方账户")), reference=reference,
            # 商户订单号 is the order number we issued: it carries the policy number.
            remittance=join_text([cell(cells, index, "商品名称"), order_no, cell(cells, index, "备注")]),
            reversal=refund or amount < 0,
            raw={"业务类型": kind, "商户订单号": order_no, "支付宝交易号": trade_no, "退款批次号/请求号": batch,
                 "订单金额": cell(cells, index, "订单金额(元)"), "服务费": cell(cells, index, "服务费(元)"),
                 "门店名称": cell(cells, index, "门店名称"), "完成时间": when},
            account_currency="CNY",
        ))
    meta["header_line"] = header_line
    return new_statement("alipay", lines, errors, warnings, currency="CNY", account=account, declared=declared,
                         meta=meta)
