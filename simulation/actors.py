"""The demo users at work on a business date, through the same services their pages call.

- finance works the suspense list a few days after the money came: a line naming one of our
  policies (a partial premium, a reinstatement's money, which no rule books because the amount
  is not what is due) is matched to it by hand; a line whose payer is exactly one policyholder is
  matched to that policy; a stranger's money is refunded (or kept, with a reason) after some
  weeks. Rules' proposals are confirmed, a few rejected; matches above the threshold are approved
  by finance2 (never the person who made them).
- the Guangzhou clerk enters applications for the branch's customers and the Guangdong team lead
  approves them: reinstatements (a "yes" in the health declaration goes to the underwriter, who
  accepts or declines), deferrals and reduced paid-up for customers in difficulty, a payment plan
  change with the new account after a debit failed for good, holds (one rejected now and then).
- one regional moratorium: the manager asks for a typhoon relief in Shenzhen, the lead approves.
Each decision is the behaviour module's, keyed by what it is about: the same seed, the same choices.
"""

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import TypedDict

from django.db.models import Exists, Min, OuterRef, Q

from accounts.models import User
from audit.services import audit_context
from billing.models import Assignment, DebitLine, Installment, Payment
from billing.services.payments import payment_unassigned
from billing.services.suspense import (
    assignment_approve,
    assignment_reject,
    payment_keep,
    payment_match_manual,
    payment_refund,
)
from core.dates import add_months
from core.errors import ApplicationError
from policies.models import Branch, Policy, PolicyStatus
from policies.selectors import branch_scope_q
from renewals.models import Application, ApprovalStatus, Hold, Moratorium
from renewals.services.applications import (
    HEALTH_QUESTIONS,
    application_approve,
    application_reject,
    application_underwriting_decide,
    reinstatement_apply,
)
from renewals.services.holds import hold_request, moratorium_request, suspension_decide
from renewals.services.servicing import servicing_apply, servicing_approve
from simulation import behaviour
from simulation.world import POLICY_NO_RE, World, story_role_of

HARD_REASONS = [DebitLine.Reason.ACCOUNT_FROZEN, DebitLine.Reason.ACCOUNT_CLOSED, DebitLine.Reason.INVALID_ACCOUNT,
                DebitLine.Reason.NAME_MISMATCH]
CENT = Decimal("0.01")
# the clerk's branch (the services refuse a policy outside the actor's branches); the Guangdong
# lead covers it
CLERK_BRANCH = "GD-GZ"


class MoratoriumScript(TypedDict):
    name: str
    city: str
    days: int
    reason: str


MORATORIUM: MoratoriumScript = {"name": "深圳台风灾后缓催", "city": "深圳市", "days": 45,
              "reason": "台风过境，按监管机构灾后金融服务通知，深圳地区保单暂停催收并顺延宽限期"}


# A person's choices are keyed, and their queues ordered, by what the rows are (a money line, a
# policy, a date), never by row ids: ids follow the order in which a bulk insert's plan produced
# the rows, and that plan may differ between two builds (autovacuum's timing moves rows on disk),
# so an id-keyed choice made the same demo differently (the interrupted-build digest test).
BY_LINE = ("payment__value_date", "payment__account_no", "payment__identity", "policy__policy_no", "status")
BY_APPLICATION = ("applied_on", "policy__policy_no", "kind", "effective_date")


def _key(row: Assignment | Application) -> str:
    if isinstance(row, Assignment):
        return f"{row.payment.account_no}:{row.payment.identity}:{row.policy.policy_no}"
    return f"{row.policy.policy_no}:{row.kind}:{row.applied_on.isoformat()}"


class Cast:
    """The demo users who act, looked up once."""

    def __init__(self):
        users = {u.username: u for u in User.objects.filter(
            username__in=["clerk", "lead", "manager", "finance", "finance2", "underwriter"])}
        self.clerk, self.lead, self.manager = users["clerk"], users["lead"], users["manager"]
        self.finance, self.finance2, self.underwriter = users["finance"], users["finance2"], users["underwriter"]


def act(day: dt.date, counts: Counter, key: str, action) -> None:
    """A person's action, its trail entries dated by the business date it belongs to. The product
    may refuse it (the state moved on since they looked): the refusal is what the page would have
    shown them; the day goes on."""
    try:
        with audit_context(business_date=day.isoformat()):
            action()
        counts[key] += 1
    except ApplicationError:
        counts[f"{key}_refused"] += 1


