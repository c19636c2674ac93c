"""ISO 20022 camt.053 (statement) and camt.054 (debit/credit notification), versions 001.02 to
001.08, read without regard to namespaces.

A line is one Ntry, or one per TxDtls when the entry carries several TxDtls whose amounts add up
to the entry (a batch the bank has itemised). A batch with no TxDtls, or with a single amount-only
TxDtls, is one line: the entry. When the TxDtls do not add up to the entry (or lack amounts, or
are in another currency), the entry is kept as one line and a warning says why: the entry is what
was booked on the account, the details are only information.

Sign: amounts are unsigned; CdtDbtInd is the direction of the booking on our account. RvslInd=true
marks a reversal (a DBIT with RvslInd is a returned or reversed collection); return information
(RtrInf) or a return transaction code (UPDD, RRTN...) marks one too.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element

from .base import (
    CREDIT,
    DEBIT,
    Direction,
    LineError,
    ParsedStatement,
    StatementLine,
    UnreadableFile,
    join_text,
    join_wrapped,
    new_statement,
)
from .xmltools import amount_of, date_of, find_document_part, parse_xml, raw_texts, text, texts

# message body -> (our format name, report element)
_BODIES = {
    "BkToCstmrStmt": ("camt053", "Stmt"),
    "BkToCstmrDbtCdtNtfctn": ("camt054", "Ntfctn"),
    "BkToCstmrAcctRpt": ("camt052", "Rpt"),
}
# ISO bank transaction sub-families that undo an earlier booking.
_RETURN_SUBFAMILIES = {"UPDD", "RRTN", "RPCR", "PRDD", "RCDD", "ARET"}
_NOT_PROVIDED = {"", "NOTPROVIDED", "NONREF"}
# Nordea and others cut Ustrd at 35 characters (the old MT line width) or at its 140 maximum.
_USTRD_WIDTHS = (35, 140)


def parse_camt053(data: bytes) -> ParsedStatement:
    return _parse(data, "camt053")


def parse_camt054(data: bytes) -> ParsedStatement:
    return _parse(data, "camt054")


def _parse(data: bytes, format_name: str) -> ParsedStatement:
    root = parse_xml(data)
    found = find_document_part(root, tuple(_BODIES))
    if found is None:
        first = next((child.tag for child in root), root.tag)
        raise UnreadableFile(f"not a camt.053/054 bank statement: the document holds {first}")
    body_tag, body = found
    actual, report_tag = _BODIES[body_tag]
    lines: list[StatementLine] = []
    errors: list[LineError] = []
    warnings: list[LineError] = []
    if actual != format_name:
        warnings.append(LineError(0, f"the file is a {actual} document ({body_tag}); read as such"))
    reports = body.findall(report_tag)
    if not reports:
        raise UnreadableFile(f"the {actual} document has no {report_tag} element")

    statements = []
    position = 0
    for report in reports:
        acct = report.find("Acct")
        account = text(acct, "Id/IBAN") or text(acct, "Id/Othr/Id")
        entries = report.findall("Ntry")
        account_currency = text(acct, "Ccy").upper() or _common_currency(entries) or _balance_currency(report)
        first_line = len(lines)
        for entry in entries:
            position += 1
            try:
                lines.extend(_entry_lines(entry, position, account, account_currency, warnings))
            except ValueError as exc:
                errors.append(LineError(position, str(exc)))
        _fill_missing_dates(report, body, lines[first_line:], warnings)
        statement: dict[str, Any] = {
            "id": text(report, "Id"),
            "account": account,
            "currency": account_currency,
            "owner": text(acct, "Ownr/Nm") or text(acct, "Ownr/Pty/Nm"),
            "balances": [balance for balance in (_balance(b, warnings) for b in report.findall("Bal")) if balance],
            "entries": len(entries),
        }
        summary = _summary(report.find("TxsSummry"))
        if summary:
            statement["summary"] = summary
        _check_balances(statement, lines[first_line:], warnings)
        statements.append(statement)

    declared: dict = {"statements": statements}
    summaries = [s.get("summary", {}) for s in statements]
    if all(summaries):
        for key in ("credit_count", "credit_total", "debit_count", "debit_total"):
            values = [s.get(key) for s in summaries]
            if all(v is not None for v in values):
                declared[key] = sum(values, Decimal(0) if key.endswith("total") else 0)
    accounts = {s["account"] for s in statements}
    currencies = {s["currency"] for s in statements}
    meta = {
        "document": actual,
        "message_id": text(body, "GrpHdr/MsgId"),
        "created": text(body, "GrpHdr/CreDtTm"),
    }
    return new_statement(format_name, lines, errors, warnings,
                         currency=currencies.pop() if len(currencies) == 1 else "",
                         account=accounts.pop() if len(accounts) == 1 else "",
                         declared=declared, meta=meta)


def _fill_missing_dates(report: Element, body: Element, lines: list[StatementLine], warnings: list[LineError]) -> None:
    """An entry without ValDt is valued on its booking date; one with no date at all (Subite's
    exports) takes the statement's day: the end of its period, else its closing balance's date,
    else its creation date."""
    undated = [item for item in lines if item.value_date is None and item.booking_date is None]
    for item in lines:
        if item.value_date is None and item.booking_date is not None:
            item.value_date = item.booking_date
            item.raw["value_date_from"] = "booking date"
    if not undated:
        return
    day = None
    closing = [b for b in report.findall("Bal") if text(b, "Tp/CdOrPrtry/Cd") == "CLBD"]
    for candidate in (report.find("FrToDt/ToDtTm"), closing[0].find("Dt") if closing else None,
                      report.find("CreDtTm"), body.find("GrpHdr/CreDtTm")):
        try:
            day = date_of(candidate)
        except ValueError:
            day = None
        if day:
            break
    if day is None:
        return
    for item in undated:
        item.value_date = item.booking_date = day
        item.raw["value_date_from"] = "statement date"
    warnings.append(LineError(undated[0].line, f"{len(undated)} entries of statement {text(report, 'Id')} carry no "
                                               f"booking or value date: the statement's date {day} is used"))


def _common_currency(entries: list[Element]) -> str:
    counts = Counter((amt.get("Ccy") or "").upper() for entry in entries if (amt := entry.find("Amt")) is not None)
    counts.pop("", None)
    return counts.most_common(1)[0][0] if counts else ""


def _balance_currency(report: Element) -> str:
    for balance in report.findall("Bal"):
        amount = balance.find("Amt")
        currency = amount.get("Ccy") if amount is not None else None
        if currency:
            return currency.upper()
    return ""


def _indicator(value: str) -> Direction | None:
    return {"CRDT": CREDIT, "DBIT": DEBIT}.get(value.strip().upper())


def _entry_lines(entry: Element, position: int, account: str, account_currency: str,
                 warnings: list[LineError]) -> list[StatementLine]:
    status = (text(entry, "Sts/Cd") or text(entry, "Sts")).upper()
    if status and status != "BOOK":
        # Pending (PDNG) and information-only (INFO) entries are not money on the account yet.
        warnings.append(LineError(position, f"entry with status {status} skipped: only booked entries are money"))
        return []
    try:
        amount, currency = amount_of(entry.find("Amt"))
    except ValueError as exc:
        raise ValueError(f"entry amount: {exc}") from None
    direction = _indicator(text(entry, "CdtDbtInd"))
    if direction is None:
        raise ValueError(f"entry has no CdtDbtInd CRDT/DBIT (found {text(entry, 'CdtDbtInd')!r})")
    currency = currency or account_currency
    try:
        booking_date = date_of(entry.find("BookgDt"))
    except ValueError as exc:
        raise ValueError(f"booking date: {exc}") from None
    try:
        value_date = date_of(entry.find("ValDt"))
    except ValueError as exc:
        raise ValueError(f"value date: {exc}") from None
    reversal_indicator = text(entry, "RvslInd").lower() in ("true", "1")
    sub_family = text(entry, "BkTxCd/Domn/Fmly/SubFmlyCd").upper()
    entry_ids = _distinct([text(entry, "AcctSvcrRef"), text(entry, "NtryRef")])
    details = entry.findall("NtryDtls/TxDtls")
    base_raw = {
        "entry_reference": text(entry, "NtryRef"),
        "account_servicer_reference": text(entry, "AcctSvcrRef"),
        "bank_transaction_code": "/".join(filter(None, [
            text(entry, "BkTxCd/Domn/Cd"), text(entry, "BkTxCd/Domn/Fmly/Cd"), sub_family])),
        "proprietary_code": text(entry, "BkTxCd/Prtry/Cd"),
        "batch_transactions": text(entry, "NtryDtls/Btch/NbOfTxs"),
        "transaction_details": len(details),
    }
    common: dict[str, Any] = {
        "position": position, "value_date": value_date, "booking_date": booking_date, "direction": direction,
        "currency": currency, "account": account, "account_currency": account_currency,
        "reversal_indicator": reversal_indicator, "sub_family": sub_family, "entry_ids": entry_ids,
        "entry_texts": raw_texts(entry, "AddtlNtryInf"), "base_raw": base_raw,
    }
    amounts = _split_amounts(details, amount, currency, direction, position, warnings)
    if amounts is None:
        return [_line(details, amount, None, **common)]
    return [_line([detail], part, index, **common) for index, (detail, part) in enumerate(zip(details, amounts, strict=True), 1)]


def _split_amounts(details: list[Element], amount: Decimal, currency: str, direction: str, position: int,
                   warnings: list[LineError]) -> list[Decimal] | None:
    """The TxDtls amounts when the entry is to be itemised, else None (one line for the entry)."""
    if len(details) < 2:
        return None
    amounts: list[Decimal] = []
    problem = ""
    for detail in details:
        element = detail.find("Amt")
        if element is None:
            element = detail.find("AmtDtls/TxAmt/Amt")
        if element is None:
            problem = "a TxDtls has no amount"
            break
        try:
            part, part_currency = amount_of(element)
        except ValueError as exc:
            problem = f"a TxDtls amount is unreadable ({exc})"
            break
        if part_currency and part_currency != currency:
            problem = f"a TxDtls is in {part_currency}, the entry in {currency}"
            break
        if _indicator(text(detail, "CdtDbtInd")) not in (None, direction):
            problem = f"a TxDtls is marked {text(detail, 'CdtDbtInd')} inside a {direction} entry"
            break
        amounts.append(part)
    if not problem and sum(amounts) != amount:
        problem = f"the TxDtls amounts add up to {sum(amounts)}, the entry is {amount}"
    if problem:
        warnings.append(LineError(position, f"entry with {len(details)} TxDtls kept as one line of {amount} {currency}: "
                                            f"{problem}"))
        return None
    return amounts


def _line(details: list[Element], amount: Decimal, index: int | None, *, position: int, value_date, booking_date,
          direction: Direction, currency: str, account: str, account_currency: str, reversal_indicator: bool,
          sub_family: str, entry_ids: list[str], entry_texts: list[str], base_raw: dict) -> StatementLine:
    return_codes = [code for detail in details for code in
                    texts(detail, "RtrInf/Rsn/Cd") + texts(detail, "RtrInf/Rsn/Prtry")]
    return_texts = [t for detail in details for t in texts(detail, "RtrInf/AddtlInf")]
    has_return = any(detail.find("RtrInf") is not None for detail in details)
    reversal = reversal_indicator or has_return or sub_family in _RETURN_SUBFAMILIES

    end_to_end_ids = _distinct([text(d, "Refs/EndToEndId") for d in details
                                if text(d, "Refs/EndToEndId").upper() not in _NOT_PROVIDED])
    end_to_end_id = end_to_end_ids[0] if len(end_to_end_ids) == 1 else ""
    reference = "/".join(entry_ids)
    if index is not None and reference:
        reference += f"#{index}"
    if not reference and len(details) == 1:
        detail = details[0]
        candidates = [text(detail, "Refs/AcctSvcrRef"), text(detail, "Refs/EndToEndId"), text(detail, "Refs/TxId")]
        reference = next((c for c in candidates if c.upper() not in _NOT_PROVIDED), "")
    if reference and reversal:
        # ING books a reversal under the very ids of the entry it reverses, and a returned
        # collection may carry only the end-to-end id of the collection it returns.
        reference += "#RVSL"

    payer_name, payer_account = _counterparty(details, direction, reversal, account)
    remittance = join_text([piece for detail in details for piece in _detail_texts(detail)] + entry_texts)
    raw = dict(base_raw)
    if index is not None:
        raw["tx_index"] = index
    mandates = _distinct([text(d, "Refs/MndtId") for d in details])
    if mandates:
        raw["mandate_id"] = " ".join(mandates)
    if end_to_end_ids:
        raw["end_to_end_id"] = " ".join(end_to_end_ids)
    if return_texts:
        raw["return_info"] = " ".join(return_texts)
    return StatementLine(
        line=position, value_date=value_date, booking_date=booking_date, amount=amount, direction=direction,
        currency=currency, account=account, payer_name=payer_name, payer_account=payer_account,
        reference=reference, remittance=remittance, reversal=reversal,
        return_reason=(return_codes[0] if return_codes else (return_texts[0] if return_texts else "")),
        raw=raw, end_to_end_id=end_to_end_id, account_currency=account_currency,
    )


def _detail_texts(detail: Element) -> list[str]:
    pieces = [join_wrapped(raw_texts(detail, "RmtInf/Ustrd"), _USTRD_WIDTHS)]
    for structured in detail.findall("RmtInf/Strd"):
        pieces += texts(structured, "CdtrRefInf/Ref") + texts(structured, "RfrdDocInf/Nb")
        pieces += texts(structured, "AddtlRmtInf")
    pieces += texts(detail, "AddtlTxInf")
    return pieces


def _party(detail: Element, role: str) -> tuple[str, str]:
    name = ""
    for path in (f"RltdPties/{role}/Nm", f"RltdPties/{role}/Pty/Nm",
                 f"RltdPties/Ultmt{role}/Nm", f"RltdPties/Ultmt{role}/Pty/Nm"):
        name = text(detail, path)
        if name:
            break
    account = text(detail, f"RltdPties/{role}Acct/Id/IBAN") or text(detail, f"RltdPties/{role}Acct/Id/Othr/Id")
    return name, account


def _counterparty(details: list[Element], direction: str, reversal: bool, own_account: str) -> tuple[str, str]:
    """The other side of the booking: the debtor of money received, the creditor of money paid;
    for a reversal the roles of the original payment (a returned collection names its payer as
    debtor). A party holding our own account is us, never the counterparty. Several TxDtls that
    disagree give no single counterparty."""
    first, second = ("Dbtr", "Cdtr") if (direction == CREDIT) != reversal else ("Cdtr", "Dbtr")
    found = set()
    for detail in details:
        for role in (first, second):
            name, account = _party(detail, role)
            if account and own_account and account.replace(" ", "") == own_account.replace(" ", ""):
                continue
            if name or account:
                found.add((name, account))
                break
    return found.pop() if len(found) == 1 else ("", "")


def _distinct(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return out


def _balance(element: Element, warnings: list[LineError]) -> dict | None:
    kind = text(element, "Tp/CdOrPrtry/Cd") or text(element, "Tp/CdOrPrtry/Prtry")
    try:
        amount, currency = amount_of(element.find("Amt"))
    except ValueError as exc:
        warnings.append(LineError(0, f"balance {kind}: {exc}"))
        return None
    # Some banks leave CdtDbtInd out of Bal (against the schema): the sign is then unknown.
    indicator = _indicator(text(element, "CdtDbtInd"))
    try:
        day = date_of(element.find("Dt"))
    except ValueError:
        day = None
    signed = None if indicator is None else (amount if indicator == CREDIT else -amount)
    return {"type": kind, "amount": amount, "currency": currency, "indicator": indicator, "signed": signed,
            "date": day}


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _decimal(element: Element | None, path: str) -> Decimal | None:
    value = text(element, path)
    if not value or element is None:
        return None
    try:
        return amount_of(element.find(path))[0]
    except ValueError:
        return None


def _summary(element: Element | None) -> dict:
    if element is None:
        return {}
    summary = {
        "entries": _int(text(element, "TtlNtries/NbOfNtries")),
        "sum": _decimal(element, "TtlNtries/Sum"),
        "credit_count": _int(text(element, "TtlCdtNtries/NbOfNtries")),
        "credit_total": _decimal(element, "TtlCdtNtries/Sum"),
        "debit_count": _int(text(element, "TtlDbtNtries/NbOfNtries")),
        "debit_total": _decimal(element, "TtlDbtNtries/Sum"),
    }
    net = _decimal(element, "TtlNtries/TtlNetNtryAmt")
    if net is not None:
        summary["net"] = net if _indicator(text(element, "TtlNtries/CdtDbtInd")) != DEBIT else -net
    return {key: value for key, value in summary.items() if value is not None}


def _check_balances(statement: dict, lines: list[StatementLine], warnings: list[LineError]) -> None:
    """Opening + credits - debits should be the closing balance; a mismatch is worth a look
    (it is not an error of any line). Lines in another currency are left out of the sum."""
    by_type = {b["type"]: b for b in statement["balances"]}
    opening = by_type.get("OPBD") or by_type.get("PRCD")
    closing = by_type.get("CLBD")
    if not opening or not closing or opening["signed"] is None or closing["signed"] is None:
        return
    currency = statement["currency"]
    if opening["currency"] != currency or closing["currency"] != currency:
        return
    credits = sum((item.amount for item in lines if item.direction == CREDIT and item.currency == currency), Decimal(0))
    debits = sum((item.amount for item in lines if item.direction == DEBIT and item.currency == currency), Decimal(0))
    expected = opening["signed"] + credits - debits
    if expected != closing["signed"]:
        warnings.append(LineError(0, f"statement {statement['id'] or statement['account']}: opening balance "
                                     f"{opening['signed']} + credits {credits} - debits {debits} = {expected}, "
                                     f"but the closing balance is {closing['signed']} {currency}"))
