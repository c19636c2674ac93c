"""The bank's answer to a debit batch: ISO 20022 pain.002 (CustomerPaymentStatusReport, any
version, any namespace or none) and a plain CSV layout for banks that send a spreadsheet.

Each result says paid or failed, with the bank's reason code and text and our reason
(base.map_reason). In pain.002 a transaction's own TxSts decides; without one, its PmtInf's
PmtInfSts, then the group's GrpSts. A PmtInf rejected as a whole (PmtInfSts=RJCT) gives, besides its listed
TxInfAndSts, one result of scope "payment_info" unless it lists all its transactions (Nordea
lists none): that result applies to every debit of the PmtInf without a result of its own. Statuses
that are not final (ACTC, ACCP, ACSP, PDNG, RCVD...) are no result and are counted as such.
"""

from __future__ import annotations

from decimal import Decimal
from xml.etree.ElementTree import Element

from .base import (
    FAILED,
    ISO_REASON_NAMES,
    PAID,
    DebitResult,
    LineError,
    ParsedDebitResults,
    UnreadableFile,
    join_text,
    map_reason,
)
from .xmltools import amount_of, find_document_part, parse_xml, text, texts

_FAILED = {"RJCT", "CANC"}
_PAID = {"ACSC", "ACCC"}


def parse_pain002(data: bytes) -> ParsedDebitResults:
    root = parse_xml(data)
    found = find_document_part(root, ("CstmrPmtStsRpt",))
    if found is None:
        first = next((child.tag for child in root), root.tag)
        raise UnreadableFile(f"not a pain.002 payment status report: the document holds {first}")
    _, report = found
    group = report.find("OrgnlGrpInfAndSts")
    group_status = text(group, "GrpSts").upper()
    group_reason = _reason(group)
    message_id = text(group, "OrgnlMsgId")
    results: list[DebitResult] = []
    errors: list[LineError] = []
    warnings: list[LineError] = []
    not_final = 0
    position = 0
    payment_infos = []
    blocks = report.findall("OrgnlPmtInfAndSts")
    # pain.002.001.10+ may list TxInfAndSts straight under the report (no PmtInf level).
    loose = report.findall("TxInfAndSts")
    for block in blocks + ([report] if loose else []):
        is_block = block is not report
        payment_info_id = text(block, "OrgnlPmtInfId") if is_block else ""
        status = (text(block, "PmtInfSts").upper() if is_block else "") or group_status
        reason = _reason(block) if is_block else ("", "")
        if not any(reason):
            reason = group_reason
        count = text(block, "OrgnlNbOfTxs") if is_block else ""
        transactions = block.findall("TxInfAndSts")
        if is_block:
            payment_infos.append({"id": payment_info_id, "status": status, "count": int(count) if count.isdigit() else None,
                                  "control_sum": _decimal(block, "OrgnlCtrlSum"), "listed": len(transactions)})
        for transaction in transactions:
            position += 1
            tx_status = text(transaction, "TxSts").upper() or status
            code, words = _reason(transaction)
            if not code and not words:
                code, words = reason
            try:
                amount, currency = _amount(transaction)
            except ValueError as exc:
                errors.append(LineError(position, f"original amount: {exc}"))
                continue
            end_to_end_id = text(transaction, "OrgnlEndToEndId")
            if not end_to_end_id and not text(transaction, "OrgnlInstrId"):
                errors.append(LineError(position, "no OrgnlEndToEndId / OrgnlInstrId: the debit cannot be identified"))
                continue
            if tx_status not in _FAILED | _PAID:
                not_final += 1
                continue
            results.append(_result(position, tx_status, code, words, amount=amount, currency=currency,
                                   end_to_end_id=end_to_end_id, instruction_id=text(transaction, "OrgnlInstrId"),
                                   payment_info_id=payment_info_id, message_id=message_id, scope="transaction",
                                   raw={"status_id": text(transaction, "StsId"),
                                        "mandate_id": text(transaction, "OrgnlTxRef/MndtRltdInf/MndtId"),
                                        "debtor": text(transaction, "OrgnlTxRef/Dbtr/Nm"),
                                        "debtor_account": text(transaction, "OrgnlTxRef/DbtrAcct/Id/IBAN")
                                        or text(transaction, "OrgnlTxRef/DbtrAcct/Id/Othr/Id"),
                                        "collection_date": text(transaction, "OrgnlTxRef/ReqdColltnDt"),
                                        "status": tx_status}))
        # A final PmtInf status covers its transactions that are not listed (all of them when none
        # is, an unknown number when the block does not say how many it had).
        whole = is_block and status in _FAILED | _PAID and (
            not transactions or not count.isdigit() or len(transactions) < int(count))
        if whole:
            position += 1
            words = reason[1] or (f"PmtInf {payment_info_id} {status} as a whole" if not reason[0] else "")
            results.append(_result(position, status, reason[0], words, amount=None, currency="",
                                   end_to_end_id="", instruction_id="", payment_info_id=payment_info_id,
                                   message_id=message_id, scope="payment_info",
                                   raw={"original_count": count, "control_sum": str(_decimal(block, "OrgnlCtrlSum") or ""),
                                        "status": status}))
    if not blocks and not loose and group_status in _FAILED | _PAID:
        position += 1
        results.append(_result(position, group_status, group_reason[0], group_reason[1], amount=None, currency="",
                               end_to_end_id="", instruction_id="", payment_info_id="", message_id=message_id,
                               scope="group", raw={"status": group_status}))
    if not results and not errors and not not_final:
        warnings.append(LineError(0, "the report carries no transaction status"))
    declared = {
        "original_message_id": message_id,
        "original_message_name": text(group, "OrgnlMsgNmId"),
        "group_status": group_status,
        "original_count": int(text(group, "OrgnlNbOfTxs")) if text(group, "OrgnlNbOfTxs").isdigit() else None,
        "original_control_sum": _decimal(group, "OrgnlCtrlSum"),
        "payment_infos": payment_infos,
        "not_final": not_final,
    }
    meta = {"message_id": text(report, "GrpHdr/MsgId"), "created": text(report, "GrpHdr/CreDtTm")}
    return ParsedDebitResults(format="pain002", results=results, errors=errors, declared=declared, warnings=warnings,
                              meta=meta)


