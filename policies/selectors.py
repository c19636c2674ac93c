"""Reads of the portfolio, always scoped to the user's branches (a branch covers its
descendants; a user of the head office, the root, sees everything)."""

import datetime as dt
import logging

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_event
from core.errors import ApplicationError, OutOfScope
from policies.models import Branch, Customer, Policy, PolicyStatusChange

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


# Who reads the consistency report: the feed's importers (admins, the integration user) and
# finance, who reconcile paid-to dates with the money they hold.
CONSISTENCY_REPORT_CAPABILITIES = ("import_policies", "import_statements")
CONSISTENCY_DIFFERENCES = ("status", "paid_to_date")


def consistency_report_allowed(*, user) -> bool:
    return any(user.has_perm(perm(capability)) for capability in CONSISTENCY_REPORT_CAPABILITIES)


# the consistency report's sortable columns (the header links' ?sort=key, or -key for descending)
CONSISTENCY_ORDERS = {
    "policy_no": ("policy_no",), "branch": ("branch__name", "policy_no"),
    "status_since": ("feed_status_since", "policy_no"), "paid_to_date": ("paid_to_date", "policy_no"),
}


def policy_consistency_list(*, user, difference: str | None = None, order: str = "policy_no") -> QuerySet[Policy]:
    """The core-system consistency report: policies on which the feed disagrees with us after
    the first import, ours kept (DESIGN.md section 3, Sources of truth; policy-feed.md, "Who
    owns the status"): a differing status (feed_status, since feed_status_since) or paid-to date
    (feed_paid_to_date). `difference` ("status" or "paid_to_date") keeps one kind only. By policy
    number, on the partial index policy_feed_differs, or by a column of CONSISTENCY_ORDERS (an
    unknown one is the policy number); scoped to the user's branches."""
    if not consistency_report_allowed(user=user):
        return Policy.objects.none()
    differs = {"status": ~Q(feed_status=""), "paid_to_date": Q(feed_paid_to_date__isnull=False)}
    if difference is None:
        condition = differs["status"] | differs["paid_to_date"]
    elif difference in differs:
        condition = differs[difference]
    else:
        reason = f"one of {', '.join(CONSISTENCY_DIFFERENCES)}"
        raise ApplicationError(reason, errors={"difference": [reason]})
    descending = order.startswith("-")
    fields = CONSISTENCY_ORDERS.get(order.removeprefix("-"), CONSISTENCY_ORDERS["policy_no"])
    return policy_list(user=user).filter(condition).order_by(*(f"-{f}" if descending else f for f in fields))


# A name is searched by its first characters, at least this many: a surname alone (one character)
# is a browse of the customer register (25,000 customers of 1,250,000 share 丁), not a search, and
# reads a slice of the portfolio a clerk has no reason to list.
NAME_PREFIX_MIN = 2


def policy_search(*, user, query: str) -> QuerySet[Policy]:
    """By policy number (exact), the holder's or insured's ID number (exact), phone (exact) or
    name (prefix of at least NAME_PREFIX_MIN characters; shorter: ApplicationError on "q"). Uses
    the unique policy_no index and the customer indexes."""
    query = (query or "").strip()
    qs = policy_list(user=user)
    if not query:
        return qs.none()
    by_number = True
    if query.isdigit() and len(query) == 11 and query.startswith("1"):
        customers, by_number = Customer.objects.filter(phone=query), False
    elif any("\u4e00" <= ch <= "\u9fff" for ch in query):
        if len(query) < NAME_PREFIX_MIN:
            reason = _("Type at least %(count)d characters of the name.") % {"count": NAME_PREFIX_MIN}
            raise ApplicationError(reason, errors={"q": [reason]})
        customers, by_number = Customer.objects.filter(name__startswith=query), False
    else:  # an ID number (15 or 18 characters, X upper-case) or a policy number
        # every ID type named, so that the unique (id_type, id_no) index finds the number
        customers = Customer.objects.filter(id_type__in=Customer.IdType.values, id_no=query.upper())
    # One branch per index, joined by UNION ALL: an OR across the holder's and the insured's joins
    # (holder.phone = q OR insured.phone = q) cannot use either index and read the whole portfolio
    # (1.2 s at 1,000,000 policies); a policy whose holder is its insured comes twice from the union
    # and once from IN.
    keys = customers.values("pk")
    parts = [Policy.objects.filter(holder__in=keys).values("pk"), Policy.objects.filter(insured__in=keys).values("pk")]
    if by_number:
        parts.append(Policy.objects.filter(policy_no=query).values("pk"))
    return qs.filter(pk__in=parts[0].union(*parts[1:], all=True)).order_by("policy_no")


