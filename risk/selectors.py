"""Reads of flags, rules and claims, scoped: a flag is visible to a reviewer when any of its
policies is in their branches (a flag with no policy, to the head office only); evidence rows
of policies outside them are masked."""

import datetime as dt
from decimal import Decimal
from typing import cast

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.masking import mask_account
from accounts.roles import perm
from billing.models import CounterPayment
from policies.models import Policy
from policies.selectors import branch_scope_q, policy_list, scope_denied, user_is_head_office
from risk.kinds import KINDS, MONEY_PARAMS
from risk.models import Claim, Flag, Review, Rule, Severity

SEVERITY_ORDER = Case(When(severity=Severity.HIGH, then=Value(3)), When(severity=Severity.MEDIUM, then=Value(2)),
                      default=Value(1), output_field=IntegerField())


def _policy_ids_in_scope(*, user, ids) -> set[int]:
    scope = branch_scope_q(user)
    qs = Policy.objects.filter(pk__in=list(ids))
    return set((qs if scope is None else qs.filter(scope)).values_list("pk", flat=True))


# some policy of the flag is in one of the user's branches (a branch covers its descendants)
FLAG_IN_SCOPE_SQL = """EXISTS (SELECT 1 FROM policies_policy p JOIN policies_branch b ON b.id = p.branch_id
                        WHERE p.id = ANY(risk_flag.policy_ids)
                          AND EXISTS (SELECT 1 FROM unnest(%s::text[]) s(path) WHERE starts_with(b.path, s.path)))"""


def flag_list(*, user) -> QuerySet[Flag]:
    if not user.has_perm(perm("work_risk_flags")):
        return Flag.objects.none()
    qs = Flag.objects.select_related("rule", "policy", "claimed_by", "reviewed_by", "previous")
    if user_is_head_office(user=user):
        return qs
    paths = list(user.branches.values_list("path", flat=True))
    return qs.extra(where=[FLAG_IN_SCOPE_SQL], params=[paths]) if paths else qs.none()


def flag_queue(*, user, status: str = "", kind: str = "", severity: str = "", policy_no: str = "",
               mine: bool = False) -> QuerySet[Flag]:
    """By severity (high first), then age (oldest first)."""
    qs = flag_list(user=user)
    qs = qs.filter(status=status) if status else qs.filter(status__in=[Flag.Status.OPEN, Flag.Status.ESCALATED])
    if kind:
        qs = qs.filter(kind=kind)
    if severity:
        qs = qs.filter(severity=severity)
    if policy_no:
        ids = list(Policy.objects.filter(policy_no=policy_no).values_list("pk", flat=True))
        qs = qs.filter(policy_ids__overlap=ids) if ids else qs.none()
    if mine:
        qs = qs.filter(claimed_by=user)
    return qs.annotate(severity_rank=SEVERITY_ORDER).order_by("-severity_rank", "raised_on", "id")


