"""The operations page's catch-up (administrators and team leads with the operations right) and
the moratorium page. Thin: the rules are in renewals.operations and renewals.services.holds."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import perm
from core.errors import ApplicationError
from core.pagination import page_query
from renewals.forms_suspensions import MoratoriumForm
from renewals.operations import catch_up_progress, catch_up_start
from renewals.selectors_suspensions import moratorium_list
from renewals.services.holds import moratorium_request


def _enqueue_catch_up() -> None:
    from renewals.tasks import nightly_pipeline

    nightly_pipeline.delay()


@login_required
@require_POST
@permission_required(perm("view_operations"), raise_exception=True)
def operations_catch_up(request):
    try:
        dates = catch_up_start(actor=request.user, enqueue=_enqueue_catch_up)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Started: %(count)s business dates to run, in order. This page shows the progress.")
                         % {"count": dates})
    return redirect("renewals:operations")


@login_required
@permission_required(perm("view_operations"), raise_exception=True)
def operations_progress(request):
    """The progress panel (polled by HTMX every few seconds while a run is going)."""
    return render(request, "renewals/_catch_up.html", {"progress": catch_up_progress()})


@login_required
@permission_required(perm("view_portfolio"), raise_exception=True)
def moratoria(request):
    may_request = request.user.has_perm(perm("work_cases"))
    form = MoratoriumForm(user=request.user, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not may_request:
            raise PermissionDenied
        if form.is_valid():
            try:
                moratorium_request(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Moratorium asked for: a team lead approves it."))
                return redirect("renewals:moratoria")
    page = Paginator(moratorium_list(user=request.user), 20).get_page(request.GET.get("page"))
    return render(request, "renewals/moratoria.html", {"page": page, "page_query": page_query(request), "form": form,
                                                       "may_request": may_request})
