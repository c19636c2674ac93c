"""The workbench's pages (issue 14): the queues, "next case", one screen per case with its
contact form (HTMX: the work panel is replaced in place), hand-offs, and the team lead's tools.
Thin: each view validates, calls a service or a selector, renders."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from accounts.masking import mask_phone
from accounts.roles import perm
from core.dates import business_today
from core.errors import ApplicationError
from core.exports import csv_bytes, download, xlsx_bytes
from policies.selectors import branch_scope_q, branches_for
from renewals.forms_cases import (
    DEPARTMENT_LABELS,
    FEEDBACK_LABELS,
    AnswerForm,
    ContactForm,
    FeedbackForm,
    FeedbackReportForm,
    HandoffForm,
    NoteForm,
    QueueFilterForm,
)
from renewals.models import CallScript, Case
from renewals.presentation import queue_rows
from renewals.selectors_cases import (
    QUEUES,
    calendar_warning,
    case_page,
    case_queue,
    case_queue_counts,
    case_queue_qs,
    feedback_report,
    feedback_report_allowed,
)
from renewals.services.calendar import calendar_last_year
from renewals.services.cases import (
    OUTCOME_LABELS,
    call_script_save,
    case_answer,
    case_assign,
    case_claim,
    case_claim_next,
    case_contact_record,
    case_get_for,
    case_handoff,
    case_held_by_other,
    case_note_add,
    case_release,
    cases_bulk_assign,
    cases_rebalance,
    clerk_away_set,
    feedback_record,
    teams_led_by,
)

QUEUE_LABELS = {
    "mine": gettext_lazy("My cases"), "team": gettext_lazy("My team's"), "unassigned": pgettext_lazy("case queue", "Unassigned"),
    "near_breach": gettext_lazy("Near breach"), "breached": gettext_lazy("Breached"),
    "handoffs": gettext_lazy("Hand-offs"),
}


def _may_work(user) -> bool:
    return user.has_perm(perm("work_cases")) or user.has_perm(perm("decide_handoffs"))


def _require_work(user) -> None:
    if not _may_work(user):
        raise PermissionDenied


def _clerks_for(user):
    """Who a lead may assign to: clerks and leads sharing a branch with the lead's scope."""
    User = get_user_model()  # noqa: N806
    qs = User.objects.filter(is_active=True, groups__name__in=["clerk", "team_lead"]).distinct()
    scope = branch_scope_q(user, prefix="branches__")
    if scope is not None:
        qs = qs.filter(scope).distinct()
    return qs.order_by("username")


def _clerks_for_case(user, case):
    """Who a lead may assign this case to: of _clerks_for, those whose branches cover the case's."""
    path = case.policy.branch.path  # "/HQ/GD/GD-GZ/": covered by "/HQ/", "/HQ/GD/" and itself
    parts = path.strip("/").split("/")
    prefixes = ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1)]
    return _clerks_for(user).filter(branches__path__in=prefixes).distinct()


@login_required
def queue(request):
    _require_work(request.user)
    as_of = business_today()
    name = request.GET.get("queue") or "mine"
    if name not in QUEUES:
        name = "mine"
    form = QueueFilterForm(request.GET or None, branches=branches_for(user=request.user))
    filters = form.cleaned_data if form.is_valid() else {}
    page = case_queue(user=request.user, queue=name, as_of=as_of, filters=filters, cursor=request.GET.get("cursor"))
    query = request.GET.copy()
    query.pop("cursor", None)
    is_lead = request.user.has_perm(perm("assign_cases"))
    # the counts come in a second request (HTMX, on load): the page shows its rows first
    return render(request, "renewals/cases_queue.html", {
        "queue": name, "queues": [(q, QUEUE_LABELS[q]) for q in QUEUES], "counts": None, "page": page,
        "rows": queue_rows(page.rows, as_of=as_of), "form": form, "query": query.urlencode(),
        "as_of": as_of, "calendar_warning": calendar_warning(as_of), "calendar_last_year": calendar_last_year(),
        "is_lead": is_lead, "clerks": _clerks_for(request.user) if is_lead else [],
        "outcome_labels": OUTCOME_LABELS, "filtered": any(v not in (None, "") for v in filters.values())})