def _reason(element: Element | None) -> tuple[str, str]:
    """(code, text) of the first StsRsnInf; the text joins every AddtlInf (CDATA included)."""
    if element is None:
        return "", ""
    info = element.find("StsRsnInf")
    if info is None:
        return "", ""
    code = text(info, "Rsn/Cd") or text(info, "Rsn/Prtry")
    return code.upper(), join_text(texts(info, "AddtlInf"))


def _amount(transaction: Element) -> tuple[Decimal | None, str]:
    for path in ("OrgnlTxRef/Amt/InstdAmt", "OrgnlTxRef/Amt/EqvtAmt/Amt", "OrgnlTxRef/IntrBkSttlmAmt"):
        element = transaction.find(path)
        if element is not None:
            return amount_of(element)
    return None, ""


def _decimal(element: Element | None, path: str) -> Decimal | None:
    if element is None or element.find(path) is None:
        return None
    try:
        return amount_of(element.find(path))[0]
    except ValueError:
        return None


def _result(position: int, status: str, code: str, words: str, *, amount, currency: str, end_to_end_id: str,
            instruction_id: str, payment_info_id: str, message_id: str, scope: str, raw: dict) -> DebitResult:
    """The result of a final status (one of _PAID or _FAILED)."""
    if status in _PAID:
        return DebitResult(line=position, end_to_end_id=end_to_end_id, amount=amount, status=PAID, reason_code="",
                           reason="", reason_text="", currency=currency, scope=scope, payment_info_id=payment_info_id,
                           instruction_id=instruction_id, original_message_id=message_id, raw=raw)
    return DebitResult(line=position, end_to_end_id=end_to_end_id, amount=amount, status=FAILED, reason_code=code,
                       reason=map_reason(code, words), reason_text=words or ISO_REASON_NAMES.get(code, ""),
                       currency=currency, scope=scope, payment_info_id=payment_info_id,
                       instruction_id=instruction_id, original_message_id=message_id, raw=raw)
