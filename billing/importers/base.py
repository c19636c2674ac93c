"""The shapes every statement parser returns, and the small helpers they share.

A parser turns the bytes of one file into a ParsedStatement (money movements) or a
ParsedDebitResults (the bank's answer to a debit batch). Parsers do no I/O besides reading the
bytes they are given, touch no database and know nothing of policies: storing, deduplicating and
matching lines is the import service's job.

Conventions (formats/interfaces.md):
- `line` is the physical line of the record's first line for text formats (first line = 1, so a
  CSV's first data row under a one-line header is 2), and the entry's position for XML formats
  (1 = first entry of the document, counted across statements).
- Money is Decimal, never float; `amount` is always positive, `direction` says which way it went.
- A bad line goes to `errors` with its line number and the other lines still parse; a file that
  cannot be read at all raises UnreadableFile.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal
from zoneinfo import ZoneInfo

from core.errors import ApplicationError

Direction = Literal["credit", "debit"]
CREDIT: Direction = "credit"
DEBIT: Direction = "debit"

CENT = Decimal("0.01")
SHANGHAI = ZoneInfo("Asia/Shanghai")


class UnreadableFile(ApplicationError):
    """Nothing in the file can be imported: wrong format, bad encoding, hostile XML, no header."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class BadOptions(UnreadableFile):
    """The parse options are wrong (unknown format, template or mapping field)."""


@dataclass(slots=True)
class LineError:
    line: int
    reason: str


@dataclass(slots=True)
class StatementLine:
    line: int
    value_date: dt.date | None
    booking_date: dt.date | None
    amount: Decimal
    direction: Direction
    currency: str
    account: str
    payer_name: str = ""
    payer_account: str = ""
    # The bank's unique id of the line, stable across re-exports; "" when the file has none (or
    # when the same id appears on two different lines of one file): the caller then hashes.
    reference: str = ""
    remittance: str = ""
    reversal: bool = False
    return_reason: str = ""
    raw: dict = field(default_factory=dict)
    # Extensions beyond the brief: the originator's end-to-end id (our own id for a returned
    # debit), and the currency of the account the line was booked on (to spot foreign-currency lines).
    end_to_end_id: str = ""
    account_currency: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or self.amount < 0:
            raise ValueError(f"amount must be a non-negative Decimal, got {self.amount!r}")
        if self.direction not in (CREDIT, DEBIT):
            raise ValueError(f"direction must be credit or debit, got {self.direction!r}")


@dataclass(slots=True)
class ParsedStatement:
    format: str
    lines: list[StatementLine]
    errors: list[LineError]
    currency: str
    account: str
    # What the file itself declares (control totals, balances), never recomputed from the lines.
    declared: dict = field(default_factory=dict)
    # Not rejections: skipped rows (closed trades, 不计收支), totals that do not add up, ...
    warnings: list[LineError] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def totals(self) -> dict[str, dict[str, Decimal]]:
        """{"credit": {currency: sum}, "debit": {currency: sum}}: each currency on its own."""
        result: dict[str, dict[str, Decimal]] = {CREDIT: defaultdict(Decimal), DEBIT: defaultdict(Decimal)}
        for item in self.lines:
            result[item.direction][item.currency] += item.amount
        return {direction: dict(sums) for direction, sums in result.items()}

    def counts(self) -> dict[str, int]:
        counter = Counter(item.direction for item in self.lines)
        return {CREDIT: counter[CREDIT], DEBIT: counter[DEBIT]}


DebitStatus = Literal["paid", "failed"]
PAID: DebitStatus = "paid"
FAILED: DebitStatus = "failed"


@dataclass(slots=True)
class DebitResult:
    line: int
    end_to_end_id: str
    amount: Decimal | None
    status: DebitStatus
    reason_code: str  # the bank's code (AM04, NARR, or its own), "" when none
    reason: str  # ours: insufficient_funds, account_frozen, account_closed, name_mismatch, invalid_account, other; "" when paid
    reason_text: str  # the bank's words
    currency: str = ""
    # "transaction": one debit; "payment_info": every debit of PmtInf `payment_info_id` that has no
    # result of its own; "group": every debit of message `original_message_id` likewise.
    scope: str = "transaction"
    payment_info_id: str = ""
    instruction_id: str = ""
    original_message_id: str = ""
    raw: dict = field(default_factory=dict)


