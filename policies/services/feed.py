"""Reading the policy feed's CSV files: encoding, header recognition, physical line numbers."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from core.errors import ApplicationError

KINDS = ("branches", "products", "policies")


@dataclass
class FeedFile:
    name: str
    kind: str
    header: list[str]
    text: str

    def records(self) -> Iterator[tuple[int, dict]]:
        """(physical line number of the record's first line, {column: value})."""
        for start, record in self.rows():
            yield start, dict(zip(self.header, record, strict=False)) | {"__cells__": len(record)}

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(physical line number of the record's first line, [cell, ...] in the header's order);
        blank records are skipped."""
        reader = csv.reader(io.StringIO(self.text, newline=""))
        next(reader)
        previous_end = reader.line_num
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not (record and record[0].strip()) and not any(cell.strip() for cell in record):
                continue
            yield start, record


def decode(data: bytes) -> str:
    """UTF-8 with BOM, UTF-8, else GBK (read as GB18030, its superset)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ApplicationError(f"the file is neither UTF-8 nor GBK (byte {exc.start})") from None


def kind_of(header: list[str]) -> str:
    """The key column names the file: policy_no, else product_code, else branch_code."""
    columns = set(header)
    if "policy_no" in columns:
        return "policies"
    if "product_code" in columns:
        return "products"
    if "branch_code" in columns:
        return "branches"
    raise ApplicationError(
        "the header has none of the key columns branch_code, product_code, policy_no: " + ",".join(header[:8])
    )


def feed_file_read(*, name: str, data: bytes) -> FeedFile:
    text = decode(data)
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise ApplicationError(f"{name}: the file is empty or has no header row")
    header = [h.strip() for h in next(csv.reader([first_line]))]
    return FeedFile(name=name, kind=kind_of(header), header=header, text=text)