def finance_day(*, seed: int, day: dt.date, cast: Cast, counts: Counter) -> None:
    # finance2 approves the matches finance made on earlier days
    for assignment in (Assignment.objects.filter(status=Assignment.Status.PENDING_APPROVAL)
                       .exclude(matched_by=cast.finance2).select_related("payment", "policy").order_by(*BY_LINE)):
        if (day - assignment.payment.value_date).days < behaviour.delay(seed=seed, key=f"approve:{_key(assignment)}",
                                                                         low=3, high=6):
            continue
        act(day, counts, "match_approved", lambda a=assignment: assignment_approve(assignment=a, actor=cast.finance2,
                                                                               as_of=day))
    # proposals of the rules: confirmed, now and then rejected (same name, another person)
    for assignment in (Assignment.objects.filter(status=Assignment.Status.PROPOSED).select_related("payment", "policy")
                       .order_by(*BY_LINE)):
        if (day - assignment.payment.value_date).days < behaviour.delay(seed=seed, key=f"proposal:{_key(assignment)}",
                                                                         low=1, high=3):
            continue
        if behaviour.decision(seed=seed, key=f"proposal-reject:{_key(assignment)}", probability=0.12):
            act(day, counts, "proposal_rejected", lambda a=assignment: assignment_reject(
                assignment=a, actor=cast.finance, reason="同名不同人，不是该保单的保费"))
        else:
            act(day, counts, "proposal_confirmed", lambda a=assignment: assignment_approve(assignment=a, actor=cast.finance,
                                                                                       as_of=day))
    rejected = Assignment.objects.filter(payment=OuterRef("pk"), status=Assignment.Status.REJECTED)
    for payment in (Payment.objects.filter(status=Payment.Status.SUSPENSE, direction=Payment.Direction.CREDIT,
                                           reversal=False).annotate(was_rejected=Exists(rejected))
                    .order_by("value_date", "account_no", "identity")):
        age = (day - payment.value_date).days
        looks_at = behaviour.delay(seed=seed, key=f"suspense:{payment.identity}", low=1, high=4)
        if age < looks_at:
            continue
        # finance searches in the first days the line is on the list (a rejected proposal again);
        # what nobody can place waits for its refund or keep decision
        policy = _policy_for(payment, by_name=not payment.was_rejected) if age < looks_at + 4 else None
        if policy is not None:
            free = payment_unassigned(payment=payment)
            if free > 0:
                act(day, counts, "manual_match", lambda p=payment, pol=policy, f=free: payment_match_manual(
                    payment=p, policy=pol, amount=f, actor=cast.finance, as_of=day))
        elif age >= behaviour.delay(seed=seed, key=f"refund:{payment.identity}", low=12, high=30):
            if behaviour.decision(seed=seed, key=f"keep:{payment.identity}", probability=0.3):
                act(day, counts, "kept", lambda p=payment: payment_keep(
                    payment=p, actor=cast.finance, reason="付款人不明，待客户来电确认后处理"))
            else:
                act(day, counts, "refunded", lambda p=payment: payment_refund(
                    payment=p, actor=cast.finance, reason="无法识别付款人，原路退回"))


def _policy_for(payment: Payment, *, by_name: bool) -> Policy | None:
    """What a finance clerk finds when searching: the policy the text names, else the one policy
    of a policyholder with the payer's name that still owes premiums."""
    numbers = POLICY_NO_RE.findall(f"{payment.remittance} {payment.reference}")
    if numbers:
        return Policy.objects.filter(policy_no__in=numbers).order_by("policy_no").first()
    if not by_name or not payment.payer_name:
        return None
    owing = Installment.objects.filter(policy=OuterRef("pk"), status__in=Installment.OPEN_STATUSES,
                                       due_date__lte=payment.value_date + dt.timedelta(days=30))
    found = list(Policy.objects.filter(holder__name=payment.payer_name, status__in=[
        PolicyStatus.IN_FORCE, PolicyStatus.LAPSED]).filter(Exists(owing)).order_by("policy_no")[:2])
    return found[0] if len(found) == 1 else None


def servicing_day(*, world: World, day: dt.date, previous: dt.date, end: dt.date, cast: Cast,
                  counts: Counter) -> None:
    seed, start = world.seed, world.start
    branch = Branch.objects.filter(code=CLERK_BRANCH).first()
    if branch is None:
        return
    mine = Policy.objects.filter(branch__path__startswith=branch.path)
    _reinstatements(world, day, previous, mine, cast, counts)
    _decisions(world, day, cast, counts)
    _customers_in_difficulty(world, day, previous, mine, cast, counts)
    _new_accounts(seed, day, previous, mine, cast, counts)
    _moratorium(day, previous, start, end, cast, counts)


