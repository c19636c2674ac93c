"""Excel and CSV of the reporting tables: bold headers, typed cells with number formats (money
#,##0.00, rates 0.00%, dates yyyy-mm-dd), the header row frozen, a sheet per slice."""

import datetime as dt
import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMATS = {"money": "#,##0.00", "rate": "0.00%", "date": "yyyy-mm-dd", "int": "0"}


def workbook_bytes(*, sheets: list[tuple[str, list[tuple[str, str]], list[list]]]) -> bytes:
    """sheets: (title, [(header, kind)], rows)."""
    book = Workbook()
    book.remove(book.active)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append([str(header) for header, _kind in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_cell(value) for value in row])
        for index, (header, kind) in enumerate(columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = max(12, len(str(header)) + 4)
            if kind in FORMATS:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = FORMATS[kind]
        sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value):
    if isinstance(value, Decimal | int | float | dt.date) or value is None:
        return value
    return str(value)