@login_required
def queue_counts(request):
    """The queue tabs with their counts (capped, kept 30 s per user): the queue page loads them."""
    _require_work(request.user)
    name = request.GET.get("queue") if request.GET.get("queue") in QUEUES else "mine"
    return render(request, "renewals/_queue_tabs.html", {
        "queue": name, "queues": [(q, QUEUE_LABELS[q]) for q in QUEUES],
        "counts": case_queue_counts(user=request.user, as_of=business_today())})


@login_required
@require_POST
def claim_next(request):
    _require_work(request.user)
    try:
        case = case_claim_next(actor=request.user, as_of=business_today())
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("renewals:cases")
    if case is None:
        messages.info(request, _("No case is waiting for you. Well done."))
        return redirect("renewals:cases")
    return redirect("renewals:case", pk=case.pk)


def _context(request, case: Case, **extra) -> dict:
    as_of = business_today()
    held_by_other = case_held_by_other(case=case, actor=request.user)
    is_lead = request.user.has_perm(perm("assign_cases"))
    return {
        "case": case, "as_of": as_of, "held_by_other": held_by_other,
        "mine": case.claimed_by_id == request.user.pk, "phone": mask_phone(case.policy.holder.phone),
        "can_contact": request.user.has_perm(perm("work_cases")) and not case.is_handoff,
        "contact_form": ContactForm(), "handoff_form": HandoffForm(), "answer_form": AnswerForm(),
        "note_form": NoteForm(), "feedback_form": FeedbackForm(), "is_lead": is_lead,
        "clerks": _clerks_for_case(request.user, case) if is_lead else [], "outcome_labels": OUTCOME_LABELS,
        "departments": DEPARTMENT_LABELS, "feedback_labels": FEEDBACK_LABELS,
        "estimated": case.deadline is not None and (calendar_last_year() or 0) < case.deadline.year,
        **case_page(case=case, user=request.user, as_of=as_of), **extra,
    }


@login_required
def case_detail(request, pk: int):
    _require_work(request.user)
    case = case_get_for(user=request.user, pk=pk)
    return render(request, "renewals/case.html", _context(request, case))


def _work_response(request, case_pk: int, *, error: ApplicationError | None = None, form=None, ok: str = ""):
    """HTMX: the work panel alone; else back to the page with a message."""
    case = case_get_for(user=request.user, pk=case_pk)
    if request.headers.get("HX-Request"):
        extra = {"error": error, "ok": ok}
        if form is not None:
            extra["contact_form"] = form
        return render(request, "renewals/_case_work.html", _context(request, case, **extra))
    if error is not None:
        messages.error(request, error.message)
    elif ok:
        messages.success(request, ok)
    return redirect("renewals:case", pk=case_pk)


@login_required
@require_POST
def case_contact(request, pk: int):
    _require_work(request.user)
    case = case_get_for(user=request.user, pk=pk)
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _work_response(request, pk, error=ApplicationError(_("Check the form.")), form=form)
    data = form.cleaned_data
    try:
        case_contact_record(case=case, actor=request.user, as_of=business_today(), channel=data["channel"],
                            reached=data["reached"], reason=data["reason"], outcome=data["outcome"],
                            promised_on=data["promised_on"], next_action_on=data["next_action_on"], note=data["note"],
                            plan_change=form.plan_change())
    except ApplicationError as exc:
        if exc.errors:
            for field, reasons in exc.errors.items():
                for reason in reasons:
                    form.add_error(field if field in form.fields else None, reason)
        return _work_response(request, pk, error=exc, form=form)
    return _work_response(request, pk, ok=_("Contact recorded."))


