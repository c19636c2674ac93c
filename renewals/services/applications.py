"""Servicing applications with maker-checker: the reinstatement first (DESIGN.md section 3).

Reinstatement: the clerk enters the application with its health declaration and the quote of its
date; any "yes" refers it to underwriting, whose decision comes back; a team lead who did not
enter it approves it; the quote's interest is then booked as a charge on the policy, and when the
money has paid the quoted installments and the charge, the policy is in force again. A quote
expires after QUOTE_VALID_DAYS: completing later recomputes it (more interest).
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context
from billing.models import Allocation, Charge, Installment
from billing.services.allocations import policy_allocate
from core.errors import ApplicationError
from policies.models import Policy, PolicyStatus
from policies.selectors import policy_scope_check
from policies.services.status import policy_status_change
from renewals.models import Application
from renewals.services.reinstatement import reinstatement_quote, reinstatement_window_end

# the health declaration's questions (answers True = yes)
HEALTH_QUESTIONS = ("hospitalised", "diagnosed", "under_treatment", "medication", "disability")
OPEN = (Application.Status.SUBMITTED, Application.Status.REFERRED, Application.Status.ACCEPTED,
        Application.Status.APPROVED)


def quote_valid_days() -> int:
    return int(getattr(settings, "REINSTATEMENT_QUOTE_VALID_DAYS", 30))


def _context(actor, **extra) -> dict:
    return {"user": actor.pk, "username": actor.get_username(), **extra}


@transaction.atomic
def reinstatement_apply(*, policy: Policy, applied_on: dt.date, declaration: dict, actor) -> Application:
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    if not actor.has_perm(perm("work_cases")):
        raise ApplicationError(_("your role cannot open applications"), status=403)
    policy_scope_check(user=actor, policy=policy)
    unknown = set(declaration) - set(HEALTH_QUESTIONS)
    if unknown or set(HEALTH_QUESTIONS) - set(declaration):
        raise ApplicationError(_("every health question needs an answer"),
                               errors={"declaration": [f"answer {', '.join(HEALTH_QUESTIONS)}"]})
    if Application.objects.filter(policy=policy, kind=Application.Kind.REINSTATEMENT, status__in=OPEN).exists():
        raise ApplicationError(_("this policy already has an open reinstatement application"))
    quote = reinstatement_quote(policy=policy, on=applied_on)  # refuses outside the window
    referred = any(bool(answer) for answer in declaration.values())
    with audit_context(**_context(actor, reason="reinstatement application")):
        return Application.objects.create(
            policy=policy, kind=Application.Kind.REINSTATEMENT, applied_on=applied_on, created_by=actor,
            status=Application.Status.REFERRED if referred else Application.Status.SUBMITTED,
            details={"declaration": {k: bool(v) for k, v in declaration.items()}, "quote": quote.as_dict(),
                     "quote_valid_until": (applied_on + dt.timedelta(days=quote_valid_days())).isoformat()},
        )


@transaction.atomic
def application_underwriting_decide(*, application: Application, accept: bool, note: str, actor) -> Application:
    application = Application.objects.select_for_update().select_related("policy").get(pk=application.pk)
    if not actor.has_perm(perm("decide_handoffs")):
        raise ApplicationError(_("only underwriting decides a referred application"), status=403)
    policy_scope_check(user=actor, policy=application.policy)
    if application.status != Application.Status.REFERRED:
        raise ApplicationError(_("this application is not waiting for underwriting"))
    application.status = Application.Status.ACCEPTED if accept else Application.Status.DECLINED
    application.decided_by = actor
    application.details = {**application.details, "underwriting_note": note}
    with audit_context(**_context(actor, reason=f"underwriting: {'accepted' if accept else 'declined'}")):
        application.save(update_fields=["status", "decided_by", "details", "updated_at"])
    return application


@transaction.atomic
def application_approve(*, application: Application, actor, as_of: dt.date) -> Application:
    """The second pair of eyes: never the person who entered it. Books the quote's interest as a
    charge and applies any credit already on the policy."""
    application = Application.objects.select_for_update().select_related("policy").get(pk=application.pk)
    if not actor.has_perm(perm("approve_applications")):
        raise ApplicationError(_("your role cannot approve applications"), status=403)
    policy_scope_check(user=actor, policy=application.policy)
    if application.created_by_id == actor.pk:
        raise ApplicationError(_("the person who entered an application cannot approve it (maker-checker)"))
    if application.status not in (Application.Status.SUBMITTED, Application.Status.ACCEPTED):
        raise ApplicationError(_("this application cannot be approved in its state"))
    with audit_context(**_context(actor, reason="reinstatement approved")):
        application.status = Application.Status.APPROVED
        application.approved_by = actor
        application.details = {**application.details, "approved_on": as_of.isoformat()}
        application.save(update_fields=["status", "approved_by", "details", "updated_at"])
        _book_interest(application)
        policy_allocate(policy_id=application.policy_id, as_of=as_of)
    reinstatement_complete_if_paid(application=application, as_of=as_of)
    application.refresh_from_db()
    return application


def _book_interest(application: Application) -> Charge:
    quote = application.details["quote"]
    interest = sum((Decimal(line["interest"]) for line in quote["installments"]), Decimal("0.00"))
    charge, _created = Charge.objects.update_or_create(
        policy=application.policy, kind=Charge.Kind.REINSTATEMENT_INTEREST, reference=f"application:{application.pk}",
        defaults={"amount": interest, "due_date": dt.date.fromisoformat(quote["on"]), "cancelled": False},
    )
    return charge


@transaction.atomic
def reinstatement_complete_if_paid(*, application: Application, as_of: dt.date) -> bool:
    """In force again once the quoted installments and the interest are paid. An expired quote
    is recomputed on the day (more interest) before it is checked."""
    application = Application.objects.select_for_update().select_related("policy__product").get(pk=application.pk)
    policy = application.policy
    # a lapsed policy has its lapse date (a check constraint): the second test only narrows the type
    if (application.status != Application.Status.APPROVED or policy.status != PolicyStatus.LAPSED
            or policy.lapse_date is None):
        return False
    valid_until = dt.date.fromisoformat(application.details["quote_valid_until"])
    quote_on = dt.date.fromisoformat(application.details["quote"]["on"])
    unpaid = Installment.objects.filter(policy=policy, status__in=Installment.OPEN_STATUSES, due_date__lte=quote_on)
    charge = Charge.objects.filter(reference=f"application:{application.pk}").first()
    paid = not unpaid.exists() and charge is not None and charge.amount_paid >= charge.amount
    if not paid:
        if as_of > valid_until and as_of <= reinstatement_window_end(policy):
            quote = reinstatement_quote(policy=policy, on=as_of)
            application.details = {**application.details, "quote": quote.as_dict(),
                                   "quote_valid_until": (as_of + dt.timedelta(days=quote_valid_days())).isoformat()}
            application.save(update_fields=["details", "updated_at"])
            _book_interest(application)
        return False
    # in force from the day both had happened: the approval and the money that completed the
    # payment (its value date), whatever night the pipeline noticed it
    paid_on = (Allocation.objects.filter(reversed_at__isnull=True)
               .filter(Q(charge=charge) | Q(installment__policy=policy, installment__due_date__lte=quote_on))
               .aggregate(latest=Max("value_date"))["latest"]) or quote_on
    effective = max(dt.date.fromisoformat(application.details["approved_on"]), paid_on, policy.lapse_date)
    with audit_context(reason="reinstatement completed"):
        policy_status_change(policy=policy, status=PolicyStatus.IN_FORCE, effective_date=effective,
                             source="user", rule="reinstatement", reason=f"application {application.pk}")
        application.status = Application.Status.COMPLETED
        application.effective_date = effective
        application.save(update_fields=["status", "effective_date", "updated_at"])
    return True


@transaction.atomic
def application_reject(*, application: Application, actor, reason: str) -> Application:
    """The second pair of eyes says no (any kind waiting for a decision), with the reason; never
    the person who entered it. The policy is unchanged."""
    application = Application.objects.select_for_update().select_related("policy").get(pk=application.pk)
    if not actor.has_perm(perm("approve_applications")):
        raise ApplicationError(_("your role cannot approve applications"), status=403)
    policy_scope_check(user=actor, policy=application.policy)
    if not reason:
        raise ApplicationError(_("a reason is required"), errors={"reason": [_("required")]})
    if application.created_by_id == actor.pk:
        raise ApplicationError(_("the person who entered an application cannot decide it (maker-checker)"))
    if application.status not in (Application.Status.SUBMITTED, Application.Status.ACCEPTED):
        raise ApplicationError(_("this application cannot be rejected in its state"))
    with audit_context(**_context(actor, reason=f"{application.kind} rejected: {reason}")):
        application.status = Application.Status.REJECTED
        application.decided_by = actor
        application.details = {**application.details, "rejection_reason": reason}
        application.save(update_fields=["status", "decided_by", "details", "updated_at"])
    return application
