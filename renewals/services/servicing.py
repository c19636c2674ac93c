"""Deferral (缓交), reduced paid-up (减额交清) and payment plan changes: applications asked by one
person and approved by another, effective from a date, every step in the trail (DESIGN.md §3).

An approved application takes effect on its effective date: at approval when that date has come,
else on the nightly run of that date (the `servicing` step)."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context
from billing.models import Installment
from billing.services.schedules import installments_extend_chunk, schedule_anchor_months
from core.dates import add_months
from core.errors import ApplicationError
from outreach.services.cancellation import contacts_cancel_ended
from policies.models import Policy, PolicyStatus
from policies.selectors import policy_scope_check
from policies.services.status import policy_status_change
from renewals.models import Application

KINDS = (Application.Kind.DEFERRAL, Application.Kind.REDUCED_PAID_UP, Application.Kind.PLAN_CHANGE)
OPEN = ("scheduled", "due", "overdue", "partially_paid")
PLAN_FIELDS = ("payment_method", "bank_name", "bank_account", "bank_account_name", "frequency", "modal_premium")


def _clean_details(policy: Policy, kind: str, effective: dt.date, details: dict) -> dict:
    if kind == Application.Kind.DEFERRAL:
        try:
            end = dt.date.fromisoformat(str(details.get("end", "")))
        except ValueError:
            raise ApplicationError(_("the deferral needs an end date"), errors={"end": [_("required")]}) from None
        if end < effective or end > add_months(effective, 24):
            raise ApplicationError(_("a deferral lasts at most 2 years"), errors={"end": [_("at most 2 years")]})
        if policy.status != PolicyStatus.IN_FORCE:
            raise ApplicationError(_("only a policy in force can be deferred"))
        return {"end": end.isoformat()}
    if kind == Application.Kind.REDUCED_PAID_UP:
        try:
            sum_assured = Decimal(str(details.get("sum_assured", ""))).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise ApplicationError(_("the reduced sum assured is required"),
                                   errors={"sum_assured": [_("required")]}) from None
        if not Decimal("0") < sum_assured < policy.sum_assured:
            raise ApplicationError(_("the reduced sum assured must be below the current one"),
                                   errors={"sum_assured": [_("below %(current)s") % {"current": policy.sum_assured}]})
        return {"sum_assured": str(sum_assured)}
    changes = {k: str(details[k]).strip() for k in PLAN_FIELDS if str(details.get(k, "")).strip()}
    if changes.get("frequency") == policy.frequency:
        del changes["frequency"]
    if not changes:
        raise ApplicationError(_("nothing to change"), errors={"payment_method": [_("give the new plan")]})
    if changes.get("payment_method") and changes["payment_method"] not in Policy.PaymentMethod.values:
        raise ApplicationError(_("unknown payment method"), errors={"payment_method": [_("unknown payment method")]})
    if not Installment.objects.filter(policy=policy, due_date=effective).exists():
        raise ApplicationError(_("a plan change takes effect on a due date"),
                               errors={"effective_date": [_("not a due date of this policy")]})
    if "frequency" in changes or "modal_premium" in changes:
        changes.update(_clean_frequency_change(policy, effective, changes))
    return changes


def _clean_frequency_change(policy: Policy, effective: dt.date, changes: dict) -> dict:
    """A change of frequency, with the new modal premium, from a due date that is also a due date
    of the new frequency (whole months from the issue date divisible by its interval), before any
    money is allocated to an installment due from that date."""
    frequency = changes.get("frequency")
    if frequency is None:
        raise ApplicationError(_("a new premium comes with a new frequency"),
                               errors={"frequency": [_("give the new frequency")]})
    if frequency not in Policy.Frequency.values:
        raise ApplicationError(_("unknown payment frequency"), errors={"frequency": [_("unknown payment frequency")]})
    try:
        premium = Decimal(changes.get("modal_premium", "")).quantize(Decimal("0.01"))
    except InvalidOperation:
        premium = Decimal("0")
    if premium <= 0:
        raise ApplicationError(_("the premium for the new frequency is required"),
                               errors={"modal_premium": [_("required")]})
    months = schedule_anchor_months(issue_date=policy.issue_date, day=effective, frequency=frequency)
    if months is None or months < policy.schedule_anchor_months:
        raise ApplicationError(
            _("the new frequency must start on a due date that is also one of its own due dates"),
            errors={"effective_date": [_("not a due date of the new frequency")]})
    if _money_allocated_from(policy, effective):
        raise ApplicationError(
            _("money is already allocated to an installment due on or after that date"),
            errors={"effective_date": [_("choose a later due date")]})
    return {"frequency": frequency, "modal_premium": str(premium), "anchor_months": months}


def _effective_date(application: Application) -> dt.date:
    # servicing_apply dates every servicing application (only a reinstatement's is set later)
    if application.effective_date is None:
        raise ValueError(f"application {application.pk} has no effective date")
    return application.effective_date


def _money_allocated_from(policy: Policy, effective: dt.date) -> bool:
    return Installment.objects.filter(policy=policy, due_date__gte=effective, amount_paid__gt=0).exists()


@transaction.atomic
def servicing_apply(*, policy: Policy, kind: str, applied_on: dt.date, effective_date: dt.date, details: dict,
                    actor) -> Application:
    if kind not in KINDS:
        raise ApplicationError(_("unknown application kind"))
    if not actor.has_perm(perm("work_cases")):
        raise ApplicationError(_("your role cannot open applications"), status=403)
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    policy_scope_check(user=actor, policy=policy)
    clean = _clean_details(policy, kind, effective_date, details)
    with audit_context(user=actor.pk, username=actor.get_username(), reason=f"{kind} application"):
        return Application.objects.create(policy=policy, kind=kind, applied_on=applied_on,
                                          effective_date=effective_date, details=clean, created_by=actor)


@transaction.atomic
def servicing_approve(*, application: Application, actor, as_of: dt.date) -> Application:
    application = Application.objects.select_for_update().select_related("policy").get(pk=application.pk)
    if application.kind not in KINDS:
        raise ApplicationError(_("this application cannot be approved in its state"))
    if not actor.has_perm(perm("approve_applications")):
        raise ApplicationError(_("your role cannot approve applications"), status=403)
    policy_scope_check(user=actor, policy=application.policy)
    if application.created_by_id == actor.pk:
        raise ApplicationError(_("the person who entered an application cannot approve it (maker-checker)"))
    if application.status != Application.Status.SUBMITTED:
        raise ApplicationError(_("this application cannot be approved in its state"))
    with audit_context(user=actor.pk, username=actor.get_username(), reason=f"{application.kind} approved"):
        application.status = Application.Status.APPROVED
        application.approved_by = actor
        application.save(update_fields=["status", "approved_by", "updated_at"])
    if _effective_date(application) <= as_of:
        servicing_take_effect(application=application, as_of=as_of)
    application.refresh_from_db()
    return application


@transaction.atomic
def servicing_take_effect(*, application: Application, as_of: dt.date) -> None:
    application = Application.objects.select_for_update().select_related("policy").get(pk=application.pk)
    if application.status != Application.Status.APPROVED:
        return
    policy, effective = application.policy, _effective_date(application)
    rule = f"{application.kind}_application"
    with audit_context(reason=f"application {application.pk}", rule=rule):
        if application.kind == Application.Kind.DEFERRAL:
            policy_status_change(policy=policy, status=PolicyStatus.DEFERRED, effective_date=effective,
                                 source="user", rule=rule, reason=f"until {application.details['end']}")
            # its pending reminders are pointless now: suppressed with the reason, in this transaction
            contacts_cancel_ended(as_of, policy.pk, policy.pk)
        elif application.kind == Application.Kind.REDUCED_PAID_UP:
            # open installments are cancelled; no more premiums (a status move: not a money event
            # of the trail, so one statement)
            Installment.objects.filter(policy=policy, status__in=OPEN, amount_paid=0).update(
                status=Installment.Status.CANCELLED, updated_at=timezone.now())
            _planned_contacts_cancel(policy)
            policy.sum_assured = Decimal(application.details["sum_assured"])
            policy.save(update_fields=["sum_assured", "updated_at"])
            policy_status_change(policy=policy, status=PolicyStatus.REDUCED_PAID_UP, effective_date=effective,
                                 source="user", rule=rule)
        else:
            details = dict(application.details)
            anchor_months = details.pop("anchor_months", None)
            fields = [*details.keys(), "updated_at"]
            if "frequency" in details:
                _frequency_change(policy, effective, anchor_months)
                fields += ["schedule_anchor_sequence", "schedule_anchor_months"]
            for field, value in details.items():
                setattr(policy, field, Decimal(value) if field == "modal_premium" else value)
            policy.save(update_fields=fields)
            if "frequency" in details:
                installments_extend_chunk(as_of=max(as_of, effective), id_from=policy.pk, id_to=policy.pk,
                                          job=f"application:{application.pk}")
        application.status = Application.Status.COMPLETED
        application.save(update_fields=["status", "updated_at"])


def _frequency_change(policy: Policy, effective: dt.date, anchor_months: int) -> None:
    """The installments from the effective date are cancelled (none holds money: checked when
    entered and again here) and the schedule is anchored there; the caller saves the policy and
    has the new installments made."""
    if _money_allocated_from(policy, effective):
        raise ApplicationError(_("money is already allocated to an installment due on or after that date"))
    Installment.objects.filter(policy=policy, due_date__gte=effective).exclude(
        status=Installment.Status.CANCELLED).update(status=Installment.Status.CANCELLED, updated_at=timezone.now())
    _planned_contacts_cancel(policy)
    last = Installment.objects.filter(policy=policy).aggregate(last=Max("sequence"))["last"] or 0
    policy.schedule_anchor_sequence = last + 1
    policy.schedule_anchor_months = anchor_months


def _planned_contacts_cancel(policy: Policy) -> None:
    """Reminders and calls not yet sent for installments that are cancelled now are not sent."""
    from outreach.models import PlannedContact
    from outreach.services.planning import contacts_cancel

    cancelled = list(Installment.objects.filter(policy=policy, status=Installment.Status.CANCELLED)
                     .values_list("id", flat=True))
    contacts_cancel(reason=PlannedContact.Reason.INSTALLMENT_CANCELLED, installment_ids=cancelled)


def deferral_end(*, application: Application) -> None:
    """The deferral is over: its deferred installments fall due on the end date with a fresh grace
    period, and the policy is in force again (the lapse rule then applies to that grace)."""
    policy = application.policy
    end = dt.date.fromisoformat(application.details["end"])
    grace = policy.product.grace_days
    with transaction.atomic(), audit_context(reason=f"deferral {application.pk} ended", rule="deferral_end"):
        (Installment.objects.filter(policy=policy, status__in=OPEN, due_date__lte=end)
         .update(grace_end=end + dt.timedelta(days=grace)))
        policy_status_change(policy=policy, status=PolicyStatus.IN_FORCE, effective_date=end + dt.timedelta(days=1),
                             source="nightly", rule="deferral_end")
        details = {**application.details, "ended": True}
        Application.objects.filter(pk=application.pk).update(details=details)


def servicing_due(as_of: dt.date, id_from: int, id_to: int) -> int:
    """The nightly step: approved applications whose date has come take effect; deferrals whose
    end has passed end (few rows: a loop is fine)."""
    count = 0
    for application in Application.objects.filter(kind__in=KINDS, status=Application.Status.APPROVED,
                                                  effective_date__lte=as_of):
        servicing_take_effect(application=application, as_of=as_of)
        count += 1
    for application in (Application.objects.filter(kind=Application.Kind.DEFERRAL,
                                                   status=Application.Status.COMPLETED,
                                                   policy__status=PolicyStatus.DEFERRED)
                        .select_related("policy__product")):
        if not application.details.get("ended") and dt.date.fromisoformat(application.details["end"]) < as_of:
            deferral_end(application=application)
            count += 1
    return count