def flags_in_order(*, user, ids: list[int]) -> list[Flag]:
    """These flags (a queue page's ids, found without joins: joined first, the planner read every
    open flag's policy before sorting, 0.2-0.4 s at 34,295 flags) with their rule, policy and
    people, in the ids' order."""
    found = {flag.pk: flag for flag in flag_list(user=user).filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


def flag_get(*, user, pk: int, request_path: str = "") -> Flag:
    """The flag if the user may see it; else 404, as one that does not exist (the attempt on an
    existing flag in the trail)."""
    flag = flag_list(user=user).filter(pk=pk).first()
    if flag is not None:
        return flag
    hidden = Flag.objects.filter(pk=pk).first()
    if hidden is not None and user.has_perm(perm("work_risk_flags")):
        scope_denied(user=user, obj=hidden, what=f"risk flag {pk}", request_path=request_path)
    raise Http404("flag not found")


def flag_sentence(flag: Flag | None, *, kind: str | None = None, params: dict | None = None) -> str:
    """The flag's reason as one sentence in the active language."""
    # no flag (None) only with its kind and params given
    kind_code = kind or cast(Flag, flag).kind
    params = dict(params if params is not None else cast(Flag, flag).sentence_params)
    registered = KINDS.get(kind_code)
    if registered is None:
        return kind_code
    for name in MONEY_PARAMS & set(params):
        try:
            params[name] = f"¥{Decimal(str(params[name])):,.2f}"
        except ArithmeticError:
            pass
    template = registered.sentences.get(params.get("variant"), registered.sentence)
    try:
        return str(template) % params
    except (KeyError, ValueError, TypeError):
        return str(registered.label)


ACCOUNT_FIELDS = ("payer_account", "refund_account", "before", "after")


def flag_evidence(*, user, flag: Flag, reveal: bool = False) -> dict[str, list[dict]]:
    """The evidence rows as they were when raised: rows of policies outside the user's branches
    are masked (only their date is shown); accounts are masked (on screen always, as every masked
    field is until revealed; in the regulator's pack, whose export is on the trail, in full for a
    user who may reveal accounts)."""
    reveal = reveal and user.has_perm(perm("reveal_account"))
    visible_nos = set(Policy.objects.filter(pk__in=_policy_ids_in_scope(user=user, ids=flag.policy_ids))
                      .values_list("policy_no", flat=True))
    out: dict[str, list[dict]] = {}
    for section, rows in (flag.evidence or {}).items():
        if not isinstance(rows, list):
            continue
        shown = []
        for row in rows:
            row = dict(row)
            if row.get("policy_no") and row["policy_no"] not in visible_nos:
                row = {key: (value if key in ("value_date", "day", "due_date", "refunded_on") else "***")
                       for key, value in row.items()}
                row["masked"] = True
            elif not reveal:
                for name in ACCOUNT_FIELDS:
                    if row.get(name):
                        row[name] = mask_account(row[name])
            shown.append(row)
        out[section] = shown
    return out


def flag_policies(*, user, flag: Flag) -> QuerySet[Policy]:
    return policy_list(user=user).filter(pk__in=flag.policy_ids).order_by("policy_no")


def rule_list() -> QuerySet[Rule]:
    return Rule.objects.select_related("created_by").order_by("key", "-version")


def rule_current(*, key: str) -> Rule | None:
    """The newest version of a rule (a draft when one is waiting to be switched on)."""
    return Rule.objects.filter(key=key).order_by("-version").first()


def claim_list(*, user) -> QuerySet[Claim]:
    scope = branch_scope_q(user, prefix="policy__branch__")
    qs = Claim.objects.select_related("policy")
    return qs if scope is None else qs.filter(scope)


def risk_summary(*, user, today: dt.date) -> dict:
    """The reviewer's home: open flags by rule and severity, ageing, this month's outcomes, and
    rules whose false-positive rate is high."""
    flags = flag_list(user=user)
    live = flags.filter(status__in=Flag.LIVE_STATUSES)
    by_rule = list(live.values("rule__name", "severity").annotate(n=Count("id")).order_by("-n", "rule__name"))
    ageing = {
        "under_7": live.filter(raised_on__gt=today - dt.timedelta(days=7)).count(),
        "7_to_30": live.filter(raised_on__lte=today - dt.timedelta(days=7),
                               raised_on__gt=today - dt.timedelta(days=30)).count(),
        "over_30": live.filter(raised_on__lte=today - dt.timedelta(days=30)).count(),
    }
    month_start = today.replace(day=1)
    outcomes = dict(flags.filter(reviewed_on__gte=month_start, reviewed_on__lte=today,
                                 status__in=[Flag.Status.CLEARED, Flag.Status.CONFIRMED, Flag.Status.ESCALATED])
                    .values_list("status").annotate(n=Count("id")))
    decided = (flags.filter(status__in=[Flag.Status.CLEARED, Flag.Status.CONFIRMED])
               .values("rule_key", "rule__name").annotate(total=Count("id"),
                                                          cleared=Count("id", filter=Q(status=Flag.Status.CLEARED))))
    noisy = []
    for row in decided:
        rate = row["cleared"] * 100 // row["total"]
        if row["total"] >= 3 and rate >= 80:
            noisy.append({"rule_key": row["rule_key"], "name": row["rule__name"], "total": row["total"],
                          "rate": rate})
    return {"open_count": live.count(), "by_rule": by_rule, "ageing": ageing, "outcomes": outcomes,
            "noisy_rules": noisy, "mine": live.filter(claimed_by=user).count(), "today": today,
            "cleared_label": _("Cleared")}


def large_cash_list(*, user, month_start: dt.date, month_end: dt.date) -> QuerySet[CounterPayment]:
    """Cash taken at the counter in the month at or above the large-cash rule's threshold."""
    rule = Rule.objects.filter(kind="large_cash", state=Rule.State.ACTIVE).first()
    threshold = rule.threshold if rule else Decimal("50000")
    return (CounterPayment.objects.select_related("payment", "recorded_by")
            .filter(method=CounterPayment.Method.CASH, payment__value_date__gte=month_start,
                    payment__value_date__lte=month_end, payment__amount__gte=threshold)
            .order_by("payment__value_date", "id"))


def confirmed_cases(*, user, month_start: dt.date, month_end: dt.date) -> QuerySet[Flag]:
    return (flag_list(user=user).filter(status__in=[Flag.Status.CONFIRMED, Flag.Status.ESCALATED],
                                        reviewed_on__gte=month_start, reviewed_on__lte=month_end)
            .order_by("reviewed_on", "id"))


def flag_reviews(*, flag: Flag) -> QuerySet[Review]:
    return flag.reviews.select_related("actor")


def cash_total(qs) -> Decimal:
    return qs.aggregate(total=Sum("payment__amount"))["total"] or Decimal("0.00")