def _simple(request, pk: int, action, ok: str):
    _require_work(request.user)
    case = case_get_for(user=request.user, pk=pk)
    try:
        action(case)
    except ApplicationError as exc:
        return _work_response(request, pk, error=exc)
    return _work_response(request, pk, ok=ok)


@login_required
@require_POST
def case_claim_view(request, pk: int):
    return _simple(request, pk, lambda case: case_claim(case=case, actor=request.user), _("The case is yours."))


@login_required
@require_POST
def case_release_view(request, pk: int):
    return _simple(request, pk, lambda case: case_release(case=case, actor=request.user), _("Released."))


@login_required
@require_POST
def case_handoff_view(request, pk: int):
    form = HandoffForm(request.POST)
    if not form.is_valid():
        return _work_response(request, pk, error=ApplicationError(_("Write the question.")))
    return _simple(request, pk, lambda case: case_handoff(
        case=case, department=form.cleaned_data["department"], question=form.cleaned_data["question"],
        actor=request.user, as_of=business_today()), _("Handed off: the answer will reopen this case."))


@login_required
@require_POST
def case_answer_view(request, pk: int):
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _work_response(request, pk, error=ApplicationError(_("Write the answer.")))
    return _simple(request, pk, lambda case: case_answer(case=case, answer=form.cleaned_data["answer"],
                                                         actor=request.user), _("Answered."))


@login_required
@require_POST
def case_note_view(request, pk: int):
    form = NoteForm(request.POST, request.FILES)
    if not form.is_valid():
        return _work_response(request, pk, error=ApplicationError(
            " ".join(str(e) for errors in form.errors.values() for e in errors)))
    return _simple(request, pk, lambda case: case_note_add(case=case, actor=request.user, text=form.cleaned_data["text"],
                                                           attachment=form.cleaned_data.get("attachment")),
                   _("Note added."))


@login_required
@require_POST
def case_feedback_view(request, pk: int):
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        return _work_response(request, pk, error=ApplicationError(_("Choose the kind of feedback and write it.")))
    return _simple(request, pk, lambda case: feedback_record(
        policy=case.policy, category=form.cleaned_data["category"], text=form.cleaned_data["text"],
        actor=request.user, as_of=business_today(), parent=case), _("Feedback recorded."))


def _assignee(request):
    pk = request.POST.get("assignee")
    if not pk:
        return None
    user = _clerks_for(request.user).filter(pk=pk).first()
    if user is None:
        raise ApplicationError(_("choose a clerk of your branches"))
    return user


@login_required
@require_POST
def case_assign_view(request, pk: int):
    if not request.user.has_perm(perm("assign_cases")):
        raise PermissionDenied
    case = case_get_for(user=request.user, pk=pk)
    try:
        case_assign(case=case, assignee=_assignee(request), actor=request.user)
    except ApplicationError as exc:
        return _work_response(request, pk, error=exc)
    return _work_response(request, pk, ok=_("Assigned."))


@login_required
@require_POST
def cases_bulk_assign_view(request):
    """A lead assigns the queue's cases matching the filter (or the ticked ones) to one clerk."""
    if not request.user.has_perm(perm("assign_cases")):
        raise PermissionDenied
    as_of = business_today()
    name = request.POST.get("queue") if request.POST.get("queue") in QUEUES else "unassigned"
    form = QueueFilterForm(request.POST, branches=branches_for(user=request.user))
    filters = form.cleaned_data if form.is_valid() else {}
    cases = case_queue_qs(user=request.user, queue=name, as_of=as_of, filters=filters)
    ticked = [int(x) for x in request.POST.getlist("case") if x.isdigit()]
    if ticked:
        cases = cases.filter(pk__in=ticked)
    try:
        limit = max(1, min(500, int(request.POST.get("limit") or 50)))
        done = cases_bulk_assign(cases=cases, assignee=_assignee(request), actor=request.user, limit=limit)
    except (ApplicationError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    else:
        messages.success(request, _("%(count)d cases assigned.") % {"count": done})
    return redirect(f"{reverse('renewals:cases')}?queue={name}")


@login_required
@require_POST
def clerk_away_view(request):
    if not request.user.has_perm(perm("assign_cases")):
        raise PermissionDenied
    clerk = _clerks_for(request.user).filter(pk=request.POST.get("clerk") or 0).first()
    if clerk is None:
        messages.error(request, _("choose a clerk of your branches"))
        return redirect("core:home")
    away = request.POST.get("away") == "1"
    try:
        freed = clerk_away_set(clerk=clerk, away=away, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s is away: %(count)d cases back to the pool.") % {
            "name": clerk, "count": freed} if away else _("%(name)s is back.") % {"name": clerk})
    return redirect("core:home")