@dataclass(slots=True)
class ParsedDebitResults:
    format: str
    results: list[DebitResult]
    errors: list[LineError]
    declared: dict = field(default_factory=dict)
    warnings: list[LineError] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def totals(self) -> dict[str, dict[str, Decimal]]:
        result: dict[str, dict[str, Decimal]] = {PAID: defaultdict(Decimal), FAILED: defaultdict(Decimal)}
        for item in self.results:
            if item.amount is not None:
                result[item.status][item.currency] += item.amount
        return {status: dict(sums) for status, sums in result.items()}

    def counts(self) -> dict[str, int]:
        counter = Counter(item.status for item in self.results)
        return {PAID: counter[PAID], FAILED: counter[FAILED]}


# --- debit failure reasons -------------------------------------------------------------------

INSUFFICIENT_FUNDS = "insufficient_funds"
ACCOUNT_FROZEN = "account_frozen"
ACCOUNT_CLOSED = "account_closed"
NAME_MISMATCH = "name_mismatch"
INVALID_ACCOUNT = "invalid_account"
OTHER = "other"

# ISO 20022 external status reason codes that mean one of ours. BE01 ("identification of end
# customer is not consistent with associated account number") is the ISO name for 户名不符.
_REASON_BY_CODE = {
    "AM04": INSUFFICIENT_FUNDS,
    "AC06": ACCOUNT_FROZEN,
    "AC04": ACCOUNT_CLOSED,
    "AC01": INVALID_ACCOUNT,
    "BE01": NAME_MISMATCH,
}
# Words in the bank's text, tried in this order when the code alone does not tell. Chinese banks
# write 帐 and 账 interchangeably; the text is normalised to 账 before matching.
_REASON_BY_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (INSUFFICIENT_FUNDS, ("余额不足", "资金不足", "存款不足", "insufficient fund", "not sufficient fund")),
    (ACCOUNT_FROZEN, ("冻结", "止付", "frozen", "blocked account", "account blocked")),
    (ACCOUNT_CLOSED, ("销户", "已注销", "account closed", "closed account")),
    (NAME_MISMATCH, ("户名不符", "户名不一致", "户名错误", "姓名不符", "name mismatch", "name does not match")),
    (INVALID_ACCOUNT, ("账号错误", "账号不存在", "账户不存在", "卡号无效", "卡号错误", "无效账号", "无效卡号", "账号无效",
                       "invalid account", "account number invalid", "acc number invalid", "incorrect account")),
]

# Fallback wording when the bank gives a code and no text (ISO 20022 ExternalStatusReason1Code).
ISO_REASON_NAMES = {
    "AC01": "Incorrect account number",
    "AC04": "Closed account number",
    "AC06": "Blocked account",
    "AC13": "Invalid debtor account type",
    "AG01": "Transaction forbidden",
    "AG02": "Invalid bank operation code",
    "AM04": "Insufficient funds",
    "AM05": "Duplication",
    "BE01": "Inconsistent with end customer",
    "MD01": "No mandate",
    "MD02": "Missing mandatory information in mandate",
    "MD06": "Refund request by end customer",
    "MD07": "End customer deceased",
    "MS02": "Not specified reason customer generated",
    "MS03": "Not specified reason agent generated",
    "RC01": "Bank identifier incorrect",
    "RR01": "Missing debtor account or identification",
    "SL01": "Specific service offered by debtor agent",
}


def map_reason(code: str, text: str = "") -> str:
    """Our failure reason for the bank's code and/or text: the code decides when it is one we
    know, otherwise the text's words, otherwise "other" (the caller keeps the bank's text)."""
    key = (code or "").strip().upper()
    if key in _REASON_BY_CODE:
        return _REASON_BY_CODE[key]
    words = unicodedata.normalize("NFKC", text or "").lower().replace("帐", "账")
    words = re.sub(r"\s+", " ", words)
    for reason, needles in _REASON_BY_WORDS:
        if any(needle in words for needle in needles):
            return reason
    return OTHER


