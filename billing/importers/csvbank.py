"""Bank statement CSVs exported from online banking, read through a column mapping
(formats/bank-statement-csv.md).

A mapping is {our field: their header}; the built-in templates are `generic` and
`cn-online-banking`, and finance may pass any other. Fields:

    value_date, amount                  required (or debit_amount in place of amount)
    currency                            default CNY
    payer_name, payer_account, reference, remittance (a header or a list of headers, joined)
    booking_date, account               optional
    debit_amount                        a separate 支出金额 column: a positive value there is a debit
    direction                           a 借/贷, 收/支, C/D column: overrides the amount's sign
    reversal                            a column that marks 冲正 rows (是/Y/true/1)

`amount` is a credit when positive; a negative amount is a debit (the bank's reversal or an
outgoing payment; a 冲正/冲账 in the text marks it a reversal). A row with no amount at all is
not money for us (an outgoing row under an income-only template) and is skipped with a warning.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from .base import (
    CREDIT,
    DEBIT,
    BadOptions,
    LineError,
    ParsedStatement,
    StatementLine,
    UnreadableFile,
    decode_text,
    join_text,
    new_statement,
    parse_amount,
    parse_date,
    squash,
)
from .tabular import column_index, find_header, norm, read_rows

TEMPLATES: dict[str, dict[str, str | list[str]]] = {
    "generic": {
        "value_date": "value_date",
        "amount": "amount",
        "currency": "currency",
        "payer_name": "payer_name",
        "payer_account": "payer_account",
        "reference": "reference",
        "remittance": "remittance",
    },
    "cn-online-banking": {
        "value_date": "交易日期",
        "amount": "收入金额",
        "currency": "币种",
        "payer_name": "对方户名",
        "payer_account": "对方账号",
        "reference": "交易流水号",
        "remittance": "摘要",
    },
}
FIELDS = {"value_date", "booking_date", "amount", "debit_amount", "direction", "currency", "payer_name",
          "payer_account", "reference", "remittance", "account", "reversal"}

_CURRENCIES = {"人民币": "CNY", "RMB": "CNY", "CNY": "CNY", "美元": "USD", "港币": "HKD", "港元": "HKD",
               "欧元": "EUR", "日元": "JPY", "英镑": "GBP"}
_CREDIT_WORDS = {"贷", "贷方", "收", "收入", "入", "入账", "来账", "c", "cr", "credit", "in"}
_DEBIT_WORDS = {"借", "借方", "支", "支出", "出", "出账", "往账", "d", "dr", "debit", "out"}
_TRUE_WORDS = {"是", "y", "yes", "true", "1", "冲正", "冲账", "r"}
# Chinese banks name a reversal 冲正 / 冲账 / 抹账 in the summary text.
_REVERSAL_WORDS = re.compile(r"冲正|冲账|抹账|冲销")
ZERO = Decimal(0)
_FOOTER = re.compile(r"^(合计|总计|小计|本页|共\s*\d+\s*笔|#|-{3,}|说明|注[:：])")
_FILE_CURRENCY = re.compile(r"币种\s*[:：]\s*([A-Za-z]{3}|[\u4e00-\u9fff]{2,3})")
_OUR_ACCOUNT = re.compile(r"(?:本方)?(?:账号|帐号|账户|卡号)\s*[:：]\s*\[?([0-9][0-9*\- ]{5,}[0-9*])")


def parse_csv(data: bytes, template: str | dict = "generic", *, encoding: str | None = None,
              default_currency: str = "CNY") -> ParsedStatement:
    mapping, template_name = _mapping(template)
    text, used = decode_text(data, encoding=encoding)
    required = [mapping["value_date"][0], (mapping.get("amount") or mapping["debit_amount"])[0]]
    rows = []
    header_at = None
    for delimiter in (",", "\t", ";"):
        rows = read_rows(text, delimiter)
        header_at = find_header(rows, lambda cells: all(norm(name) in cells for name in required))
        if header_at is not None:
            break
    if header_at is None:
        raise UnreadableFile(f"no header row with the columns {', '.join(required)} in the first 200 lines "
                             f"(template {template_name})")
    header_line, header = rows[header_at]
    index = column_index(header)
    errors: list[LineError] = []
    warnings: list[LineError] = []
    columns: dict[str, list[int]] = {}
    for our, theirs in mapping.items():
        positions = [index[norm(name)] for name in theirs if norm(name) in index]
        missing = [name for name in theirs if norm(name) not in index]
        if missing:
            warnings.append(LineError(header_line, f"column {', '.join(missing)} ({our}) is not in the file"))
        if positions:
            columns[our] = positions

    file_account = ""
    file_currency = ""
    for _, cells in rows[:header_at]:
        preamble = " ".join(cells)
        found = _OUR_ACCOUNT.search(preamble)
        if found and not file_account:
            file_account = found.group(1).replace(" ", "")
        found = _FILE_CURRENCY.search(preamble)
        if found and not file_currency:
            file_currency = _currency(found.group(1))

    lines: list[StatementLine] = []
    reader = _Reader(columns, header, default_currency, file_account)
    for line_number, cells in rows[header_at + 1:]:
        # each cell cleaned once (clean_cell, inlined: 100,000 lines of 7 cells): the fields below
        # read them as they are
        cells = [c.strip() for c in cells]
        if "`" in (joined := "".join(cells)) or "'" in joined:
            cells = [(value[1:].strip() if value[:1] in _GUARDS else value) for value in cells]
        if not any(cells):
            continue
        first = cells[0] or next((c for c in cells if c), "")
        if _FOOTER.match(first):
            warnings.append(LineError(line_number, f"summary row skipped: {squash(' '.join(cells))[:60]!r}"))
            continue
        try:
            item = reader.line(line_number, cells)
        except ValueError as exc:
            errors.append(LineError(line_number, str(exc)))
            continue
        if isinstance(item, str):
            warnings.append(LineError(line_number, item))
        else:
            lines.append(item)
    # The statement's currency: as its preamble says, else the one most lines are in. A line in
    # another currency keeps its own (formats/interfaces.md: never converted silently).
    counts = Counter(item.currency for item in lines)
    currency = file_currency or (counts.most_common(1)[0][0] if counts else default_currency)
    for item in lines:
        item.account_currency = currency
    return new_statement("csv", lines, errors, warnings, currency=currency, account=file_account,
                         meta={"encoding": used, "template": template_name, "header_line": header_line})


def _mapping(template: str | dict) -> tuple[dict[str, list[str]], str]:
    if isinstance(template, str):
        if template not in TEMPLATES:
            raise BadOptions(f"unknown CSV template {template!r}; built in: {', '.join(TEMPLATES)}")
        source, name = TEMPLATES[template], template
    elif isinstance(template, dict):
        source, name = template, "custom"
    else:
        raise BadOptions("a CSV template is a name or a mapping {our_field: their_header}")
    unknown = set(source) - FIELDS
    if unknown:
        raise BadOptions(f"unknown field(s) in the CSV mapping: {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(FIELDS))}")
    mapping: dict[str, list[str]] = {}
    for our, theirs in source.items():
        names = [theirs] if isinstance(theirs, str) else list(theirs or [])
        names = [n for n in names if isinstance(n, str) and n.strip()]
        if names:
            mapping[our] = names
    if "value_date" not in mapping or not ({"amount", "debit_amount"} & set(mapping)):
        raise BadOptions("a CSV mapping needs value_date and amount (or debit_amount)")
    return mapping, name


def _currency(text: str) -> str:
    text = text.strip()
    return _CURRENCIES.get(text.upper(), _CURRENCIES.get(text, text.upper()))


_GUARDS = ("`", "'")  # an Excel guard before a cell's value (clean_cell)


def _pick(positions: list[int] | None, *, joined: bool = False) -> Callable[[list[str]], str]:
    """A field's reader: its cell (the first of its columns the row has), or all of them joined
    for the remittance; the cells are cleaned already. Built once per file, not looked up per line."""
    if not positions:
        return lambda cells: ""
    if joined and len(positions) == 1:
        # join_text of one cell: the cell squashed (base.squash)
        one = positions[0]
        return lambda cells: " ".join(cells[one].split()) if one < len(cells) else ""
    if joined:
        return lambda cells: join_text([cells[p] for p in positions if p < len(cells)])
    if len(positions) == 1:
        only = positions[0]
        return lambda cells: cells[only] if only < len(cells) else ""

    def first(cells: list[str]) -> str:
        for p in positions:
            if p < len(cells):
                return cells[p]
        return ""
    return first


@functools.lru_cache(maxsize=256)
def _currency_code(text: str) -> str:
    """A currency cell as an ISO code ("" when the cell is empty); raises ValueError."""
    currency = _currency(text.strip())
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValueError(f"currency: not a currency code: {text.strip()!r}")
    return currency


class _Reader:
    """A file's rows into StatementLines, through the column mapping resolved once."""

    def __init__(self, columns: dict[str, list[int]], header: list[str], default_currency: str,
                 file_account: str) -> None:
        get = {name: _pick(columns.get(name), joined=name == "remittance") for name in FIELDS}
        self.value_date, self.booking_date = get["value_date"], get["booking_date"]
        self.has_booking_date = bool(columns.get("booking_date"))
        self.amount, self.debit_amount, self.direction = get["amount"], get["debit_amount"], get["direction"]
        self.remittance, self.reversal, self.currency = get["remittance"], get["reversal"], get["currency"]
        self.account, self.payer_name, self.payer_account = get["account"], get["payer_name"], get["payer_account"]
        self.reference = get["reference"]
        # the raw cells kept with each line, by header name (a later column of one name wins, as before)
        self.raw = [(header[p], p) for positions in columns.values() for p in positions if p < len(header)]
        self.default_currency, self.file_account = default_currency, file_account

    def line(self, line_number: int, cells: list[str]) -> StatementLine | str:
        raw_date = self.value_date(cells)
        try:
            value_date = parse_date(raw_date)
        except ValueError:
            raise ValueError(f"value_date: not a date: {raw_date!r}") from None
        booking_date = value_date
        if self.has_booking_date:
            raw_booking = self.booking_date(cells)
            if raw_booking:
                try:
                    booking_date = parse_date(raw_booking)
                except ValueError:
                    raise ValueError(f"booking_date: not a date: {raw_booking!r}") from None

        credit_text = self.amount(cells)
        debit_text = self.debit_amount(cells)
        amount = ZERO
        if credit_text:
            try:
                amount = parse_amount(credit_text)
            except ValueError:
                raise ValueError(f"amount: not an amount: {credit_text!r}") from None
        if amount == 0 and debit_text:
            try:
                amount = -parse_amount(debit_text)
            except ValueError:
                raise ValueError(f"debit_amount: not an amount: {debit_text!r}") from None
        if amount == 0:
            return "no amount in this row: skipped" if not (credit_text or debit_text) else "zero amount: skipped"
        direction = CREDIT if amount > 0 else DEBIT
        reversal = False
        word = self.direction(cells).strip().lower()
        if word:
            if word in _CREDIT_WORDS:
                stated = CREDIT
            elif word in _DEBIT_WORDS:
                stated = DEBIT
            else:
                raise ValueError(f"direction: neither credit nor debit: {word!r}")
            if amount < 0 and credit_text and stated == CREDIT:
                # 贷 -100.00: a credit taken back
                stated, reversal = DEBIT, True
            direction = stated
        remittance = self.remittance(cells)
        if self.reversal(cells).strip().lower() in _TRUE_WORDS or _REVERSAL_WORDS.search(remittance):
            reversal = True
        currency = _currency_code(self.currency(cells))
        count = len(cells)
        return StatementLine(
            line=line_number, value_date=value_date, booking_date=booking_date, amount=abs(amount),
            direction=direction, currency=currency or self.default_currency,
            account=self.account(cells) or self.file_account, payer_name=self.payer_name(cells),
            payer_account=self.payer_account(cells), reference=self.reference(cells), remittance=remittance,
            reversal=reversal, raw={name: cells[p] for name, p in self.raw if p < count},
        )
