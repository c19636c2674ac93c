"""The homes of the roles whose work is the renewals': clerks and leads on their branches' day,
underwriters and claims handlers on their queue, admins on
the nightly runs (core.homes, registered in RenewalsConfig.ready)."""

from django.utils.translation import gettext_lazy as _

from core.dates import business_today
from core.homes import home_register
from renewals.selectors import business_date_last_run, work_summary


def _work(request) -> dict:
    as_of, _latest = business_date_last_run()
    return {"summary": work_summary(user=request.user, as_of=as_of or business_today()),
            "workbench": _workbench(request)}


def _workbench(request) -> dict | None:
    """The workbench's queues on the home: counts, the next case button, the lead's figures, the
    departments' hand-offs (underwriters and claims handlers work theirs from here)."""
    from accounts.roles import perm
    from renewals.selectors_cases import QUEUES, case_queue, case_queue_counts, lead_figures

    user = request.user
    if not (user.has_perm(perm("work_cases")) or user.has_perm(perm("decide_handoffs"))):
        return None
    today = business_today()
    counts = case_queue_counts(user=user, as_of=today)
    board = {"as_of": today, "counts": [(q, counts[q]) for q in QUEUES],
             "handoffs": case_queue(user=user, queue="handoffs", as_of=today, limit=10).rows,
             "mine": case_queue(user=user, queue="mine", as_of=today, limit=10).rows}
    if user.has_perm(perm("assign_cases")):
        board["lead"] = lead_figures(user=user, as_of=today)
    return board


def _admin(request) -> dict:
    from core.alerts import alerts_open
    from policies.models import PolicyImport
    from renewals.models import NightlyRun

    return {"runs": NightlyRun.objects.order_by("-as_of")[:7], "alerts": alerts_open()[:10],
            "imports": PolicyImport.objects.order_by("-created_at")[:5]}


def homes_register() -> None:
    home_register(role="admin", precedence=10, label=_("Operations"), template="renewals/home_admin.html",
                  context=_admin)
    home_register(role="team_lead", precedence=20, label=_("My team's day"), template="renewals/home_work.html",
                  context=_work)
    home_register(role="clerk", precedence=30, label=_("My work"), template="renewals/home_work.html", context=_work)
    home_register(role="underwriter", precedence=60, label=_("Underwriting"), template="renewals/home_work.html",
                  context=_work)
    home_register(role="claims", precedence=70, label=_("Claims"), template="renewals/home_work.html", context=_work)
