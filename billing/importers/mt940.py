"""SWIFT MT940 customer statements, as banks really send them.

Our own reader rather than the `mt-940` package: that package stops at the first record it cannot
read (a whole file lost for one bad line), reports no line numbers, and does not read ASN Bank's
`{4:` envelopes with long customer references at all. Here a bad :61: is reported with its
physical line and the rest of the file still parses.

Handled: bank headers before :20: (ABNANL2A/940, `0000 01INGB...`), SOH/ETX and other control
characters, SWIFT FIN blocks `{1:}{2:}{3:}{4:` ... `-}{5:}`, CR/LF/CRLF, `-` and `-XXX` trailers,
:28: and :28C:, intermediate balances :60M:/:62M:, amounts like `9,` `,4` `107,`, D/C marks C, D,
RC, RD (a reversal of a credit is a debit) and the German `CR`/`DR` (C or D followed by the funds
code, the currency's third letter), a supplementary second line in :61:, structured :86: with
`?xx` sub-fields and SEPA keys (EREF+, SVWZ+...), free-text :86: over several lines (wrapped at 65
characters, sometimes inside a word), Sberbank's `:NS:` in place of :86:, TABs and soft hyphens.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .base import (
    CREDIT,
    DEBIT,
    LineError,
    ParsedStatement,
    StatementLine,
    UnreadableFile,
    decode_text,
    join_wrapped,
    new_statement,
    parse_amount,
    physical_lines,
    squash,
)

_TAG = re.compile(r"^:(\d{2}[A-Z]?|NS):")
_END = re.compile(r"^-(\}.*|\s*|[A-Z]{1,4}\s*)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_STATEMENT_LINE = re.compile(
    r"^(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|EC|ED|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>\d[\d,]*|,\d+)(?P<type>[NSF][A-Z0-9 ]{3})(?P<rest>.*)$"
)
_BALANCE = re.compile(r"^(?P<mark>C|D)(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>[\d,]+)\s*$")
_STRUCTURED = re.compile(r"^\s?(\d{3})\?\d\d")
_IBAN_FIRST = re.compile(r"^([A-Z]{2}\d{2}[A-Z0-9]{10,30})\s+(.{1,70})$")
# SEPA keys in the purpose text; MTLG: starts the bank's message on a return.
_SEPA_KEY = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT|MTLG)[+:]")
# German GVC codes of returns: 159 SEPA credit transfer returned, 109 SEPA direct debit returned.
_RETURN_GVC = {"109", "159"}
_RETURN_WORDS = re.compile(r"RETOURE|R[UÜ]E?CKLASTSCHRIFT|R[UÜ]E?CK[UÜ]BERWEISUNG|STORNO|REVERSAL", re.I)
_WIDTH = 65  # an MT940 line holds 65 characters


@dataclass
class _Tag:
    name: str
    line: int
    lines: list[str]


@dataclass
class _Message:
    tags: list[_Tag] = field(default_factory=list)


def parse_mt940(data: bytes, *, encoding: str | None = None) -> ParsedStatement:
    # SWIFT's own character set is ASCII; banks write UTF-8, GBK or Latin-1 in :86:.
    text, used = decode_text(data, encoding=encoding, fallback="latin-1")
    messages = _messages(text)
    if not messages:
        raise UnreadableFile("not an MT940 statement: no :20: / :61: tags found")
    lines: list[StatementLine] = []
    errors: list[LineError] = []
    warnings: list[LineError] = []
    statements = []
    for message in messages:
        statement = _statement(message, lines, errors, warnings)
        if statement:
            statements.append(statement)
    if not statements:
        raise UnreadableFile("not an MT940 statement: no :20: / :61: tags found")
    accounts = {s["account"] for s in statements}
    currencies = {s["currency"] for s in statements}
    return new_statement("mt940", lines, errors, warnings,
                         currency=currencies.pop() if len(currencies) == 1 else "",
                         account=accounts.pop() if len(accounts) == 1 else "",
                         declared={"statements": statements}, meta={"encoding": used})


def _messages(text: str) -> list[_Message]:
    """Tags with their physical lines, grouped into messages."""
    messages: list[_Message] = []
    current: _Message | None = None
    tag: _Tag | None = None
    for number, original in enumerate(physical_lines(text), 1):
        line = _CONTROL.sub("", original).replace("\u00ad", "-").replace("\t", " ")
        if "{4:" in line:
            current, tag = None, None
            line = line.split("{4:", 1)[1]
            if not line.strip():
                continue
        if _END.match(line):
            current, tag = None, None
            continue
        found = _TAG.match(line)
        if found:
            name = found.group(1)
            if current is None or (name == "20" and any(t.name == "20" for t in current.tags)):
                current = _Message()
                messages.append(current)
            tag = _Tag(name, number, [line[found.end():]])
            current.tags.append(tag)
        elif tag is not None:
            tag.lines.append(line)
        # else: a bank header (ABNANL2A, 940, 0000 01INGB...), a {5:} trailer or a blank line
    return [m for m in messages if any(t.name in ("20", "25", "60F", "60M", "61") for t in m.tags)]


def _statement(message: _Message, lines: list[StatementLine], errors: list[LineError],
               warnings: list[LineError]) -> dict | None:
    info: dict[str, Any] = {"reference": "", "account": "", "number": "", "currency": "", "line": message.tags[0].line}
    balances: dict[str, dict] = {}
    for tag in message.tags:
        value = squash(" ".join(tag.lines))
        if tag.name == "20":
            info["reference"] = value
        elif tag.name == "25":
            info["account"] = value
        elif tag.name in ("28", "28C"):
            info["number"] = value
        elif tag.name in ("60F", "60M", "62F", "62M", "64", "65"):
            try:
                balances.setdefault(tag.name, _balance(value))
            except ValueError as exc:
                warnings.append(LineError(tag.line, f":{tag.name}: {exc}"))
    for name in ("60F", "60M", "62F", "62M"):
        if name in balances:
            info["currency"] = balances[name]["currency"]
            break
    opening = balances.get("60F") or balances.get("60M")
    closing = balances.get("62F") or balances.get("62M")
    statement = dict(info)
    statement["opening"] = opening["signed"] if opening else None
    statement["closing"] = closing["signed"] if closing else None
    statement["available"] = balances["64"]["signed"] if "64" in balances else None

    made: list[StatementLine] = []
    previous: str | None = None
    last: StatementLine | None = None
    for tag in message.tags:
        if tag.name == "61":
            last = None
            try:
                last = _statement_line(tag, info)
                made.append(last)
            except ValueError as exc:
                errors.append(LineError(tag.line, f":61: {exc}"))
        elif tag.name in ("86", "NS"):
            # Information for the :61: just before it; otherwise it is about the statement (or it
            # follows a :61: we could not read, and must not be pinned on the previous one).
            if previous == "61" and last is not None:
                _add_information(last, tag)
        previous = tag.name
    lines.extend(made)
    if opening and closing and opening["currency"] == closing["currency"]:
        credits = sum((m.amount for m in made if m.direction == CREDIT), Decimal(0))
        debits = sum((m.amount for m in made if m.direction == DEBIT), Decimal(0))
        expected = opening["signed"] + credits - debits
        if expected != closing["signed"]:
            warnings.append(LineError(info["line"], f"statement {info['number'] or info['reference']}: opening balance "
                                                    f"{opening['signed']} + credits {credits} - debits {debits} = "
                                                    f"{expected}, but the closing balance is {closing['signed']} "
                                                    f"{closing['currency']}"))
    return statement


def _date(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%y%m%d").date()
    except ValueError:
        raise ValueError(f"not a date YYMMDD: {text!r}") from None


def _balance(value: str) -> dict:
    found = _BALANCE.match(value.replace(" ", ""))
    if not found:
        raise ValueError(f"not a balance: {value!r}")
    amount = parse_amount(found["amount"], allow_negative=False, decimal_comma=True)
    return {"currency": found["currency"], "date": _date(found["date"]),
            "signed": amount if found["mark"] == "C" else -amount}


def _statement_line(tag: _Tag, info: dict) -> StatementLine:
    first = tag.lines[0].strip()
    found = _STATEMENT_LINE.match(first)
    if not found:
        raise ValueError(f"not a statement line (YYMMDD[MMDD]C/D/RC/RD amount type reference): {first!r}")
    value_date = _date(found["value"])
    booking_date = None
    if found["entry"]:
        month, day = int(found["entry"][:2]), int(found["entry"][2:])
        year = value_date.year
        if value_date.month == 12 and month == 1:
            year += 1
        elif value_date.month == 1 and month == 12:
            year -= 1
        try:
            booking_date = dt.date(year, month, day)
        except ValueError:
            raise ValueError(f"not an entry date MMDD: {found['entry']!r}") from None
    if found["amount"].count(",") != 1:
        raise ValueError(f"not an amount (one decimal comma): {found['amount']!r}")
    amount = parse_amount(found["amount"], allow_negative=False, decimal_comma=True)
    mark = found["mark"]
    # RC is the reversal of a credit, so money leaves the account; RD gives money back.
    direction = {"C": CREDIT, "EC": CREDIT, "RD": CREDIT, "D": DEBIT, "ED": DEBIT, "RC": DEBIT}[mark]
    rest = found["rest"]
    customer_reference, _, bank_reference = rest.partition("//")
    supplementary = squash(" ".join(tag.lines[1:]))
    raw = {
        "mark": mark,
        "funds_code": found["funds"] or "",
        "transaction_type": found["type"].strip(),
        "customer_reference": customer_reference.strip(),
        "bank_reference": bank_reference.strip(),
        "statement": info["number"] or info["reference"],
    }
    if supplementary:
        raw["supplementary"] = supplementary
    return StatementLine(
        line=tag.line, value_date=value_date, booking_date=booking_date, amount=amount, direction=direction,
        currency=info["currency"], account=info["account"], reference=bank_reference.strip(),
        remittance=supplementary, reversal=mark in ("RC", "RD"), raw=raw, account_currency=info["currency"],
    )


def _add_information(item: StatementLine, tag: _Tag) -> None:
    pieces = list(tag.lines)
    while pieces and not pieces[-1].strip():
        pieces.pop()
    if not pieces:
        return
    if tag.name == "NS":
        _add_ns(item, pieces)
    elif _STRUCTURED.match(pieces[0]):
        _add_structured(item, "".join(pieces))
    else:
        _add_free_text(item, pieces)


def _append_remittance(item: StatementLine, text: str) -> None:
    text = squash(text)
    if text and text not in item.remittance:
        item.remittance = squash(f"{item.remittance} {text}")


def _add_free_text(item: StatementLine, pieces: list[str]) -> None:
    """Lines of 65 characters were cut by the bank (ASN cuts `I` + `CS 999...`): the next line
    follows without a space; shorter lines and blank lines end a phrase."""
    out = ""
    previous = None
    for piece in pieces:
        if not piece.strip():
            previous = None
            continue
        if not out:
            out = piece
        elif previous is not None and len(previous) >= _WIDTH:
            out += piece
        else:
            out = out.rstrip() + " " + piece.strip()
        previous = piece
    _append_remittance(item, out)
    first = pieces[0].strip()
    found = _IBAN_FIRST.match(first)
    if found and not item.payer_account:
        # ASN Bank (and others) start the text with the counterparty's IBAN and name.
        item.payer_account, item.payer_name = found.group(1), squash(found.group(2))
    item.raw["information"] = squash(out)[:500]


def _add_structured(item: StatementLine, joined: str) -> None:
    """German (and Polish) `GVC?00posting text?10...?20-?29 purpose?30 bank?31 account?32-?33 name
    ?34 return code?60-?63 purpose`: the purpose sub-fields are 27 characters and are cut inside
    words, so a full one continues into the next without a space."""
    joined = joined.strip()
    gvc = joined[:3]
    parts = re.split(r"\?(\d{2})", joined[3:])
    fields: list[tuple[str, str]] = list(zip(parts[1::2], parts[2::2], strict=False))
    values: dict[str, list[str]] = {}
    for code, value in fields:
        values.setdefault(code, []).append(value)
    purpose = join_wrapped([value for code, value in fields if "20" <= code <= "29" or "60" <= code <= "63"], (27,))
    name = join_wrapped([value for code, value in fields if code in ("32", "33")], (27,))
    account = squash(" ".join(values.get("31", []) + values.get("38", [])[:1]))
    posting_text = squash(" ".join(values.get("00", [])))
    item.raw.update({"gvc": gvc, "posting_text": posting_text, "bank_code": squash(" ".join(values.get("30", [])))})
    _append_remittance(item, purpose)
    if name:
        item.payer_name = name
    if account:
        item.payer_account = squash(values["38"][0]) if values.get("38") else account
    keys = _sepa_keys(purpose)
    if keys.get("EREF") and keys["EREF"].upper() not in ("NOTPROVIDED", "NONREF"):
        item.end_to_end_id = keys["EREF"]
    if keys.get("MREF"):
        item.raw["mandate_id"] = keys["MREF"]
    if gvc in _RETURN_GVC or _RETURN_WORDS.search(posting_text):
        item.reversal = True
        # ?34 completes the text key; on a return it is the return reason (DK codes 9xx).
        item.return_reason = squash(" ".join(values.get("34", [])))


def _sepa_keys(purpose: str) -> dict[str, str]:
    parts = _SEPA_KEY.split(purpose)
    return {parts[i]: squash(parts[i + 1]) for i in range(1, len(parts) - 1, 2)}


def _add_ns(item: StatementLine, pieces: list[str]) -> None:
    """Sberbank Hungary's `:NS:`: one `NNtext` sub-field per line; 15 and 16 are the partner's
    name, cut at 27 characters like the German sub-fields."""
    fields = [(piece[:2], piece[2:]) for piece in pieces if len(piece) > 2 and piece[:2].isdigit()]
    name = join_wrapped([value for code, value in fields if code in ("15", "16")], (27,))
    if name:
        item.payer_name = name
    texts: list[str] = []
    for code, value in fields:
        if code == "16" and name:
            continue
        texts.append(name if code == "15" and name else value)
    _append_remittance(item, " ".join(texts))
    item.raw["ns"] = {code: squash(value) for code, value in fields}
