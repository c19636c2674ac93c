import csv

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.roles import perm
from audit.forms import TrailFilterForm
from audit.selectors import TrailFilter, trail_list
from core.pagination import page_query


def _filters(request) -> tuple[TrailFilterForm, TrailFilter]:
    form = TrailFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, TrailFilter(**{k: v for k, v in form.cleaned_data.items() if v})
    return form, TrailFilter()


@login_required
@permission_required(perm("view_trail_all"), raise_exception=True)
def trail(request):
    form, filters = _filters(request)
    page = Paginator(trail_list(filters=filters), 50).get_page(request.GET.get("page"))
    return render(request, "audit/trail.html", {"form": form, "page": page, "page_query": page_query(request)})


class _Echo:
    def write(self, value):
        return value


@login_required
@permission_required(perm("export_trail"), raise_exception=True)
def trail_export(request):
    _form, filters = _filters(request)
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"  # so that Excel opens the Chinese text as UTF-8
        yield writer.writerow(["time", "business_date", "user", "action", "object_type", "object_id", "job", "url",
                               "changes"])
        for e in trail_list(filters=filters).iterator(chunk_size=2000):
            context = e.pgh_context or {}
            yield writer.writerow([
                timezone.localtime(e.pgh_created_at).isoformat(), context.get("business_date") or "",
                context.get("username") or "",
                e.pgh_label, e.pgh_obj_model, e.pgh_obj_id, context.get("job") or "",
                context.get("url") or "", e.pgh_diff or "",
            ])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="trail.csv"'
    return response
