"""Reading CSV-like exports (bank CSVs, Alipay and WeChat bills): rows with their physical line
numbers, header search below a preamble, archive unpacking with a size cap."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from decimal import Decimal

from .base import UnreadableFile, clean_cell, parse_amount

# A statement of a few hundred thousand lines is a few dozen MB; more than this is not a bill.
MAX_UNPACKED = 200 * 1024 * 1024

Row = tuple[int, list[str]]


def norm(name: str) -> str:
    """A header cell compared loosely: NFKC (full-width brackets and colons), no BOM, backtick,
    spaces or case."""
    value = unicodedata.normalize("NFKC", clean_cell((name or "").replace("\ufeff", "")))
    return re.sub(r"\s+", "", value).lower()


def read_rows(text: str, delimiter: str = ",") -> list[Row]:
    """(physical line of the record's first line, cells); a quoted cell may span lines."""
    text = text.replace("\x00", "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Row] = []
    previous_end = 0
    try:
        for record in reader:
            rows.append((previous_end + 1, record))
            previous_end = reader.line_num
    except csv.Error as exc:
        raise UnreadableFile(f"line {previous_end + 1}: the CSV cannot be read ({exc})") from None
    return rows


def find_header(rows: list[Row], wanted: Callable[[set[str]], bool], limit: int = 200) -> int | None:
    """Index in `rows` of the first row whose normalised cells satisfy `wanted`."""
    for index, (_, cells) in enumerate(rows[:limit]):
        if wanted({norm(cell) for cell in cells}):
            return index
    return None


def column_index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, cell in enumerate(header):
        index.setdefault(norm(cell), position)
    return index


def cell(cells: list[str], index: dict[str, int], *names: str) -> str:
    """The cleaned value of the first of `names` present in the header ("" when absent)."""
    for name in names:
        position = index.get(norm(name))
        if position is not None:
            return clean_cell(cells[position]) if position < len(cells) else ""
    return ""


def has(index: dict[str, int], *names: str) -> bool:
    return any(norm(name) in index for name in names)


def is_blank(cells: list[str]) -> bool:
    return not any(clean_cell(c) for c in cells)


def empty(value: str) -> str:
    """Chinese bills write `/` or `-` for nothing."""
    return "" if value.strip() in ("/", "-", "--", "—") else value


def unpack(data: bytes, *, prefer: Callable[[str], int] | None = None) -> tuple[bytes, str]:
    """(bytes, member name): a GZIP stream is inflated, a ZIP archive yields the member that
    `prefer` ranks highest (Alipay puts 业务明细.csv and 业务明细(汇总).csv in one zip). Both are
    capped at MAX_UNPACKED, so a zip bomb is refused rather than inflated."""
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = inflater.decompress(data, MAX_UNPACKED + 1)
        except zlib.error as exc:
            raise UnreadableFile(f"the GZIP stream is damaged: {exc}") from None
        if len(out) > MAX_UNPACKED or inflater.unconsumed_tail:
            raise UnreadableFile("the GZIP stream inflates beyond the size limit")
        return out, ""
    if data[:4] == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise UnreadableFile(f"the ZIP archive is damaged: {exc}") from None
        members = [info for info in archive.infolist() if not info.is_dir()]
        if not members:
            raise UnreadableFile("the ZIP archive is empty")

        def name_of(info: zipfile.ZipInfo) -> str:
            if info.flag_bits & 0x800:
                return info.filename
            try:  # names without the UTF-8 flag are in the archiver's code page: GBK here
                return info.filename.encode("cp437").decode("gb18030")
            except (UnicodeEncodeError, UnicodeDecodeError):
                return info.filename

        ranked = sorted(members, key=lambda info: -(prefer(name_of(info)) if prefer else 0))
        chosen = ranked[0]
        if chosen.file_size > MAX_UNPACKED:
            raise UnreadableFile(f"{name_of(chosen)} inflates beyond the size limit")
        with archive.open(chosen) as handle:
            out = handle.read(MAX_UNPACKED + 1)
        if len(out) > MAX_UNPACKED:
            raise UnreadableFile(f"{name_of(chosen)} inflates beyond the size limit")
        return out, name_of(chosen)
    return data, ""


_COUNT_AND_SUM = re.compile(r"(\d+)\s*笔\s*[,，]?\s*(?:[^\d\-]*?)(-?[\d,]+(?:\.\d+)?)\s*元")


def count_and_sum(text: str) -> tuple[int, Decimal] | None:
    """`收入：1笔 28.50元` / `#交易合计：3笔，商家实收共900.00元` -> (1, Decimal('28.50'))."""
    found = _COUNT_AND_SUM.search(unicodedata.normalize("NFKC", text))
    if not found:
        return None
    try:
        return int(found.group(1)), parse_amount(found.group(2))
    except ValueError:
        return None

