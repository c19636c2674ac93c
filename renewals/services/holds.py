"""Holds (one policy) and moratoria (every policy matching criteria): collection stops for the
period, with approval by a second person. An installment's grace end moves later by the days
of an approved hold or moratorium that overlap its grace period (DESIGN.md section 3); steps
dated inside the period are not replayed when it ends."""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context
from billing.models import Installment
from core.errors import ApplicationError
from policies.models import Branch, PolicyStatus
from policies.selectors import branches_all_in_scope, policy_scope_check, scope_denied, user_is_head_office
from renewals.models import ApprovalStatus, Hold, Moratorium

SUSPENSION_PARAMS = {"approved": ApprovalStatus.APPROVED.value}

# (policy_id, start, end) of every approved suspension touching policies lo..hi (bind SUSPENSION_PARAMS)
SUSPENSIONS_SQL = """
SELECT h.policy_id, h.start, h."end" FROM renewals_hold h
WHERE h.status = %(approved)s AND h.policy_id BETWEEN %(lo)s AND %(hi)s
UNION ALL
SELECT p.id, m.start, m."end"
FROM renewals_moratorium m
LEFT JOIN policies_branch mb ON mb.id = m.branch_id
JOIN policies_branch b ON (m.branch_id IS NULL OR b.path LIKE mb.path || '%%')
                      AND (m.province = '' OR b.province = m.province) AND (m.city = '' OR b.city = m.city)
JOIN policies_policy p ON p.branch_id = b.id AND p.id BETWEEN %(lo)s AND %(hi)s
                      AND (m.product_id IS NULL OR p.product_id = m.product_id)
WHERE m.status = %(approved)s
"""

# grace = due + the product's grace days + the days of suspensions overlapping [due + 1, due + grace days]
GRACE_SQL = f"""
WITH susp AS ({SUSPENSIONS_SQL}),
calc AS (
    SELECT i.id, i.due_date + pr.grace_days + COALESCE((
        SELECT sum(GREATEST(0, LEAST(s."end", i.due_date + pr.grace_days) - GREATEST(s.start, i.due_date + 1) + 1))
        FROM susp s WHERE s.policy_id = i.policy_id), 0)::int AS new_grace
    FROM billing_installment i
    JOIN policies_policy p ON p.id = i.policy_id
    JOIN policies_product pr ON pr.id = p.product_id
    WHERE p.id IN (SELECT policy_id FROM susp) AND i.status = ANY(%(open)s)
)
UPDATE billing_installment i SET grace_end = c.new_grace, updated_at = now()
FROM calc c WHERE i.id = c.id AND i.grace_end <> c.new_grace
"""


def grace_extensions(as_of: dt.date, id_from: int, id_to: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(GRACE_SQL, {**SUSPENSION_PARAMS, "lo": id_from, "hi": id_to,
                                   "open": list(Installment.OPEN_STATUSES)})
        return cursor.rowcount


def suspended_policy_ids(*, on: dt.date) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT policy_id FROM ({SUSPENSIONS_SQL}) s WHERE %(on)s BETWEEN s.start AND s.\"end\"",
                       {**SUSPENSION_PARAMS, "lo": 0, "hi": 2**62, "on": on})
        return [row[0] for row in cursor.fetchall()]


def _check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ApplicationError(_("the end is before the start"), errors={"end": [_("before the start")]})


@transaction.atomic
def hold_request(*, policy, start: dt.date, end: dt.date, reason: str, actor) -> Hold:
    _check_period(start, end)
    if not reason:
        raise ApplicationError(_("a reason is required"), errors={"reason": [_("required")]})
    policy_scope_check(user=actor, policy=policy)
    if policy.status not in (PolicyStatus.IN_FORCE, PolicyStatus.DEFERRED):
        raise ApplicationError(_("collection can be held only for a policy in force"))
    with audit_context(user=actor.pk, username=actor.get_username(), reason=reason):
        return Hold.objects.create(policy=policy, start=start, end=end, reason=reason, requested_by=actor)


def moratorium_branch_ids(*, branch, province: str, city: str) -> list[int]:
    """The branches a moratorium's criteria match (a branch covers its descendants); every
    branch when it names none (product-wide)."""
    branches = Branch.objects.all()
    if branch is not None:
        branches = branches.filter(path__startswith=branch.path)
    if province:
        branches = branches.filter(province=province)
    if city:
        branches = branches.filter(city=city)
    return list(branches.values_list("pk", flat=True))


