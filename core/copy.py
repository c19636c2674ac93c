"""Values written for PostgreSQL by hand, where psycopg's per-value adaptation is the cost: a
COPY text-format field, an array literal of ids. Both are exact (no float, no locale)."""

import re
from collections.abc import Iterable

# COPY text format: tab-separated, \N for NULL; backslash, tab, newline and carriage return escaped
NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]")


def copy_field(value) -> str:
    """A value as a COPY text-format field: a str escaped (translated only when it holds a special
    character: most cells hold none), None as NULL, an int, Decimal or date as str() writes it."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return value.translate(_ESCAPES) if _SPECIAL.search(value) else value
    return str(value)


def copy_texts(*texts: str) -> tuple[str, ...]:
    """Several str fields of one row as COPY text-format fields: one search over them all, since
    most rows hold no special character (copy_field on each was most of a 100,000-line
    statement's stage rows: bench/RESULTS.md part 32)."""
    if _SPECIAL.search("".join(texts)) is None:
        return texts
    return tuple(value.translate(_ESCAPES) for value in texts)


def id_array(ids: Iterable[int]) -> str:
    """Integer ids as an array literal, for `%(ids)s::bigint[]`: psycopg adapts a list element by
    element (0.14 s for 100,000 ids, against 0.03 s for the literal and its cast); sorted, so that
    the statement reads them in index order."""
    return "{" + ",".join(str(int(i)) for i in sorted(ids)) + "}"


def text_array(values: Iterable[str]) -> str:
    """Strings as an array literal, for `%(values)s::text[]`: each quoted, its backslashes and
    double quotes escaped (psycopg adapting a list of 100,000 strings cost 0.2-0.3 s of Python)."""
    return "{" + ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"
