"""Statement and debit-result parsers: bytes in, ParsedStatement / ParsedDebitResults out.

    from billing.importers import parse
    statement = parse("camt053", data)
    statement = parse("csv", data, template="cn-online-banking")
    results = parse("pain002", data)

Each parser is pure (no database, no Django models); base.py holds the shapes and the rules
every format follows (line numbers, signs, references, errors). Formats and their quirks are
described at the top of each module.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from .alipay import parse_alipay
from .base import (
    BadOptions,
    DebitResult,
    LineError,
    ParsedDebitResults,
    ParsedStatement,
    StatementLine,
    UnreadableFile,
    map_reason,
)
from .camt import parse_camt053, parse_camt054
from .csvbank import TEMPLATES, parse_csv
from .debitcsv import parse_debit_result_csv
from .mt940 import parse_mt940
from .pain002 import parse_pain002
from .wechatpay import parse_wechatpay

PARSERS: dict[str, Callable[..., ParsedStatement | ParsedDebitResults]] = {
    "camt053": parse_camt053,
    "camt054": parse_camt054,
    "mt940": parse_mt940,
    "csv": parse_csv,
    "alipay": parse_alipay,
    "wechatpay": parse_wechatpay,
    "pain002": parse_pain002,
    "debit_result_csv": parse_debit_result_csv,
}
# Formats whose result is a ParsedDebitResults (the bank's answer to our debit batch).
DEBIT_RESULT_FORMATS = {"pain002", "debit_result_csv"}


def parse(format: str, data: bytes, **options) -> ParsedStatement | ParsedDebitResults:
    """Parse `data` as `format` (a key of PARSERS). Options go to the parser: `template` for csv,
    `mapping` for debit_result_csv, `encoding` for the text formats. Options a format does not
    take are refused rather than silently ignored."""
    parser = PARSERS.get(format)
    if parser is None:
        raise BadOptions(f"unknown statement format {format!r}; known: {', '.join(PARSERS)}")
    accepted = set(inspect.signature(parser).parameters) - {"data"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise BadOptions(f"format {format} does not take the option(s) {', '.join(unknown)}; "
                         f"it takes: {', '.join(sorted(accepted)) or 'none'}")
    return parser(data, **options)


__all__ = [
    "BadOptions", "DEBIT_RESULT_FORMATS", "DebitResult", "LineError", "PARSERS", "ParsedDebitResults",
    "ParsedStatement", "StatementLine", "TEMPLATES", "UnreadableFile", "map_reason", "parse",
    "parse_alipay", "parse_camt053", "parse_camt054", "parse_csv", "parse_debit_result_csv", "parse_mt940",
    "parse_pain002", "parse_wechatpay",
]
