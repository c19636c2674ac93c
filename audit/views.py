import csv
import io
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from openpyxl import Workbook

from accounts.roles import perm
from audit.forms import TrailFilterForm
from audit.presentation import TrailRow, trail_rows
from audit.selectors import TrailCursor, TrailFilter, trail_iter, trail_page
from core.exports import XLSX_TYPE

EXPORT_CHUNK = 1000
XLSX_MAX_ROWS = 1_000_000  # one sheet holds 1,048,576 lines; the CSV has no limit


def _filters(request) -> tuple[TrailFilterForm, TrailFilter]:
    form = TrailFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, TrailFilter(**{k: v for k, v in form.cleaned_data.items() if v})
    return form, TrailFilter()


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@login_required
@permission_required(perm("view_trail_all"), raise_exception=True)
def trail(request):
    form, filters = _filters(request)
    after = TrailCursor.decode(request.GET.get("after"))
    events, following = trail_page(filters=filters, after=after)
    return render(request, "audit/trail.html", {
        "form": form, "rows": trail_rows(events), "after": after,
        "next_after": following.encode() if following else "",
        "filter_query": _query_without(request, "after"),
        "filtered": any(v for k, v in request.GET.items() if k != "after"),
    })


def _headers() -> list[str]:
    return [_("Time"), _("Business date"), _("User"), _("Sign-in name"), _("System job"), _("Action"),
            _("Object type"), _("Policy number"), _("Object"), _("Changes"), _("Reason")]


def _cells(row: TrailRow) -> list:
    if row.revealed:
        changes = row.revealed_label
    elif row.no_earlier:
        changes = _("no earlier record to compare with")
    else:
        changes = "; ".join(f"{label}: {before} → {after}" for label, before, after in row.changes)
    return [row.created_at.strftime("%Y-%m-%d %H:%M:%S"), row.business_date, row.user, row.username, row.job_name,
            row.action_label, row.object_label, row.policy_no, row.reference, changes, row.reason]


def _rows(filters: TrailFilter) -> Iterator[TrailRow]:
    chunk = []
    for event in trail_iter(filters=filters, chunk=EXPORT_CHUNK):
        chunk.append(event)
        if len(chunk) == EXPORT_CHUNK:
            yield from trail_rows(chunk)
            chunk = []
    yield from trail_rows(chunk)


class _Echo:
    def write(self, value):
        return value


@login_required
@permission_required(perm("export_trail"), raise_exception=True)
def trail_export(request):
    """The ledger under the page's filters as CSV (UTF-8 with a BOM, so that Excel reads the
    Chinese), streamed: no limit on the number of rows."""
    _form, filters = _filters(request)
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(_headers())
        for row in _rows(filters):
            yield writer.writerow(_cells(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="trail.csv"'
    return response


@login_required
@permission_required(perm("export_trail"), raise_exception=True)
def trail_export_xlsx(request):
    """The same as an Excel workbook (openpyxl's write-only mode: rows go to disk as written)."""
    _form, filters = _filters(request)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Audit trail"))
    sheet.append(_headers())
    for count, row in enumerate(_rows(filters)):
        if count >= XLSX_MAX_ROWS:
            sheet.append([_("More rows than a sheet holds: narrow the filters or export CSV.")])
            break
        sheet.append(_cells(row))
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="trail.xlsx"'
    return response