# --- text, amounts, dates ----------------------------------------------------------------------



def squash(text: str | None) -> str:
    """Whitespace runs (newlines, TABs, NBSP) become one space; the ends are trimmed."""
    # str.split() splits at what the regular expression's \s matches (both are str.isspace)
    return " ".join((text or "").split())


def clean_cell(text: str | None) -> str:
    """A bill's cell: without the Excel-guard backtick or apostrophe, trailing TABs and padding."""
    value = (text or "").strip()
    if value[:1] in ("`", "'"):
        value = value[1:].strip()
    return value


def join_text(parts, sep: str = " ") -> str:
    """Non-empty pieces, each squashed, duplicates dropped, joined with `sep`."""
    seen: list[str] = []
    for part in parts:
        piece = squash(part)
        if piece and piece not in seen:
            seen.append(piece)
    return sep.join(seen)


def join_wrapped(pieces: list[str], widths: tuple[int, ...]) -> str:
    """Join pieces a bank wrapped at a fixed width: a piece exactly `width` characters long was
    cut there, perhaps inside a word or a policy number, so the next one follows without a space;
    a shorter piece ended on its own, so a space separates them."""
    out = ""
    previous = None
    for piece in pieces:
        if piece is None:
            continue
        if previous is None:
            out = piece
        elif len(previous) in widths:
            out += piece
        else:
            out = out.rstrip() + " " + piece.lstrip() if out else piece
        previous = piece
    return squash(out)


_PLAIN_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]+)?")
_CURRENCY_MARKS = re.compile(r"(?i)(?:rmb|cny|人民币|元|[¥￥$€£])")


@functools.lru_cache(maxsize=4096)  # and a few premium amounts (a Decimal is immutable: safe to share)
def parse_amount(text: str, *, allow_negative: bool = True, decimal_comma: bool = False) -> Decimal:
    """An amount as written in a statement: `1,234.56`, `1.234,56`, `9,`, `,4`, `8.850`,
    `¥50.0`, `-12.00`, `(12.00)`, `12.00-`, full-width digits. A lone comma groups thousands
    (`1,234`, as Chinese exports write) unless `decimal_comma` (MT940, where `1,234` is 1.234).
    Raises ValueError."""
    if text and _PLAIN_AMOUNT.fullmatch(text):  # digits with a decimal point, as most exports write: the rest is moot
        return money(Decimal(text))
    original = text
    value = unicodedata.normalize("NFKC", text or "")
    value = _CURRENCY_MARKS.sub("", value).replace(" ", "").replace("\u00a0", "").replace("'", "")
    value = clean_cell(value)
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    if value.endswith("-"):
        negative, value = True, value[:-1]
    if value.startswith(("-", "+")):
        negative, value = value.startswith("-") or negative, value[1:]
    if not value or not re.fullmatch(r"[\d.,]+", value) or not re.search(r"\d", value):
        raise ValueError(f"not an amount: {original!r}")
    if "," in value and "." in value:
        # The later separator is the decimal one; the other groups thousands.
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif "," in value:
        if not decimal_comma and re.fullmatch(r"\d{1,3}(,\d{3})+", value):
            value = value.replace(",", "")  # 1,234 / 12,345,678: thousands (Chinese exports)
        elif value.count(",") == 1:
            value = value.replace(",", ".")  # decimal comma: 9, / ,4 / 107,50
        else:
            raise ValueError(f"not an amount: {original!r}")
    elif value.count(".") > 1:
        if re.fullmatch(r"\d{1,3}(\.\d{3})+", value):
            value = value.replace(".", "")
        else:
            raise ValueError(f"not an amount: {original!r}")
    if value.endswith("."):
        value += "0"
    if value.startswith("."):
        value = "0" + value
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not an amount: {original!r}") from None
    if negative:
        if not allow_negative:
            raise ValueError(f"negative amount not allowed here: {original!r}")
        amount = -amount
    return money(amount)