@login_required
@require_POST
def cases_rebalance_view(request):
    """A lead spreads their team's open cases evenly across the clerks present."""
    if not request.user.has_perm(perm("assign_cases")):
        raise PermissionDenied
    team = teams_led_by(request.user).filter(pk=request.POST.get("team") or 0).first()
    if team is None:
        messages.error(request, _("choose a team you lead"))
        return redirect("core:home")
    try:
        result = cases_rebalance(team=team, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        loads = ", ".join(f"{name} {n}" for name, n in result["loads"].items())
        messages.success(request, _("%(moved)d cases moved; load now: %(loads)s.") % {
            "moved": result["moved"], "loads": loads})
        if result["unreachable"]:
            messages.warning(request, _("%(count)d cases are in branches no present clerk covers.") % {
                "count": result["unreachable"]})
    return redirect("core:home")


@login_required
def call_scripts(request):
    """Team leads keep the call scripts (one per customer group and language) as data."""
    if not request.user.has_perm(perm("configure_templates")):
        raise PermissionDenied
    if request.method == "POST":
        try:
            call_script_save(audience=request.POST.get("audience", ""), language=request.POST.get("language", ""),
                             text=request.POST.get("text", ""), actor=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Saved."))
        return redirect("renewals:call_scripts")
    scripts = CallScript.objects.order_by("audience", "language")
    return render(request, "renewals/call_scripts.html", {"scripts": scripts})


FEEDBACK_EXPORT_HEADERS = ["period", "branch_code", "branch", "late_notice", "payment_hassle", "product_question",
                           "service", "other", "total"]


@login_required
def feedback_report_view(request):
    """Customer feedback counted by kind, branch and period, for the lead and the manager; CSV or
    Excel export of the same table."""
    if not feedback_report_allowed(request.user):
        raise PermissionDenied
    as_of = business_today()
    form = FeedbackReportForm(request.GET or None, branches=branches_for(user=request.user), as_of=as_of)
    valid = form.is_valid() if request.GET else False
    data = form.cleaned_data if valid else form.defaults()
    report = feedback_report(user=request.user, start=data["start"], end=data["end"], period=data["period"],
                             branch=data.get("branch"))
    export = request.GET.get("export")
    if export in ("csv", "xlsx") and (valid or not request.GET.get("start")):
        table = [[r["period"].isoformat(), r["branch_code"], r["branch"],
                  *[r["counts"].get(k, 0) for k in FEEDBACK_LABELS], r["total"]] for r in report["rows"]]
        name = f"feedback-{data['start'].isoformat()}-{data['end'].isoformat()}.{export}"
        body = (xlsx_bytes(sheets=[("feedback", FEEDBACK_EXPORT_HEADERS, table)]) if export == "xlsx"
                else csv_bytes(headers=FEEDBACK_EXPORT_HEADERS, rows=table))
        return download(body, filename=name)
    query = request.GET.copy()
    query.pop("export", None)
    kinds = list(FEEDBACK_LABELS.items())
    rows = [{**r, "cells": [r["counts"].get(k, 0) for k, _label in kinds]} for r in report["rows"]]
    return render(request, "renewals/feedback_report.html", {
        "form": form, "report": report, "rows": rows, "kinds": kinds, "query": query.urlencode(),
        "kind_totals": [report["by_kind"].get(k, 0) for k, _label in kinds], "period": data["period"]})
