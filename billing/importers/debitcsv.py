"""A debit result file as a spreadsheet (Chinese banks' 代扣结果 / 批量扣款回盘): one row per debit.

Our layout (a bank's own headers are recognised by the aliases below, or passed as a mapping
{our_field: their_header}); UTF-8, UTF-8 with BOM or GBK; preamble lines above the header are
skipped:

    流水号 (end_to_end_id)   the id we sent in the debit batch                 required
    结果 (status)            成功 / 失败 (also 扣款成功, success, paid, failed...)  required
    金额 (amount)            the amount debited or attempted
    失败原因 (reason_text)   the bank's words: 余额不足, 账户冻结, 户名不符...
    原因代码 (reason_code)   the bank's code, when it gives one (AM04, 3008...)
    账号, 户名, 保单号, 币种  kept in raw

A failure's reason is ours (base.map_reason: the code if it is one we know, else the words).
Rows still in progress (处理中) are no result: a warning, not an error.
"""

from __future__ import annotations

from .base import (
    FAILED,
    ISO_REASON_NAMES,
    PAID,
    BadOptions,
    DebitResult,
    LineError,
    ParsedDebitResults,
    UnreadableFile,
    clean_cell,
    decode_text,
    map_reason,
    parse_amount,
    squash,
)
from .tabular import column_index, find_header, is_blank, norm, read_rows

ALIASES: dict[str, tuple[str, ...]] = {
    "end_to_end_id": ("流水号", "交易流水号", "明细流水号", "扣款流水号", "批次明细号", "业务流水号", "end_to_end_id",
                      "endtoendid"),
    "status": ("结果", "扣款结果", "处理结果", "交易结果", "状态", "交易状态", "status", "result"),
    "amount": ("金额", "扣款金额", "交易金额", "amount"),
    "reason_text": ("失败原因", "原因", "错误信息", "返回信息", "失败描述", "reason", "reason_text"),
    "reason_code": ("原因代码", "错误码", "错误代码", "返回码", "失败代码", "reason_code", "code"),
    "account": ("账号", "帐号", "卡号", "付款账号", "account"),
    "name": ("户名", "姓名", "付款人", "name"),
    "policy_no": ("保单号", "policy_no"),
    "currency": ("币种", "currency"),
}
_PAID_WORDS = {"成功", "扣款成功", "交易成功", "已扣款", "代扣成功", "success", "succeeded", "successful", "paid", "s",
               "ok", "00", "0000"}
_FAILED_WORDS = {"失败", "扣款失败", "交易失败", "代扣失败", "fail", "failed", "failure", "f", "rejected", "rjct"}
_PENDING_WORDS = {"处理中", "待处理", "未处理", "pending", "processing"}


def parse_debit_result_csv(data: bytes, mapping: dict | None = None, *, encoding: str | None = None,
                           default_currency: str = "CNY") -> ParsedDebitResults:
    aliases = _aliases(mapping)
    text, used = decode_text(data, encoding=encoding)
    rows = []
    at = None
    for delimiter in (",", "\t", ";"):
        rows = read_rows(text, delimiter)
        at = find_header(rows, lambda cells: all(any(norm(a) in cells for a in aliases[f])
                                                 for f in ("end_to_end_id", "status")))
        if at is not None:
            break
    if at is None:
        raise UnreadableFile("no header row with a 流水号 (end_to_end_id) and a 结果 (status) column found")
    header_line, header = rows[at]
    index = column_index(header)
    columns = {field: next((index[norm(a)] for a in names if norm(a) in index), None) for field, names in aliases.items()}
    results: list[DebitResult] = []
    errors: list[LineError] = []
    warnings: list[LineError] = []
    for line_number, cells in rows[at + 1:]:
        if is_blank(cells):
            continue

        values = {field: clean_cell(cells[position]) if position is not None and position < len(cells) else ""
                  for field, position in columns.items()}
        get = values.__getitem__

        first = next((clean_cell(c) for c in cells if clean_cell(c)), "")
        if first.startswith(("合计", "总计", "#")):
            warnings.append(LineError(line_number, f"summary row skipped: {squash(' '.join(cells))[:60]!r}"))
            continue
        end_to_end_id = get("end_to_end_id")
        if not end_to_end_id:
            errors.append(LineError(line_number, "流水号: empty, the debit cannot be identified"))
            continue
        word = get("status").lower()
        if word in _PENDING_WORDS:
            warnings.append(LineError(line_number, f"结果 {get('status')}: not final, no result yet"))
            continue
        if word not in _PAID_WORDS and word not in _FAILED_WORDS:
            errors.append(LineError(line_number, f"结果: neither 成功 nor 失败: {get('status')!r}"))
            continue
        amount = None
        if get("amount"):
            try:
                amount = parse_amount(get("amount"), allow_negative=False)
            except ValueError as exc:
                errors.append(LineError(line_number, f"金额: {exc}"))
                continue
        raw = {name: get(name) for name in ("account", "name", "policy_no") if get(name)}
        currency = (get("currency") or default_currency).upper().replace("人民币", "CNY").replace("RMB", "CNY")
        if word in _PAID_WORDS:
            results.append(DebitResult(line=line_number, end_to_end_id=end_to_end_id, amount=amount, status=PAID,
                                       reason_code="", reason="", reason_text="", currency=currency, raw=raw))
            continue
        code, words = get("reason_code").upper(), get("reason_text")
        results.append(DebitResult(line=line_number, end_to_end_id=end_to_end_id, amount=amount, status=FAILED,
                                   reason_code=code, reason=map_reason(code, words),
                                   reason_text=words or ISO_REASON_NAMES.get(code, ""), currency=currency, raw=raw))
    return ParsedDebitResults(format="debit_result_csv", results=results, errors=errors, warnings=warnings,
                              meta={"encoding": used, "header_line": header_line})


def _aliases(mapping: dict | None) -> dict[str, tuple[str, ...]]:
    if mapping is None:
        return ALIASES
    if not isinstance(mapping, dict):
        raise BadOptions("a debit result mapping is {our_field: their_header}")
    unknown = set(mapping) - set(ALIASES)
    if unknown:
        raise BadOptions(f"unknown field(s) in the debit result mapping: {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(ALIASES)}")
    merged = dict(ALIASES)
    for field, theirs in mapping.items():
        merged[field] = (theirs,) if isinstance(theirs, str) else tuple(theirs)
    return merged