def money(amount: Decimal) -> Decimal:
    """Two decimal places when that loses nothing (8.850 -> 8.85, 0.01000 -> 0.01, 9 -> 9.00);
    otherwise the amount as written, never silently rounded."""
    quantized = amount.quantize(CENT)
    return quantized if quantized == amount else amount


# The date, then the end or a time (after a space or a T): `2026-11-2x` is no date.
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?=$|[\sT])"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?=$|[\sT])"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})(?=$|[\sT])"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})(?=$|[\sT])"),
]


_AWARE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$")


@functools.lru_cache(maxsize=4096)  # a statement repeats a few dates on every line
def parse_date(text: str) -> dt.date:
    """A date, or the date of a date-time, as Chinese and ISO exports write it:
    2026-11-25, 2026/11/25, 2026.11.25, 2026年11月25日, 20261125, `2026-11-25 16：33：45`,
    2026-11-25T10:00:00+08:00. Our business day is Asia/Shanghai's: a time with an offset (or Z)
    is moved there first; a time without one is already local (the Chinese bills). Only the date
    is kept. Raises ValueError."""
    value = unicodedata.normalize("NFKC", clean_cell(text or "")).strip()
    if _AWARE.match(value):
        try:
            return dt.datetime.fromisoformat(value.replace(" ", "T", 1).replace(" ", "")).astimezone(SHANGHAI).date()
        except ValueError:
            raise ValueError(f"not a date: {text!r}") from None
    for pattern in _DATE_PATTERNS:
        found = pattern.match(value)
        if found:
            year, month, day = (int(part) for part in found.groups())
            try:
                return dt.date(year, month, day)
            except ValueError:
                break
    raise ValueError(f"not a date: {text!r}")


# --- bytes to text -------------------------------------------------------------------------------


def decode_text(data: bytes, *, encoding: str | None = None, fallback: str | None = None) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM, UTF-16 with BOM, else GBK (read as
    GB18030, its superset); `fallback` (e.g. latin-1) when even that fails."""
    if not isinstance(data, (bytes, bytearray)):
        raise BadOptions("the parser takes the file's bytes")
    data = bytes(data)
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise UnreadableFile(f"the file cannot be read as {encoding}: {exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"the file starts with a UTF-8 BOM but is not UTF-8 (byte {exc.start + 3})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"the file starts with a UTF-16 BOM but is not UTF-16 (byte {exc.start})") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        if fallback:
            return data.decode(fallback, errors="replace"), fallback
        raise UnreadableFile(f"the file is neither UTF-8 nor GBK (byte {exc.start})") from None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def physical_lines(text: str) -> list[str]:
    """The file's lines as an editor numbers them (CRLF, LF or CR); index 0 is line 1."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# --- references ----------------------------------------------------------------------------------


def blank_repeated_references(lines: list[StatementLine], warnings: list[LineError]) -> None:
    """A reference written on two different lines of one file does not identify a line (ING
    repeats an entry's ids on its reversal; anonymised bills repeat `xxxx`): those lines get ""
    so that the caller identifies them by their content, and the bank's id stays in raw."""
    counts = Counter(item.reference for item in lines if item.reference)
    for item in lines:
        if item.reference and counts[item.reference] > 1:
            item.raw.setdefault("bank_reference", item.reference)
            warnings.append(LineError(item.line, f"reference {item.reference!r} is on {counts[item.reference]} lines "
                                                 "of this file: left empty"))
            item.reference = ""


def new_statement(format_name: str, lines: list[StatementLine], errors: list[LineError], warnings: list[LineError],
                  *, currency: str = "", account: str = "", declared: dict | None = None,
                  meta: dict | None = None) -> ParsedStatement:
    """The common last step: unique references, then the statement."""
    blank_repeated_references(lines, warnings)
    return ParsedStatement(format=format_name, lines=lines, errors=errors, currency=currency, account=account,
                           declared=declared or {}, warnings=warnings, meta=meta or {})
