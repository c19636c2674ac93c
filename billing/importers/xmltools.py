"""Reading ISO 20022 XML safely and without caring about namespaces.

defusedxml refuses DTDs, entity declarations and external references, so a billion-laughs or an
XXE file is rejected before anything is expanded; bank files never carry a DTD. Namespaces are
dropped after parsing: versions 001.02 to 001.08 differ in their namespace URI, and some banks
get the namespace wrong (`Xmlns=` with a capital X leaves the document with none at all).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .base import UnreadableFile, parse_amount, parse_date, squash

_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']", re.S)
_EXPAT_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "utf-16", "utf16"}


def _to_utf8(data: bytes) -> bytes:
    """expat reads only UTF-8/16 and Latin-1: a GBK (or other) document is re-encoded first,
    and one without a declaration that is not UTF-8 is tried as GBK."""
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return data
    found = _DECLARATION.match(data[:400])
    if found:
        declared = found.group(1).decode("ascii").lower()
        if declared in _EXPAT_ENCODINGS:
            return data
        codec = "gb18030" if declared in ("gbk", "gb2312", "gb18030", "cp936") else declared
        try:
            text = data.decode(codec)
        except (LookupError, UnicodeDecodeError) as exc:
            raise UnreadableFile(f"the XML declares encoding {declared!r} but cannot be read with it: {exc}") from None
        text = re.sub(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[A-Za-z0-9._-]+", r"\1utf-8", text, count=1)
        return text.encode("utf-8")
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError:
            return data


def parse_xml(data: bytes) -> Element:
    """The document's root element with every namespace stripped from the tags."""
    if not isinstance(data, (bytes, bytearray)):
        raise UnreadableFile("the parser takes the file's bytes")
    if not bytes(data).strip():
        raise UnreadableFile("the file is empty")
    try:
        root = fromstring(_to_utf8(bytes(data)), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnreadableFile(
            f"refused: the XML carries a DTD, entity declarations or external references ({type(exc).__name__}); "
            "bank files never do, and expanding them is a known attack (billion laughs, XXE)"
        ) from None
    except ParseError as exc:
        raise UnreadableFile(f"not well-formed XML: {exc}") from None
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def find_document_part(root: Element, names: tuple[str, ...]) -> tuple[str, Element] | None:
    """The first message body among `names` (e.g. BkToCstmrStmt), at the root or below Document."""
    for element in root.iter():
        if element.tag in names:
            return element.tag, element
    return None


def text(element: Element | None, path: str = ".", default: str = "") -> str:
    if element is None:
        return default
    found = element.find(path)
    if found is None or found.text is None:
        return default
    return squash(found.text)


def texts(element: Element | None, path: str) -> list[str]:
    if element is None:
        return []
    return [squash(found.text) for found in element.findall(path) if found.text and found.text.strip()]


def raw_texts(element: Element | None, path: str) -> list[str]:
    """Texts as written (only the ends trimmed), for pieces whose length matters."""
    if element is None:
        return []
    return [found.text.strip() for found in element.findall(path) if found.text and found.text.strip()]


def amount_of(element: Element | None) -> tuple[Decimal, str]:
    """(amount, currency) of an `Amt Ccy=".."` element; ISO amounts are unsigned and use a dot,
    but a decimal comma, no decimals or 3-5 decimals are read too. Raises ValueError."""
    if element is None or element.text is None or not element.text.strip():
        raise ValueError("no amount")
    value = parse_amount(element.text, allow_negative=False, decimal_comma=True)
    return value, (element.get("Ccy") or element.get("ccy") or "").strip().upper()


def date_of(element: Element | None) -> dt.date | None:
    """The date of a `<X><Dt>` or `<X><DtTm>` group: a Dt as written; a DtTm with an offset
    (or Z) on Asia/Shanghai's calendar, one without as written (base.parse_date).
    None when absent; raises ValueError when present but unreadable."""
    if element is None:
        return None
    value = text(element, "Dt") or text(element, "DtTm")
    if not value and element.text and element.text.strip():
        value = element.text.strip()
    if not value:
        return None
    return parse_date(value)