def moratorium_decidable_by(*, actor, moratorium: Moratorium) -> bool:
    """Whether the actor's branches cover every branch the moratorium matches (the rule of
    _moratorium_scope_check, without its refusal): what the approvals page lists for them."""
    if user_is_head_office(user=actor):
        return True
    if moratorium.branch_id is None and not moratorium.province and not moratorium.city:
        return False
    return branches_all_in_scope(user=actor, branch_ids=moratorium_branch_ids(
        branch=moratorium.branch, province=moratorium.province, city=moratorium.city))


def _moratorium_scope_check(*, actor, branch, province: str, city: str, existing: Moratorium | None = None) -> None:
    """A moratorium is for the actor's branches only: every branch it matches must be in scope;
    one that matches no branch or every branch (product-wide) is the head office's."""
    if user_is_head_office(user=actor):
        return
    matched = moratorium_branch_ids(branch=branch, province=province, city=city)
    if branch is None and not province and not city or not branches_all_in_scope(user=actor, branch_ids=matched):
        if existing is not None:  # reached by id: answered like one that does not exist
            scope_denied(user=actor, obj=existing, what=f"moratorium {existing.pk}")
        raise ApplicationError(_("a moratorium may cover only branches you are responsible for; "
                                 "a wider one is for the head office"),
                               errors={"branch": [_("outside your branches")]}, status=403)


@transaction.atomic
def moratorium_request(*, name: str, start: dt.date, end: dt.date, reason: str, actor, branch=None,
                       province: str = "", city: str = "", product=None) -> Moratorium:
    _check_period(start, end)
    if branch is None and not province and not city and product is None:
        raise ApplicationError(_("a moratorium needs at least one criterion"),
                               errors={"branch": [_("give a branch, a province, a city or a product")]})
    _moratorium_scope_check(actor=actor, branch=branch, province=province, city=city)
    with audit_context(user=actor.pk, username=actor.get_username(), reason=reason):
        return Moratorium.objects.create(name=name, start=start, end=end, reason=reason, requested_by=actor,
                                         branch=branch, province=province, city=city, product=product)


@transaction.atomic
def suspension_decide(*, suspension: Hold | Moratorium, approve: bool, actor) -> Hold | Moratorium:
    """Approve or reject a hold or a moratorium: a second person with the approval right. The
    grace extension follows on the next nightly run (its grace step)."""
    suspension = type(suspension).objects.select_for_update().get(pk=suspension.pk)
    if not actor.has_perm(perm("approve_applications")):
        raise ApplicationError(_("your role cannot approve applications"), status=403)
    if isinstance(suspension, Hold):
        policy_scope_check(user=actor, policy=suspension.policy)
    else:
        _moratorium_scope_check(actor=actor, branch=suspension.branch, province=suspension.province,
                                city=suspension.city, existing=suspension)
    if suspension.requested_by_id == actor.pk:
        raise ApplicationError(_("the person who asked cannot approve it (maker-checker)"))
    if suspension.status != ApprovalStatus.REQUESTED:
        raise ApplicationError(_("this has been decided already"))
    suspension.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    suspension.approved_by = actor
    with audit_context(user=actor.pk, username=actor.get_username()):
        suspension.save(update_fields=["status", "approved_by"])
        if approve:
            _suspension_contacts_cancel(suspension)
    return suspension


# the policies one moratorium covers (as SUSPENSIONS_SQL matches them)
MORATORIUM_POLICIES_SQL = """
SELECT p.id FROM renewals_moratorium m
LEFT JOIN policies_branch mb ON mb.id = m.branch_id
JOIN policies_branch b ON (m.branch_id IS NULL OR b.path LIKE mb.path || '%%')
                      AND (m.province = '' OR b.province = m.province) AND (m.city = '' OR b.city = m.city)
JOIN policies_policy p ON p.branch_id = b.id AND (m.product_id IS NULL OR p.product_id = m.product_id)
WHERE m.id = %(moratorium_id)s
"""


def _suspension_contacts_cancel(suspension: Hold | Moratorium) -> int:
    """Reminders not yet handed to a gateway and dated inside the approved period are cancelled
    in the approval's transaction (outreach's set-based service)."""
    from outreach.services.cancellation import contacts_suspend

    if isinstance(suspension, Hold):
        return contacts_suspend(policies_sql="SELECT %(hold_policy_id)s::bigint",
                                params={"hold_policy_id": suspension.policy_id}, start=suspension.start,
                                end=suspension.end)
    return contacts_suspend(policies_sql=MORATORIUM_POLICIES_SQL, params={"moratorium_id": suspension.pk},
                            start=suspension.start, end=suspension.end)