def _reinstatements(world, day, previous, mine, cast, counts) -> None:
    applied = Application.objects.filter(policy=OuterRef("pk"), kind=Application.Kind.REINSTATEMENT,
                                         applied_on__gte=OuterRef("lapse_date"))
    for policy in (mine.filter(status=PolicyStatus.LAPSED, lapse_date__gt=day - dt.timedelta(days=700))
                   .exclude(Exists(applied)).order_by("policy_no")):
        role = story_role_of(world=world, policy_no=policy.policy_no, branch_code=CLERK_BRANCH)
        applies, on, says_yes = behaviour.comes_back(seed=world.seed, policy_no=policy.policy_no,
                                                     lapse_date=policy.lapse_date, start=world.start, role=role)
        if not applies or not previous < on <= day:
            continue
        declaration = {question: False for question in HEALTH_QUESTIONS}
        if says_yes:
            declaration["hospitalised"] = True
        act(day, counts, "reinstatement_applied", lambda p=policy, d=declaration: reinstatement_apply(
            policy=p, applied_on=day, declaration=d, actor=cast.clerk))


def _decisions(world, day, cast, counts) -> None:
    """The underwriter's and the lead's queues, each item a few days after it came."""
    seed = world.seed
    for application in Application.objects.filter(status=Application.Status.REFERRED).select_related("policy") \
            .order_by(*BY_APPLICATION):
        if (day - application.applied_on).days < behaviour.delay(seed=seed, key=f"uw:{_key(application)}", low=1,
                                                                  high=4):
            continue
        accept = behaviour.decision(seed=seed, key=f"uw-accept:{_key(application)}", probability=0.7) and story_role_of(
            world=world, policy_no=application.policy.policy_no, branch_code=CLERK_BRANCH) != "declined"
        act(day, counts, "underwriting_decided", lambda a=application, ok=accept: application_underwriting_decide(
            application=a, accept=ok, note="既往病史已治愈，可承保" if ok else "健康告知异常，暂不承保",
            actor=cast.underwriter))
    # the lead decides for the policies of the lead's branches (the others' leads are not cast)
    scope = branch_scope_q(cast.lead, prefix="policy__branch__") or Q()
    for application in (Application.objects.filter(scope, status__in=[Application.Status.SUBMITTED,
                                                                      Application.Status.ACCEPTED])
                        .exclude(created_by=cast.lead).select_related("policy").order_by(*BY_APPLICATION)):
        if (day - application.applied_on).days < behaviour.delay(seed=seed, key=f"lead:{_key(application)}", low=1,
                                                                  high=6):
            continue
        if application.kind == Application.Kind.REINSTATEMENT:
            act(day, counts, "application_approved", lambda a=application: application_approve(
                application=a, actor=cast.lead, as_of=day))
        elif behaviour.decision(seed=seed, key=f"lead-reject:{_key(application)}", probability=0.2):
            act(day, counts, "application_rejected", lambda a=application: application_reject(
                application=a, actor=cast.lead, reason="材料不全：请客户补充收入证明后重新申请"))
        else:
            act(day, counts, "application_approved", lambda a=application: servicing_approve(
                application=a, actor=cast.lead, as_of=day))
    for hold in (Hold.objects.filter(scope, status=ApprovalStatus.REQUESTED).exclude(requested_by=cast.lead)
                 .select_related("policy").order_by("start", "policy__policy_no", "end")):
        key = f"{hold.policy.policy_no}:{hold.start.isoformat()}"
        if (day - hold.start).days < behaviour.delay(seed=seed, key=f"hold:{key}", low=1, high=2):
            continue
        approve = not behaviour.decision(seed=seed, key=f"hold-reject:{key}", probability=0.25)
        act(day, counts, "hold_decided", lambda h=hold, ok=approve: suspension_decide(suspension=h, approve=ok,
                                                                                  actor=cast.lead))
    for moratorium in Moratorium.objects.filter(status=ApprovalStatus.REQUESTED).order_by("start", "name"):
        act(day, counts, "moratorium_approved", lambda m=moratorium: suspension_decide(suspension=m, approve=True,
                                                                                   actor=cast.lead))


