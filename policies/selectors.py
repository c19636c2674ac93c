"""Reads of the portfolio, always scoped to the user's branches (a branch covers its
descendants; a user of the head office, the root, sees everything)."""

import datetime as dt
import logging

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.roles import perm
from audit.services import audit_event
from policies.models import Branch, Policy, PolicyStatusChange

security_log = logging.getLogger("security")


def branch_scope_q(user, prefix: str = "branch__") -> Q | None:
    """A filter on branches the user may see; None means every branch."""
    if user.is_superuser:
        return None
    paths = list(user.branches.values_list("path", flat=True))
    if any(path.count("/") == 2 for path in paths):  # "/HQ/": a root branch
        return None
    if not paths:
        return Q(pk__in=[])
    q = Q()
    for path in paths:
        q |= Q(**{f"{prefix}path__startswith": path})
    return q


def policy_list(*, user) -> QuerySet[Policy]:
    if not user.has_perm(perm("view_portfolio")):
        return Policy.objects.none()
    qs = Policy.objects.select_related("product", "branch", "holder", "insured", "agent")
    scope = branch_scope_q(user)
    return qs if scope is None else qs.filter(scope)


def policy_search(*, user, query: str) -> QuerySet[Policy]:
    """By policy number (exact), the holder's or insured's ID number (exact), phone (exact) or
    name (prefix). Uses the unique policy_no index and the customer indexes."""
    query = (query or "").strip()
    qs = policy_list(user=user)
    if not query:
        return qs.none()
    if query.isdigit() and len(query) == 11 and query.startswith("1"):
        condition = Q(holder__phone=query) | Q(insured__phone=query)
    elif len(query) in (15, 18) and query[:-1].isdigit():
        id_no = query.upper()
        condition = Q(holder__id_no=id_no) | Q(insured__id_no=id_no) | Q(policy_no=query)
    elif any("\u4e00" <= ch <= "\u9fff" for ch in query):
        condition = Q(holder__name__startswith=query) | Q(insured__name__startswith=query)
    else:
        condition = Q(policy_no=query) | Q(holder__id_no=query.upper())
    return qs.filter(condition).order_by("policy_no")


def policy_get(*, user, policy_no: str, request_path: str = "") -> Policy:
    """The policy if the user may see it; else 404, the same answer as a policy that does not
    exist. A refused attempt on an existing policy is written to the trail and the security log."""
    policy = policy_list(user=user).filter(policy_no=policy_no).first()
    if policy is not None:
        return policy
    hidden = Policy.objects.filter(policy_no=policy_no).first()
    if hidden is not None:
        security_log.warning("out-of-scope policy access: user=%s policy=%s path=%s",
                             user.get_username(), policy_no, request_path)
        audit_event(obj=hidden, label="access_denied", actor=user, url=request_path,
                    reason="policy outside the user's branches")
    raise Http404("policy not found")


def policy_status_on(*, policy: Policy, on: dt.date) -> str | None:
    """Status on day `on` with what we know now: voided rows (a reversed lapse) do not count.
    None before the issue date."""
    if on < policy.issue_date:
        return None
    change = (
        PolicyStatusChange.objects.filter(policy=policy, effective_date__lte=on, voided_at__isnull=True)
        .order_by("-effective_date", "-id")
        .values_list("status", flat=True)
        .first()
    )
    return change or Policy.Status.IN_FORCE


def policy_status_history(*, policy: Policy) -> QuerySet[PolicyStatusChange]:
    return policy.status_changes.select_related("voided_by").order_by("effective_date", "id")


def branches_for(*, user) -> QuerySet[Branch]:
    scope = branch_scope_q(user, prefix="")
    qs = Branch.objects.all()
    return qs if scope is None else qs.filter(scope)