def policy_get(*, user, policy_no: str, request_path: str = "") -> Policy:
    """The policy if the user may see it; else 404, the same answer as a policy that does not
    exist. A refused attempt on an existing policy is written to the trail and the security log."""
    policy = policy_list(user=user).filter(policy_no=policy_no).first()
    if policy is not None:
        return policy
    hidden = Policy.objects.filter(policy_no=policy_no).first()
    if hidden is not None:  # recorded at the edge (scope_denial_record), answered as not found
        scope_denied(user=user, obj=hidden, what=f"policy {policy_no}", request_path=request_path)
    raise Http404("policy not found")


def policy_in_scope(*, user, policy: Policy) -> bool:
    scope = branch_scope_q(user)
    return scope is None or Policy.objects.filter(scope, pk=policy.pk).exists()


def scope_denied(*, user, obj, what: str, request_path: str = "") -> None:
    """Refuse an existing object outside the user's branches: 404, like one that does not exist.
    The attempt is recorded at the edge (scope_denial_record), after the service's rollback."""
    raise OutOfScope(f"{what} not found", user=user, obj=obj, what=what)


def scope_denial_record(exc: OutOfScope, *, request_path: str = "") -> None:
    """The trail (an operation row; the policy's own trail when it is a policy) and the
    security log of a refused attempt."""
    from audit.services import operation_record

    user = exc.user
    if isinstance(exc.obj, Policy):
        security_log.warning("out-of-scope policy access: user=%s policy=%s path=%s", user.get_username(),
                             exc.obj.policy_no, request_path)
    else:
        security_log.warning("out-of-scope access: user=%s %s path=%s", user.get_username(), exc.what, request_path)
    if isinstance(exc.obj, Policy):
        audit_event(obj=exc.obj, label="access_denied", actor=user, url=request_path,
                    reason=f"{exc.what} outside the user's branches")
    operation_record(action=ACCESS_DENIED, actor=user, object_type=type(exc.obj).__name__.lower(),
                     object_ref=exc.what, reason="outside the user's branches", details={"path": request_path})
    _repeated_attempts_alert(user=user)


ACCESS_DENIED = "access_denied"


def _repeated_attempts_alert(*, user) -> None:
    """Someone trying ids outside their branches one after another: the admins hear of it (the
    security log and an alert on their page), once per user while the alert is open."""
    from django.conf import settings
    from django.utils import timezone

    from audit.models import Operation
    from core.alerts import alert_raise

    limit = settings.SECURITY_SCOPE_ALERT_ATTEMPTS
    window = dt.timedelta(minutes=settings.SECURITY_SCOPE_ALERT_MINUTES)
    attempts = Operation.objects.filter(action=ACCESS_DENIED, actor=user,
                                        created_at__gte=timezone.now() - window).count()
    if attempts >= limit:
        alert_raise(kind="security.out_of_scope", key=user.get_username(), severity="warning",
                    title=f"{user.get_username()}: {attempts} attempts outside their branches in "
                          f"{settings.SECURITY_SCOPE_ALERT_MINUTES} minutes",
                    details={"user": user.get_username(), "attempts": attempts})


def policy_scope_check(*, user, policy: Policy, request_path: str = "") -> None:
    """For services acting on an object reached through a policy: 404 outside the actor's
    branches, with the attempt in the trail."""
    if user is None or not getattr(user, "is_authenticated", False):
        return  # the nightly pipeline and other jobs act for the whole portfolio
    if not policy_in_scope(user=user, policy=policy):
        scope_denied(user=user, obj=policy, what=f"policy {policy.policy_no}", request_path=request_path)


def branches_all_in_scope(*, user, branch_ids: list[int]) -> bool:
    scope = branch_scope_q(user, prefix="")
    if scope is None:
        return True
    return Branch.objects.filter(pk__in=branch_ids).exclude(scope).count() == 0 and bool(branch_ids)


def user_is_head_office(*, user) -> bool:
    return branch_scope_q(user) is None


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


def customer_trail_link(policy_no: str) -> Q:
    """The trail rows of a policy's customers (policyholder and insured), for the auditor's
    ledger filtered by policy number (audit.selectors.trail_policy_link_register)."""
    ids = Policy.objects.filter(policy_no=policy_no).values_list("holder_id", "insured_id").first() or ()
    return Q(pgh_obj_id__in=[i for i in ids if i is not None])
