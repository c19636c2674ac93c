"""The review of a flag: claim (the next one, SKIP LOCKED), snooze until a date, and the outcomes
cleared (a false positive) / confirmed / escalated to compliance, each with a required reason,
a Review row and an operation on the trail. A confirmed flag runs the actions the reviewer
chose (risk.registry) and publishes FLAG_CONFIRMED."""

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context, operation_record
from core.errors import ApplicationError
from core.events import FLAG_CONFIRMED, event_publish
from policies.models import Policy
from risk.models import Flag, Review
from risk.registry import flag_action_get
from risk.selectors import SEVERITY_ORDER, flag_get, flag_queue

OUTCOMES: dict[str, Flag.Status] = {
    Review.Action.CLEAR: Flag.Status.CLEARED,
    Review.Action.CONFIRM: Flag.Status.CONFIRMED,
    Review.Action.ESCALATE: Flag.Status.ESCALATED,
}


def _check_reviewer(actor) -> None:
    if not actor.has_perm(perm("work_risk_flags")):
        raise ApplicationError(_("only a risk reviewer works flags"), status=403)


def _record(*, flag: Flag, action: str, actor, reason: str, as_of: dt.date, details: dict | None = None) -> Review:
    review = Review.objects.create(flag=flag, action=action, reason=reason[:512], actor=actor, on=as_of)
    operation_record(action=f"risk_flag_{action}", actor=actor, object_type="risk_flag", object_ref=str(flag.pk),
                     reason=reason[:256], details={"rule": flag.rule_key, "version": flag.rule.version,
                                                   "subject": f"{flag.subject_type}:{flag.subject_key}",
                                                   "as_of": as_of.isoformat(), **(details or {})})
    return review


def _locked(*, flag: Flag, actor, request_path: str = "") -> Flag:
    flag_get(user=actor, pk=flag.pk, request_path=request_path)  # 404 outside the actor's branches
    return Flag.objects.select_for_update().select_related("rule").get(pk=flag.pk)


@transaction.atomic
def flag_claim_next(*, actor, as_of: dt.date, kind: str = "", severity: str = "") -> Flag | None:
    """The first open flag of the queue nobody holds; two reviewers never get the same one."""
    _check_reviewer(actor)
    queue = flag_queue(user=actor, status=Flag.Status.OPEN, kind=kind, severity=severity).filter(
        claimed_by__isnull=True)
    ids = list(queue.values_list("pk", flat=True)[:50])
    flag = (Flag.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk__in=ids, claimed_by__isnull=True)
            .annotate(severity_rank=SEVERITY_ORDER)
            .order_by("-severity_rank", "raised_on", "id").first())
    if flag is None:
        return None
    return _claim(flag=flag, actor=actor, as_of=as_of)


@transaction.atomic
def flag_claim(*, flag: Flag, actor, as_of: dt.date, request_path: str = "") -> Flag:
    _check_reviewer(actor)
    flag = _locked(flag=flag, actor=actor, request_path=request_path)
    if flag.claimed_by_id and flag.claimed_by_id != actor.pk:
        raise ApplicationError(_("another reviewer is working this flag"))
    return _claim(flag=flag, actor=actor, as_of=as_of)


def _claim(*, flag: Flag, actor, as_of: dt.date) -> Flag:
    if flag.claimed_by_id == actor.pk:
        return flag
    flag.claimed_by, flag.claimed_at = actor, timezone.now()
    with audit_context(user=actor.pk, username=actor.get_username()):
        flag.save(update_fields=["claimed_by", "claimed_at"])
    _record(flag=flag, action=Review.Action.CLAIM, actor=actor, reason="", as_of=as_of)
    return flag


@transaction.atomic
def flag_snooze(*, flag: Flag, actor, until: dt.date, reason: str, as_of: dt.date, request_path: str = "") -> Flag:
    _check_reviewer(actor)
    if not reason.strip():
        raise ApplicationError(_("a reason is required"), errors={"reason": [_("required")]})
    if until <= as_of:
        raise ApplicationError(_("snooze until a later date"), errors={"until": [_("after today")]})
    flag = _locked(flag=flag, actor=actor, request_path=request_path)
    if flag.status != Flag.Status.OPEN:
        raise ApplicationError(_("only an open flag can be snoozed"))
    flag.status, flag.snoozed_until = Flag.Status.SNOOZED, until
    flag.claimed_by, flag.claimed_at = None, None
    with audit_context(user=actor.pk, username=actor.get_username(), reason=reason):
        flag.save(update_fields=["status", "snoozed_until", "claimed_by", "claimed_at"])
    _record(flag=flag, action=Review.Action.SNOOZE, actor=actor, reason=reason, as_of=as_of,
            details={"until": until.isoformat()})
    return flag


@transaction.atomic
def flag_decide(*, flag: Flag, actor, outcome: str, reason: str, as_of: dt.date, actions: Sequence[str] = (),
                request_path: str = "") -> Flag:
    """clear / confirm / escalate, with a reason. An escalated flag waits for compliance's
    outcome (cleared or confirmed)."""
    _check_reviewer(actor)
    if outcome not in OUTCOMES:
        raise ApplicationError(_("unknown outcome"))
    if not reason.strip():
        raise ApplicationError(_("a reason is required"), errors={"reason": [_("required")]})
    flag = _locked(flag=flag, actor=actor, request_path=request_path)
    if flag.status not in (Flag.Status.OPEN, Flag.Status.SNOOZED, Flag.Status.ESCALATED):
        raise ApplicationError(_("this flag already has an outcome"))
    if flag.status == Flag.Status.ESCALATED and outcome == Review.Action.ESCALATE:
        raise ApplicationError(_("this flag is already with compliance"))
    if flag.claimed_by_id and flag.claimed_by_id != actor.pk:
        raise ApplicationError(_("another reviewer is working this flag"))
    flag.status = OUTCOMES[outcome]
    flag.reviewed_by, flag.reviewed_at, flag.reviewed_on = actor, timezone.now(), as_of
    flag.outcome_reason = reason[:512]
    flag.snoozed_until = None
    if flag.status == Flag.Status.ESCALATED:
        flag.claimed_by, flag.claimed_at = None, None  # compliance takes it from here
    with audit_context(user=actor.pk, username=actor.get_username(), reason=reason):
        flag.save(update_fields=["status", "reviewed_by", "reviewed_at", "reviewed_on", "outcome_reason",
                                 "snoozed_until", "claimed_by", "claimed_at"])
    done = []
    if flag.status == Flag.Status.CONFIRMED:
        policies = list(Policy.objects.filter(pk__in=flag.policy_ids).order_by("pk"))
        for code in actions:
            action = flag_action_get(code)
            if action is None:
                raise ApplicationError(_("unknown action"))
            action.handler(flag=flag, policies=policies, actor=actor, as_of=as_of, reason=reason)
            done.append(code)
        event_publish(FLAG_CONFIRMED, as_of=as_of, policy_ids=flag.policy_ids, source="risk_review")
    _record(flag=flag, action=outcome, actor=actor, reason=reason, as_of=as_of, details={"actions": done})
    return flag
