"""The workbench's writes on one case (issue 14): claim, release, assign, a contact attempt and
the next step its outcome calls for, hand-offs to the departments and their answers, notes.

Every action is check, then change, then a CaseHistory row, in one transaction. Who may act: the
actor's branches (policy_scope_check: 404 outside them), their capability, and the claim: a case
held by someone else (claimed, and touched within WORKBENCH_CLAIM_IDLE_MINUTES) refuses every
other person's action, saying who holds it.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context
from billing.models import Installment
from core.dates import add_months
from core.errors import ApplicationError
from policies.models import Policy
from policies.selectors import branch_scope_q, policy_scope_check
from renewals.models import (
    Application,
    CallScript,
    Case,
    CaseHistory,
    CaseNote,
    ClerkAway,
    ContactAttempt,
    WorkTeam,
)
from renewals.services.calendar import WorkingHours, handoff_sla_days, working_calendar, working_deadline

# a department's hand-off case type and the team kind that answers it
HANDOFF_TYPES = {
    WorkTeam.Kind.SALES: Case.Type.HANDOFF_SALES,
    WorkTeam.Kind.UNDERWRITING: Case.Type.HANDOFF_UNDERWRITING,
    WorkTeam.Kind.CLAIMS: Case.Type.HANDOFF_CLAIMS,
    WorkTeam.Kind.FINANCE: Case.Type.HANDOFF_FINANCE,
    WorkTeam.Kind.IT: Case.Type.HANDOFF_IT,
}
HANDOFF_KIND_OF_TYPE = {v.value: k.value for k, v in HANDOFF_TYPES.items()}
# the roles whose members answer a department's hand-offs without being on its team
HANDOFF_ROLE_KINDS = {"underwriter": WorkTeam.Kind.UNDERWRITING, "claims": WorkTeam.Kind.CLAIMS}
# the clerks' cases: everything but the hand-offs
CLERK_TYPES = tuple(t for t in Case.Type.values if not t.startswith("handoff_"))
# what claim-next takes: open, in progress (a claim of someone else that expired), escalated,
# waiting once its next action date has come
CLAIMABLE = (Case.Status.OPEN, Case.Status.IN_PROGRESS, Case.Status.ESCALATED, Case.Status.WAITING)
ATTEMPT_LOG_OUTCOME = {"promise": "promised", "refuses": "refused"}

# an outcome's words in the history and on the case (the automatic closes' reasons too)
OUTCOME_LABELS = {
    "paid": "money allocated: nothing is owed any more",
    "policy_lapsed": "the policy lapsed",
    "policy_deferred": "the policy is deferred",
    "policy_ended": "the policy ended",
    "no_premium_due": "the policy owes no more premiums",
    "application_decided": "the application was decided",
}


def claim_idle() -> dt.timedelta:
    return dt.timedelta(minutes=int(getattr(settings, "WORKBENCH_CLAIM_IDLE_MINUTES", 15)))


def case_held_by_other(*, case: Case, actor, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return bool(case.claimed_by_id and case.claimed_by_id != actor.pk and case.claimed_at
                and case.claimed_at >= now - claim_idle())


def handoff_kinds_of(user) -> set[str]:
    """The departments whose hand-offs the user answers: their department teams, and the
    underwriter and claims roles."""
    if not user.has_perm(perm("decide_handoffs")) and not user.has_perm(perm("work_cases")):
        return set()
    kinds = set(WorkTeam.objects.filter(team__members=user).exclude(kind=WorkTeam.Kind.RENEWAL)
                .values_list("kind", flat=True))
    if user.has_perm(perm("decide_handoffs")):
        roles = set(user.groups.values_list("name", flat=True))
        kinds |= {kind.value for role, kind in HANDOFF_ROLE_KINDS.items() if role in roles}
    return kinds


def case_types_for(user) -> list[str]:
    types = list(CLERK_TYPES) if user.has_perm(perm("work_cases")) else []
    return types + [HANDOFF_TYPES[WorkTeam.Kind(kind)].value for kind in sorted(handoff_kinds_of(user))]


def cases_workable(*, user) -> QuerySet[Case]:
    """Every case the user may see and work: their branches, their kinds of case."""
    qs = Case.objects.filter(type__in=case_types_for(user))
    scope = branch_scope_q(user, prefix="policy__branch__")
    return qs if scope is None else qs.filter(scope)


def _history(case: Case, kind: str, actor=None, *, from_status: str = "", to_status: str = "", reason: str = "",
             **details) -> CaseHistory:
    return CaseHistory.objects.create(case=case, kind=kind, actor=actor, from_status=from_status,
                                      to_status=to_status, reason=reason[:256], details=details)


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("policy", "claimed_by").get(pk=case.pk)


def _check(case: Case, actor, *, now: dt.datetime) -> None:
    """The actor may act on this case: branches (404), kind of case (403), claim (400)."""
    policy_scope_check(user=actor, policy=case.policy)
    if case.type not in case_types_for(actor):
        raise ApplicationError(_("your role cannot work this case"), status=403)
    if case_held_by_other(case=case, actor=actor, now=now):
        raise ApplicationError(_("%(name)s is working on this case") % {"name": case.claimed_by}, status=409)


def _audit(actor, reason: str):
    return audit_context(user=actor.pk, username=actor.get_username(), reason=reason)


def _save(case: Case, *fields: str) -> None:
    case.save(update_fields=[*fields, "updated_at"])


def case_get_for(*, user, pk: int) -> Case:
    """A case the user may see: 404 (with the attempt in the trail) outside their branches."""
    from django.http import Http404

    case = Case.objects.select_related("policy__holder", "policy__branch", "policy__product", "team__team",
                                       "assignee", "claimed_by", "parent", "application").filter(pk=pk).first()
    if case is None:
        raise Http404("case not found")
    policy_scope_check(user=user, policy=case.policy)
    if case.type not in case_types_for(user):
        raise Http404("case not found")
    return case


# --- claims -------------------------------------------------------------------------------------

@transaction.atomic
def case_claim_next(*, actor, as_of: dt.date, now: dt.datetime | None = None) -> Case | None:
    """The most urgent case the actor may work and nobody else holds: assigned to them first, then
    the pool, by priority. Rows locked by another claimer are skipped, not waited for (SKIP
    LOCKED), so clerks pressing "next" together get different cases. None when none is left."""
    if ClerkAway.objects.filter(user=actor).exists():
        raise ApplicationError(_("you are marked away: ask your team lead to mark you back"))
    now = now or timezone.now()
    candidates = (cases_workable(user=actor)
                  .filter(status__in=CLAIMABLE)
                  .filter(Q(next_action_on__isnull=True) | Q(next_action_on__lte=as_of))
                  .filter(Q(claimed_by__isnull=True) | Q(claimed_at__lt=now - claim_idle()))
                  .filter(Q(assignee__isnull=True) | Q(assignee=actor))
                  .exclude(status=Case.Status.WAITING, next_action_on__isnull=True)
                  .order_by("-priority", "id"))
    mine = candidates.filter(assignee=actor).select_for_update(skip_locked=True, of=("self",)).first()
    case = mine or candidates.filter(assignee__isnull=True).select_for_update(skip_locked=True, of=("self",)).first()
    if case is None:
        return None
    previous = case.claimed_by_id
    case.claimed_by, case.claimed_at = actor, now
    from_status = case.status
    if case.status in (Case.Status.OPEN, Case.Status.WAITING):
        case.status = Case.Status.IN_PROGRESS
    with _audit(actor, "case claimed"):
        _save(case, "claimed_by", "claimed_at", "status")
        _history(case, CaseHistory.Kind.CLAIMED, actor, from_status=from_status, to_status=case.status,
                 reason="claim expired" if previous else "")
    return Case.objects.select_related("policy__holder", "policy__branch").get(pk=case.pk)


@transaction.atomic
def case_claim(*, case: Case, actor, now: dt.datetime | None = None) -> Case:
    """Take one case from the page (the queue's "work this"): refused while someone else holds it."""
    now = now or timezone.now()
    case = _locked(case)
    _check(case, actor, now=now)
    if not case.is_open:
        raise ApplicationError(_("this case is closed"))
    from_status = case.status
    case.claimed_by, case.claimed_at = actor, now
    if case.status == Case.Status.OPEN:
        case.status = Case.Status.IN_PROGRESS
    with _audit(actor, "case claimed"):
        _save(case, "claimed_by", "claimed_at", "status")
        _history(case, CaseHistory.Kind.CLAIMED, actor, from_status=from_status, to_status=case.status)
    return case


@transaction.atomic
def case_release(*, case: Case, actor, now: dt.datetime | None = None) -> Case:
    now = now or timezone.now()
    case = _locked(case)
    _check(case, actor, now=now)
    if case.claimed_by_id is None:
        return case
    from_status = case.status
    case.claimed_by, case.claimed_at = None, None
    if case.status == Case.Status.IN_PROGRESS:
        case.status = Case.Status.OPEN
    with _audit(actor, "case released"):
        _save(case, "claimed_by", "claimed_at", "status")
        _history(case, CaseHistory.Kind.RELEASED, actor, from_status=from_status, to_status=case.status)
    return case


def case_touch(case: Case, actor, now: dt.datetime) -> None:
    """An action of the holder keeps the claim alive (the idle clock restarts)."""
    case.claimed_by, case.claimed_at = actor, now


# --- assignment (team leads) --------------------------------------------------------------------

def _lead_check(actor) -> None:
    if not actor.has_perm(perm("assign_cases")):
        raise ApplicationError(_("only a team lead assigns cases"), status=403)


def _assignee_check(assignee) -> None:
    if assignee is not None and ClerkAway.objects.filter(user=assignee).exists():
        raise ApplicationError(_("%(name)s is marked away") % {"name": assignee})


@transaction.atomic
def case_assign(*, case: Case, assignee, actor, now: dt.datetime | None = None) -> Case:
    """A lead gives a case to a clerk (None: back to the pool). The clerk must see the policy's
    branch. A claim by someone else ends: the lead decides."""
    _lead_check(actor)
    _assignee_check(assignee)
    case = _locked(case)
    policy_scope_check(user=actor, policy=case.policy)
    if assignee is not None and case.type not in case_types_for(assignee):
        raise ApplicationError(_("%(name)s cannot work this kind of case") % {"name": assignee})
    if assignee is not None and branch_scope_q(assignee) is not None and not Policy.objects.filter(
            branch_scope_q(assignee), pk=case.policy_id).exists():
        raise ApplicationError(_("%(name)s does not cover this policy's branch") % {"name": assignee})
    if not case.is_open:
        raise ApplicationError(_("this case is closed"))
    before = case.assignee_id
    case.assignee = assignee
    if case.claimed_by_id and case.claimed_by_id != getattr(assignee, "pk", None):
        case.claimed_by, case.claimed_at = None, None
        if case.status == Case.Status.IN_PROGRESS:
            case.status = Case.Status.OPEN
    with _audit(actor, "case assigned"):
        _save(case, "assignee", "claimed_by", "claimed_at", "status")
        _history(case, CaseHistory.Kind.ASSIGNED, actor, reason=str(assignee or _("the pool")),
                 before=before, after=getattr(assignee, "pk", None))
    return case


@transaction.atomic
def cases_bulk_assign(*, cases: QuerySet[Case], assignee, actor, limit: int = 500) -> int:
    """Every open case of the queryset (a lead's filtered queue), up to `limit`, to one clerk.
    Cases held by someone right now are left alone."""
    _lead_check(actor)
    _assignee_check(assignee)
    now = timezone.now()
    ids = list(cases.filter(status__in=Case.OPEN_STATUSES)
               .filter(Q(claimed_by__isnull=True) | Q(claimed_at__lt=now - claim_idle()) | Q(claimed_by=assignee))
               .order_by("-priority", "id").values_list("pk", flat=True)[:limit])
    done = 0
    for case in Case.objects.filter(pk__in=ids).select_related("policy"):
        case_assign(case=case, assignee=assignee, actor=actor)
        done += 1
    return done


@transaction.atomic
def clerk_away_set(*, clerk, away: bool, actor) -> int:
    """A lead marks a clerk away (their cases return to the pool) or back. Returns the cases freed."""
    _lead_check(actor)
    if not away:
        ClerkAway.objects.filter(user=clerk).delete()
        return 0
    ClerkAway.objects.get_or_create(user=clerk, defaults={"marked_by": actor})
    freed = 0
    with _audit(actor, "clerk marked away"):
        for case in (Case.objects.select_for_update().filter(Q(assignee=clerk) | Q(claimed_by=clerk),
                                                           status__in=Case.OPEN_STATUSES)):
            from_status = case.status
            case.assignee, case.claimed_by, case.claimed_at = None, None, None
            if case.status == Case.Status.IN_PROGRESS:
                case.status = Case.Status.OPEN
            _save(case, "assignee", "claimed_by", "claimed_at", "status")
            _history(case, CaseHistory.Kind.ASSIGNED, actor, from_status=from_status, to_status=case.status,
                     reason=_("%(name)s is away: back to the pool") % {"name": clerk})
            freed += 1
    return freed


def teams_led_by(user) -> QuerySet[WorkTeam]:
    """The renewal teams a lead rebalances: those they lead."""
    return WorkTeam.objects.filter(kind=WorkTeam.Kind.RENEWAL, team__lead=user).select_related("team")


def _team_clerks_present(team: WorkTeam) -> list:
    """The team's members who work cases (clerks), active, not marked away; the lead aside."""
    members = (team.team.members.filter(is_active=True, groups__name="clerk").exclude(away__isnull=False)
               .exclude(pk=team.team.lead_id)  # type: ignore[misc]  # no lead: IS NULL, excludes nobody
               .distinct().prefetch_related("branches").order_by("username"))
    return [m for m in members if m.has_perm(perm("work_cases"))]


def _covers(paths: list[str] | None, branch_path: str) -> bool:
    return paths is None or any(branch_path.startswith(p) for p in paths)


@transaction.atomic
def cases_rebalance(*, team: WorkTeam, actor, now: dt.datetime | None = None) -> dict:
    """Spread the team's movable cases evenly across its present clerks, each case only to a clerk
    whose branches cover its policy. Movable: open (or in progress with an expired claim) clerks'
    cases of the team, unassigned or assigned to one of its present clerks. Cases held right now
    stay with their holder, cases waiting for a customer stay with the clerk who spoke to them,
    escalated ones stay with whoever has them (the lead decides): all count in a clerk's load.
    Stable: a clerk keeps their cases up to the even share (most urgent first); the rest go, most
    urgent first, to the least-loaded clerk who may take each (ties by name). Returns the moves
    and each clerk's load after."""
    _lead_check(actor)
    if team.team.lead_id != actor.pk:
        raise ApplicationError(_("only the team's lead rebalances its cases"), status=403)
    now = now or timezone.now()
    clerks = _team_clerks_present(team)
    if not clerks:
        raise ApplicationError(_("no clerk of the team is present"))
    scopes = {c.pk: (None if branch_scope_q(c) is None else [b.path for b in c.branches.all()]) for c in clerks}
    names = {c.pk: str(c) for c in clerks}
    held_since = now - claim_idle()
    team_cases = Case.objects.filter(team=team, type__in=CLERK_TYPES, status__in=Case.OPEN_STATUSES)
    scope = branch_scope_q(actor, prefix="policy__branch__")
    if scope is not None:
        team_cases = team_cases.filter(scope)
    fixed = (team_cases.filter(Q(claimed_at__gte=held_since) | Q(status__in=[Case.Status.WAITING,
                                                                               Case.Status.ESCALATED]))
             .values_list("assignee_id", "claimed_by_id", "claimed_at"))
    load = {pk: 0 for pk in scopes}
    for assignee, holder, claimed_at in fixed:
        owner = holder if holder and claimed_at and claimed_at >= held_since else assignee
        if owner in load:
            load[owner] += 1
    movable = list(team_cases.filter(status__in=[Case.Status.OPEN, Case.Status.IN_PROGRESS])
                   .filter(Q(claimed_by__isnull=True) | Q(claimed_at__lt=held_since))
                   .filter(Q(assignee__isnull=True) | Q(assignee__in=list(scopes)))
                   .order_by("-priority", "id").values_list("id", "assignee_id", "policy__branch__path"))
    eligible = {pk: [c for c in scopes if _covers(scopes[c], path)] for pk, _a, path in movable}
    reachable = [row for row in movable if eligible[row[0]]]
    share = -(-(len(reachable) + sum(load.values())) // len(clerks))  # the even share, rounded up
    target: dict[int, int | None] = {}
    pool = []
    for pk, assignee, _path in reachable:  # keep up to the share, most urgent first
        if assignee in load and load[assignee] < share:
            load[assignee] += 1
            target[pk] = assignee
        else:
            pool.append((pk, assignee))
    for pk, _assignee in pool:
        clerk = min(eligible[pk], key=lambda c: (load[c], names[c]))
        load[clerk] += 1
        target[pk] = clerk
    before = {pk: assignee for pk, assignee, _path in reachable}
    moves: dict[int, list[int]] = {}
    for pk, clerk in target.items():
        if before[pk] != clerk:
            assert clerk is not None  # a kept assignee is one of the clerks (in load), or a clerk from the pool
            moves.setdefault(clerk, []).append(pk)
    moved = 0
    with _audit(actor, "cases rebalanced"):
        for clerk, ids in moves.items():
            # one statement per clerk; an expired claim ends and an in-progress case reopens
            Case.objects.filter(pk__in=ids).update(assignee_id=clerk, claimed_by=None, claimed_at=None,
                                                    status=Case.Status.OPEN, updated_at=now)
            CaseHistory.objects.bulk_create([CaseHistory(
                case_id=pk, kind=CaseHistory.Kind.ASSIGNED, actor=actor, created_at=now,
                reason="rebalanced", details={"before": before[pk], "after": clerk, "to": names[clerk],
                                              "rebalance": team.pk}) for pk in ids])
            moved += len(ids)
    return {"moved": moved, "cases": len(reachable), "unreachable": len(movable) - len(reachable),
            "loads": {names[c]: load[c] for c in sorted(load, key=lambda c: names[c])}}


# --- contact attempts and their outcomes --------------------------------------------------------

def _oldest_unpaid(policy: Policy, as_of: dt.date) -> Installment | None:
    return (Installment.objects.filter(policy=policy, status__in=Installment.OPEN_STATUSES, due_date__lte=as_of)
            .order_by("sequence").first())


@transaction.atomic
def case_contact_record(*, case: Case, actor, as_of: dt.date, channel: str, reached: bool, outcome: str,
                        reason: str = "", promised_on: dt.date | None = None, next_action_on: dt.date | None = None,
                        note: str = "", now: dt.datetime | None = None, plan_change: dict | None = None
                        ) -> ContactAttempt:
    """One contact attempt, written to outreach's contact log and kept here with its reason and
    outcome; the outcome decides what happens next (DESIGN.md section 3, issue 14):
    promise -> a follow-up case for the day after the promised date (the money event closes it);
    wants deferral (or hardship) -> the deferral application opened prefilled; wants reduced paid-up
    -> that application prefilled with the proportional sum assured; wants plan change -> that
    application prefilled (the change given in `plan_change`, else monthly); deceased -> claims,
    no reminders;
    not reached -> the case waits for its next action date."""
    from outreach.services.contact_log import contact_log_record

    now = now or timezone.now()
    case = _locked(case)
    _check(case, actor, now=now)
    if not actor.has_perm(perm("work_cases")):
        raise ApplicationError(_("your role cannot record contacts"), status=403)
    if not case.is_open:
        raise ApplicationError(_("this case is closed"))
    errors = {}
    if outcome not in ContactAttempt.Outcome.values:
        errors["outcome"] = [_("unknown outcome")]
    if reason and reason not in ContactAttempt.Reason.values:
        errors["reason"] = [_("unknown reason")]
    if not reached and outcome != ContactAttempt.Outcome.NO_ANSWER:
        errors["outcome"] = [_("a customer not reached gives no outcome")]
    if outcome == ContactAttempt.Outcome.PROMISE and (promised_on is None or promised_on < as_of):
        errors["promised_on"] = [_("a promise needs a date from today on")]
    if next_action_on is not None and next_action_on < as_of:
        errors["next_action_on"] = [_("the next action cannot be in the past")]
    if errors:
        raise ApplicationError(_("the contact attempt is incomplete"), errors=errors)
    log_outcome = ("wrong_number" if reason == ContactAttempt.Reason.WRONG_CONTACT else
                   ATTEMPT_LOG_OUTCOME.get(outcome, "reached" if reached else "no_answer"))
    log = contact_log_record(policy=case.policy, channel=channel, outcome=log_outcome, actor=actor,
                             occurred_at=now, note=note)
    attempt = ContactAttempt.objects.create(
        case=case, policy=case.policy, contact_log=log, channel=channel, reached=reached, reason=reason,
        outcome=outcome, promised_on=promised_on, next_action_on=next_action_on, note=note, actor=actor,
        occurred_at=now)
    with _audit(actor, f"contact attempt: {outcome}"):
        _history(case, CaseHistory.Kind.CONTACT, actor, reason=outcome, reached=reached, why=reason,
                 promised_on=promised_on.isoformat() if promised_on else None, attempt=attempt.pk)
        _outcome_apply(case, attempt, actor=actor, as_of=as_of, now=now, plan_change=plan_change)
    return attempt


def _resolve(case: Case, actor, *, outcome: str, reason: str = "", now: dt.datetime) -> None:
    from_status = case.status
    case.status, case.outcome, case.resolved_at = Case.Status.RESOLVED, outcome, now
    case.claimed_by, case.claimed_at = None, None
    _save(case, "status", "outcome", "resolved_at", "claimed_by", "claimed_at")
    _history(case, CaseHistory.Kind.STATUS, actor, from_status=from_status, to_status=case.status,
             reason=reason or outcome)


def _wait(case: Case, actor, *, until: dt.date, outcome: str, now: dt.datetime) -> None:
    """Back later: the case waits (unclaimed, still the clerk's) until its next action date."""
    from_status = case.status
    case.status, case.outcome, case.next_action_on = Case.Status.WAITING, outcome, until
    case.claimed_by, case.claimed_at = None, None
    if case.assignee_id is None:
        case.assignee = actor
    _save(case, "status", "outcome", "next_action_on", "claimed_by", "claimed_at", "assignee")
    _history(case, CaseHistory.Kind.STATUS, actor, from_status=from_status, to_status=case.status,
             reason=outcome, next_action_on=until.isoformat())


def _outcome_apply(case: Case, attempt: ContactAttempt, *, actor, as_of: dt.date, now: dt.datetime,
                   plan_change: dict | None = None) -> None:
    O = ContactAttempt.Outcome  # noqa: E741, N806
    calendar = working_calendar(around=as_of, before_days=7, after_days=60)
    next_day = attempt.next_action_on or calendar.plus_working_days(as_of, 1)
    if attempt.reason == ContactAttempt.Reason.DECEASED:
        _deceased(case, actor=actor, as_of=as_of, now=now)
        return
    if attempt.outcome == O.PROMISE:
        assert attempt.promised_on is not None  # contact_attempt_record requires it for a promise
        follow = attempt.promised_on + dt.timedelta(days=1)
        promise_follow_up(case=case, actor=actor, as_of=as_of, follow_on=follow, promised_on=attempt.promised_on,
                          now=now)
        return
    application: Application | None
    if attempt.outcome == O.WANTS_DEFERRAL or (attempt.outcome != O.NO_ANSWER
                                               and attempt.reason == ContactAttempt.Reason.HARDSHIP
                                               and attempt.outcome not in (O.WANTS_REDUCED_PAID_UP,
                                                                           O.WANTS_PLAN_CHANGE)):
        application = deferral_prefilled(policy=case.policy, actor=actor, as_of=as_of)
        _history(case, CaseHistory.Kind.NOTE, actor, reason=_("deferral application opened prefilled"),
                 application=application.pk)
        _resolve(case, actor, outcome=attempt.outcome, now=now)
        return
    if attempt.outcome in (O.WANTS_REDUCED_PAID_UP, O.WANTS_PLAN_CHANGE):
        if attempt.outcome == O.WANTS_REDUCED_PAID_UP:
            application = reduced_paid_up_prefilled(policy=case.policy, actor=actor, as_of=as_of)
            label = _("reduced paid-up application opened prefilled")
        else:
            application = plan_change_prefilled(policy=case.policy, actor=actor, as_of=as_of, changes=plan_change)
            label = _("plan change application opened prefilled")
        if application is None:
            # nothing to prefill (a monthly policy and no change given): the clerk enters the
            # change on the policy page; the case waits for it
            _history(case, CaseHistory.Kind.NOTE, actor, reason=_("plan change: give the change on the policy page"))
            _wait(case, actor, until=next_day, outcome=attempt.outcome, now=now)
            return
        _history(case, CaseHistory.Kind.NOTE, actor, reason=label, application=application.pk)
        _resolve(case, actor, outcome=attempt.outcome, now=now)
        return
    if attempt.outcome == O.DISPUTE:
        from_status = case.status
        case.status, case.outcome = Case.Status.ESCALATED, attempt.outcome
        case.claimed_by, case.claimed_at = None, None
        _save(case, "status", "outcome", "claimed_by", "claimed_at")
        _history(case, CaseHistory.Kind.ESCALATED, actor, from_status=from_status, to_status=case.status,
                 reason=_("the customer disputes: the team lead decides"))
        return
    if attempt.outcome == O.REFUSES:
        _resolve(case, actor, outcome=attempt.outcome, now=now)
        return
    # will pay now, not reached: look again on the next action date
    _wait(case, actor, until=next_day, outcome=attempt.outcome, now=now)


def promise_follow_up(*, case: Case, actor, as_of: dt.date, follow_on: dt.date, promised_on: dt.date,
                      now: dt.datetime) -> Case:
    """The promise's follow-up: one per policy, waiting until the day after the promised date, the
    clerk's; the money event closes it when the money comes. A follow-up promising again is moved."""
    follow: Case | None
    if case.type == Case.Type.PROMISE:
        follow = case
        follow.promised_on = promised_on
        _wait(follow, actor, until=follow_on, outcome="promise", now=now)
        _save(follow, "promised_on")
        return follow
    follow = Case.objects.select_for_update().filter(policy=case.policy, type=Case.Type.PROMISE,
                                                     status__in=Case.OPEN_STATUSES).first()
    if follow is None:
        follow = Case.objects.create(
            policy=case.policy, type=Case.Type.PROMISE, status=Case.Status.WAITING, opened_on=as_of,
            opened_by=actor, parent=case, assignee=actor, team=case.team, next_action_on=follow_on,
            promised_on=promised_on, escalation=case.escalation, priority=case.priority,
            priority_parts=case.priority_parts, deadline=case.deadline)
        _history(follow, CaseHistory.Kind.OPENED, actor, to_status=follow.status,
                 reason=_("promise to pay on %(date)s") % {"date": promised_on.isoformat()})
    else:
        follow.next_action_on, follow.promised_on = follow_on, promised_on
        _save(follow, "next_action_on", "promised_on")
    _resolve(case, actor, outcome="promise", now=now)
    return follow


def deferral_prefilled(*, policy: Policy, actor, as_of: dt.date) -> Application:
    """A deferral application filled from the policy: from its oldest unpaid due date for a year
    (a team lead approves it, and may reject it for the clerk to enter other dates)."""
    from renewals.services.servicing import servicing_apply

    oldest = _oldest_unpaid(policy, as_of)
    start = oldest.due_date if oldest else as_of
    existing = Application.objects.filter(policy=policy, kind=Application.Kind.DEFERRAL,
                                          status__in=[Application.Status.SUBMITTED, Application.Status.APPROVED]).first()
    if existing is not None:
        return existing
    return servicing_apply(policy=policy, kind=Application.Kind.DEFERRAL, applied_on=as_of, effective_date=start,
                           details={"end": add_months(start, 12).isoformat()}, actor=actor)


def _open_application(policy: Policy, kind: str) -> Application | None:
    return Application.objects.filter(policy=policy, kind=kind, status__in=[
        Application.Status.SUBMITTED, Application.Status.APPROVED]).first()


def _months_from_issue(policy: Policy, day: dt.date) -> int:
    return (day.year - policy.issue_date.year) * 12 + day.month - policy.issue_date.month


def reduced_paid_up_figure(*, policy: Policy, first_unpaid_due: dt.date) -> Decimal:
    """The reduced sum assured offered: the sum assured in proportion to the premium term paid
    (the months from issue to the first unpaid due date over the term's months), rounded half-up
    to the cent. A documented proportional rule until the product's cash values are kept; the
    team lead checks it against the core system's quote before approving."""
    paid_months = max(0, _months_from_issue(policy, first_unpaid_due))
    term_months = policy.premium_term_years * 12
    return (Decimal(policy.sum_assured) * paid_months / term_months).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def reduced_paid_up_prefilled(*, policy: Policy, actor, as_of: dt.date) -> Application:
    """A reduced paid-up application filled from the policy: effective from its oldest unpaid due
    date (those installments are cancelled when it takes effect), the proportional sum assured."""
    from renewals.services.servicing import servicing_apply

    existing = _open_application(policy, Application.Kind.REDUCED_PAID_UP)
    if existing is not None:
        return existing
    oldest = _oldest_unpaid(policy, as_of) or (
        Installment.objects.filter(policy=policy, status__in=Installment.OPEN_STATUSES).order_by("sequence").first())
    if oldest is None:
        raise ApplicationError(_("the policy owes no premium: nothing to reduce"))
    figure = reduced_paid_up_figure(policy=policy, first_unpaid_due=oldest.due_date)
    if figure <= 0:
        raise ApplicationError(_("no premium of the term is paid yet: reduced paid-up is not possible"))
    return servicing_apply(policy=policy, kind=Application.Kind.REDUCED_PAID_UP, applied_on=as_of,
                           effective_date=oldest.due_date, details={"sum_assured": str(figure)}, actor=actor)


def plan_change_prefilled(*, policy: Policy, actor, as_of: dt.date, changes: dict | None = None
                          ) -> Application | None:
    """A plan change application filled from the policy and what the customer asked (`changes`:
    frequency, payment_method; empty: monthly, the usual ask of a customer short of money). It
    takes effect on the first unpaid due date from the oldest unpaid one that is also a due date
    of the new frequency; a new frequency's premium is the same yearly premium divided by its
    premiums a year (rounded half-up to the cent). None when there is nothing to prefill."""
    from billing.services.schedules import PER_YEAR
    from renewals.services.servicing import servicing_apply

    existing = _open_application(policy, Application.Kind.PLAN_CHANGE)
    if existing is not None:
        return existing
    asked = {k: v for k, v in (changes or {}).items() if v and k in ("frequency", "payment_method")}
    if asked.get("frequency") == policy.frequency:
        del asked["frequency"]
    if not asked:
        if policy.frequency == Policy.Frequency.MONTHLY:
            return None
        asked = {"frequency": Policy.Frequency.MONTHLY.value}
    details = dict(asked)
    step = 12 // PER_YEAR[details.get("frequency", policy.frequency)]
    candidates = (Installment.objects.filter(policy=policy, status__in=Installment.OPEN_STATUSES, amount_paid=0)
                  .order_by("sequence").values_list("due_date", flat=True)[:24])
    effective = next((d for d in candidates if _months_from_issue(policy, d) % step == 0), None)
    if effective is None:
        raise ApplicationError(_("no unpaid due date suits the new frequency: enter the change on the policy page"))
    if "frequency" in details:
        yearly = policy.modal_premium * PER_YEAR[policy.frequency]
        details["modal_premium"] = str((yearly / PER_YEAR[details["frequency"]]).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP))
    return servicing_apply(policy=policy, kind=Application.Kind.PLAN_CHANGE, applied_on=as_of,
                           effective_date=effective, details=details, actor=actor)


def _deceased(case: Case, *, actor, as_of: dt.date, now: dt.datetime) -> None:
    """The customer died: claims takes it, reminders stop (outreach's pending contacts cancelled)."""
    from outreach.services.planning import contacts_cancel

    contacts_cancel(reason="deceased", policy_ids=[case.policy_id], only_closed_installments=False)
    case_handoff(case=case, department=WorkTeam.Kind.CLAIMS, actor=actor, as_of=as_of, now=now,
                 question=_("The family reports that the policyholder has died: please open the claim."),
                 locked=True)


# --- hand-offs ----------------------------------------------------------------------------------

def department_team_for(*, policy: Policy, kind: str) -> WorkTeam | None:
    """The department's team of the policy's nearest branch; a team with no branches serves all."""
    path = policy.branch.path
    teams = list(WorkTeam.objects.filter(kind=kind).prefetch_related("branches"))
    best, best_len = None, -1
    for team in teams:
        paths = [b.path for b in team.branches.all()]
        length = max((len(p) for p in paths if path.startswith(p)), default=0 if not paths else -1)
        if length > best_len:
            best, best_len = team, length
    return best


@transaction.atomic
def case_handoff(*, case: Case, department: str, question: str, actor, as_of: dt.date,
                 now: dt.datetime | None = None, locked: bool = False) -> Case:
    """A question to a department: a case in its team's queue with the policy and an SLA in
    working days; the clerk's case waits for the answer."""
    now = now or timezone.now()
    if not locked:
        case = _locked(case)
        _check(case, actor, now=now)
    if department not in HANDOFF_TYPES:
        raise ApplicationError(_("unknown department"), errors={"department": [_("unknown department")]})
    if not question.strip():
        raise ApplicationError(_("write the question"), errors={"question": [_("required")]})
    calendar = working_calendar(around=as_of, before_days=7, after_days=60)
    team = department_team_for(policy=case.policy, kind=department)
    # the SLA runs in the answering team's hours: asked after hours, it starts at their next
    # working period (the business date's own time when `now` is another day: a back-dated run)
    asked = now if timezone.localtime(now).date() == as_of else timezone.make_aware(
        dt.datetime.combine(as_of, dt.time(12, 0)), timezone.get_current_timezone())
    due_at = working_deadline(calendar, asked, handoff_sla_days(), WorkingHours.of(team))
    due = due_at.date()
    handoff = Case.objects.create(
        policy=case.policy, type=HANDOFF_TYPES[WorkTeam.Kind(department)], status=Case.Status.OPEN, opened_on=as_of,
        opened_by=actor, parent=case, team=team,
        question=question.strip(), deadline=due, priority=case.priority, priority_parts=case.priority_parts)
    with _audit(actor, f"hand-off to {department}"):
        _history(handoff, CaseHistory.Kind.OPENED, actor, to_status=handoff.status, reason=question.strip(),
                 due_at=due_at.isoformat())
        from_status = case.status
        case.status, case.next_action_on = Case.Status.WAITING, due
        case.claimed_by, case.claimed_at = None, None
        if case.assignee_id is None:
            case.assignee = actor
        _save(case, "status", "next_action_on", "claimed_by", "claimed_at", "assignee")
        _history(case, CaseHistory.Kind.HANDOFF, actor, from_status=from_status, to_status=case.status,
                 reason=question.strip(), department=department, handoff=handoff.pk)
    return handoff


@transaction.atomic
def case_answer(*, case: Case, answer: str, actor, now: dt.datetime | None = None) -> Case:
    """The department answers: its case resolves, the answer goes onto the clerk's case, which
    reopens (for the clerk who asked)."""
    now = now or timezone.now()
    case = _locked(case)
    _check(case, actor, now=now)
    if not case.is_handoff:
        raise ApplicationError(_("only a hand-off is answered"))
    if not case.is_open:
        raise ApplicationError(_("this case is closed"))
    if not answer.strip():
        raise ApplicationError(_("write the answer"), errors={"answer": [_("required")]})
    case.answer = answer.strip()
    with _audit(actor, "hand-off answered"):
        _save(case, "answer")
        _resolve(case, actor, outcome="answered", reason=answer.strip(), now=now)
        parent = case.parent and Case.objects.select_for_update().get(pk=cast(int, case.parent_id))
        if parent is not None:
            from_status = parent.status
            parent.answer = "\n".join(filter(None, [parent.answer, answer.strip()]))
            if parent.status != Case.Status.CANCELLED:
                parent.status, parent.next_action_on, parent.resolved_at = Case.Status.OPEN, None, None
            _save(parent, "answer", "status", "next_action_on", "resolved_at")
            _history(parent, CaseHistory.Kind.REOPENED, actor, from_status=from_status, to_status=parent.status,
                     reason=answer.strip(), handoff=case.pk, department=HANDOFF_KIND_OF_TYPE.get(case.type, ""))
    return case


# --- notes, feedback, status --------------------------------------------------------------------

@transaction.atomic
def case_note_add(*, case: Case, actor, text: str, attachment=None, now: dt.datetime | None = None) -> CaseNote:
    now = now or timezone.now()
    case = _locked(case)
    _check(case, actor, now=now)
    if not text.strip():
        raise ApplicationError(_("write the note"), errors={"text": [_("required")]})
    note = CaseNote(case=case, author=actor, text=text.strip())
    if attachment is not None:
        note.attachment = attachment
    note.save()
    _history(case, CaseHistory.Kind.NOTE, actor, reason=text.strip()[:120])
    return note


FEEDBACK_CATEGORIES = {
    "late_notice": "Late notice", "payment_hassle": "Payment hassle", "product_question": "Product question",
    "service": "Service", "other": "Other",
}


@transaction.atomic
def feedback_record(*, policy: Policy, category: str, text: str, actor, as_of: dt.date, parent: Case | None = None
                    ) -> Case:
    """Customer feedback, for the reports: a case of its own, resolved as it is written."""
    if not actor.has_perm(perm("work_cases")):
        raise ApplicationError(_("your role cannot record feedback"), status=403)
    policy_scope_check(user=actor, policy=policy)
    if category not in FEEDBACK_CATEGORIES:
        raise ApplicationError(_("unknown feedback kind"), errors={"category": [_("unknown feedback kind")]})
    case = Case.objects.create(policy=policy, type=Case.Type.FEEDBACK, status=Case.Status.RESOLVED,
                               outcome="recorded", category=category, question=text.strip(), opened_on=as_of,
                               opened_by=actor, parent=parent, resolved_at=timezone.now())
    _history(case, CaseHistory.Kind.OPENED, actor, to_status=case.status, reason=text.strip()[:200])
    return case


def case_open(*, policy: Policy, type: str, actor, as_of: dt.date, **fields) -> Case:  # noqa: A002
    """A case opened by hand (or by a service): one open per policy and type but for the many-typed."""
    policy_scope_check(user=actor, policy=policy)
    existing = None
    if type not in Case.MANY_TYPES:
        existing = Case.objects.filter(policy=policy, type=type, status__in=Case.OPEN_STATUSES).first()
    if existing is not None:
        return existing
    case = Case.objects.create(policy=policy, type=type, opened_on=as_of, opened_by=actor, **fields)
    _history(case, CaseHistory.Kind.OPENED, actor, to_status=case.status)
    return case



@transaction.atomic
def call_script_save(*, audience: str, language: str, text: str, actor) -> CallScript:
    """A team lead edits the call script of a customer group in one language."""
    if not actor.has_perm(perm("configure_templates")):
        raise ApplicationError(_("your role cannot edit call scripts"), status=403)
    if audience not in CallScript.Audience.values or language not in ("zh-hans", "en"):
        raise ApplicationError(_("unknown customer group or language"))
    if not text.strip():
        raise ApplicationError(_("the script cannot be empty"), errors={"text": [_("required")]})
    with _audit(actor, "call script edited"):
        script, _created = CallScript.objects.update_or_create(
            audience=audience, language=language, defaults={"text": text.strip(), "updated_by": actor})
    return script