def _customers_in_difficulty(world, day, previous, mine, cast, counts) -> None:
    """Customers behind with a premium call in: some ask for a deferral, a few (large premiums) for
    reduced paid-up, some for a hold while they are in hospital."""
    open_app = Application.objects.filter(policy=OuterRef("pk"), status__in=[
        Application.Status.SUBMITTED, Application.Status.APPROVED])
    behind = (mine.filter(status=PolicyStatus.IN_FORCE).exclude(Exists(open_app))
              .annotate(oldest=Min("installments__due_date", filter=Q(installments__status__in=[
                  Installment.Status.OVERDUE, Installment.Status.PARTIALLY_PAID])))
              .filter(oldest__isnull=False).order_by("policy_no"))
    seed = world.seed
    for policy in behind:
        key = f"{policy.policy_no}:{policy.oldest.isoformat()}"
        calls_on = policy.oldest + dt.timedelta(days=behaviour.delay(seed=seed, key=f"calls:{key}", low=12, high=30))
        if not previous < calls_on <= day:
            continue
        # a story customer in difficulty always asks for one of them; the other story customers
        # keep to their own script
        role = story_role_of(world=world, policy_no=policy.policy_no, branch_code=CLERK_BRANCH)
        if role not in ("", "difficulty"):
            continue
        difficulty = role == "difficulty"
        wish = behaviour.delay(seed=seed, key=f"wish:{key}", low=1, high=28 if difficulty else 100)
        if wish <= 14:
            act(day, counts, "deferral_applied", lambda p=policy: servicing_apply(
                policy=p, kind=Application.Kind.DEFERRAL, applied_on=day, effective_date=day,
                details={"end": add_months(day, 6).isoformat()}, actor=cast.clerk))
        elif wish <= 20:
            act(day, counts, "reduced_paid_up_applied", lambda p=policy: servicing_apply(
                policy=p, kind=Application.Kind.REDUCED_PAID_UP, applied_on=day, effective_date=day,
                details={"sum_assured": str((p.sum_assured / 2).quantize(CENT))}, actor=cast.clerk))
        elif wish <= 28:
            act(day, counts, "hold_requested", lambda p=policy: hold_request(
                policy=p, start=day, end=day + dt.timedelta(days=30), reason="客户住院治疗，家属申请暂停催收30天",
                actor=cast.clerk))


def _new_accounts(seed, day, previous, mine, cast, counts) -> None:
    """A debit failed for good (frozen, closed, invalid account, name mismatch): the clerk gets
    the customer's new account and files the plan change from the next due date."""
    pending = Application.objects.filter(policy=OuterRef("pk"), kind=Application.Kind.PLAN_CHANGE)
    failed = DebitLine.objects.filter(policy=OuterRef("pk"), status=DebitLine.Status.FAILED, reason__in=HARD_REASONS,
                                      result_at__isnull=False, batch__collection_date__lte=day,
                                      batch__collection_date__gt=previous - dt.timedelta(days=10))
    for policy in mine.filter(status=PolicyStatus.IN_FORCE).filter(Exists(failed)).exclude(Exists(pending)) \
            .order_by("policy_no"):
        reached = behaviour.delay(seed=seed, key=f"new-account:{policy.policy_no}", low=3, high=10)
        last_failure = (policy.debit_lines.filter(status=DebitLine.Status.FAILED).select_related("batch")
                        .order_by("-batch__collection_date", "-attempt").first())
        if not previous < last_failure.batch.collection_date + dt.timedelta(days=reached) <= day:
            continue
        next_due = (policy.installments.filter(due_date__gt=day, status=Installment.Status.SCHEDULED)
                    .order_by("due_date").values_list("due_date", flat=True).first())
        if next_due is None:
            continue
        account = behaviour.new_account(seed=seed, policy_no=policy.policy_no)
        act(day, counts, "plan_change_applied", lambda p=policy, d=next_due, a=account: servicing_apply(
            policy=p, kind=Application.Kind.PLAN_CHANGE, applied_on=day, effective_date=d,
            details={"bank_account": a, "bank_account_name": p.bank_account_name or p.holder.name},
            actor=cast.clerk))


def _moratorium(day, previous, start, end, cast, counts) -> None:
    """One regional moratorium, asked a quarter into the span."""
    on = start + (end - start) / 4
    if not previous < on <= day or Moratorium.objects.filter(name=MORATORIUM["name"]).exists():
        return
    act(day, counts, "moratorium_requested", lambda: moratorium_request(
        name=MORATORIUM["name"], start=day, end=day + dt.timedelta(days=MORATORIUM["days"]),
        reason=MORATORIUM["reason"], city=MORATORIUM["city"], actor=cast.manager))
