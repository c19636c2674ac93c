"""Contacts that became pointless are not sent (DESIGN.md section 3): money arrived (planning.
contacts_cancel, on money_allocated), a hold or moratorium was approved, the policy was deferred,
lapsed or ended. Each is one set-based UPDATE over the pending rows only (index
planned_contact_pending), in the caller's transaction. A contact already handed to a gateway
(`sending` and after) is never recalled and never sent again.

Outreach sits left of renewals: renewals hands over which policies a hold or moratorium covers as
a SELECT (as it hands over the due steps to planning), and registers contacts_cancel_ended as a
nightly step.
"""

import datetime as dt

from django.conf import settings
from django.db import connection

from outreach.models import PlannedContact
from policies.models import PolicyStatus

Status, Reason = PlannedContact.Status, PlannedContact.Reason

# the date a contact stands for: its step's date (older rows: the planned day in Shanghai)
CONTACT_DATE = "COALESCE(pc.step_date, (pc.planned_at AT TIME ZONE %(tz)s)::date)"

SUSPEND_SQL = f"""
UPDATE outreach_plannedcontact pc SET status = %(cancelled)s, reason = %(reason)s, updated_at = now()
WHERE pc.status {PlannedContact.PENDING_SQL_IN} AND pc.policy_id IN ({{policies_sql}})
  AND {CONTACT_DATE} BETWEEN %(start)s AND %(end)s
"""


def _pending() -> list[str]:
    return [s.value for s in PlannedContact.PENDING_STATUSES]


def contacts_suspend(*, policies_sql: str, params: dict | None = None, start: dt.date, end: dt.date,
                     reason: str = Reason.ON_HOLD) -> int:
    """A hold or moratorium approved: the pending contacts of the policies `policies_sql` selects
    (one column of policy ids; `params` are its own) dated inside [start, end] are cancelled with
    the reason. Steps dated inside the period are not replayed later (renewals' collection step).
    Returns the contacts cancelled."""
    with connection.cursor() as cursor:
        cursor.execute(SUSPEND_SQL.format(policies_sql=policies_sql), {
            **(params or {}), "cancelled": Status.CANCELLED.value, "reason": str(reason), "pending": _pending(),
            "start": start, "end": end, "tz": settings.OUTREACH_DEFAULT_TIME_ZONE})
        return cursor.rowcount


# A policy that no longer pays: deferred (no reminders while it runs), ended (terminated,
# surrendered, matured, paid up, reduced paid-up), or lapsed, for the reminders of before the lapse
# (the lapse notice and the reinstatement invitation, dated from the lapse on, still go).
ENDED_SQL = f"""
UPDATE outreach_plannedcontact pc SET status = %(suppressed)s, updated_at = now(),
    reason = CASE p.status WHEN %(deferred)s THEN %(r_deferred)s WHEN %(lapsed)s THEN %(r_lapsed)s
                           ELSE %(r_ended)s END
FROM policies_policy p
WHERE p.id = pc.policy_id AND pc.status {PlannedContact.PENDING_SQL_IN} AND {{scope}}
  AND p.status <> %(in_force)s
  AND NOT (p.status = %(lapsed)s AND (p.lapse_date IS NULL OR {CONTACT_DATE} >= p.lapse_date))
"""


def _ended_params() -> dict:
    return {"suppressed": Status.SUPPRESSED.value, "pending": _pending(), "tz": settings.OUTREACH_DEFAULT_TIME_ZONE,
            "in_force": PolicyStatus.IN_FORCE.value, "lapsed": PolicyStatus.LAPSED.value,
            "deferred": PolicyStatus.DEFERRED.value, "r_deferred": Reason.DEFERRED.value,
            "r_lapsed": Reason.LAPSED.value, "r_ended": Reason.ENDED.value}


def contacts_cancel_ended(as_of: dt.date, id_from: int, id_to: int) -> int:
    """The nightly step (after the lapse and termination rules): the pending contacts of the
    chunk's policies that no longer pay are suppressed with the reason. Idempotent."""
    with connection.cursor() as cursor:
        cursor.execute(ENDED_SQL.format(scope="pc.policy_id BETWEEN %(lo)s AND %(hi)s AND p.id BETWEEN %(lo)s AND %(hi)s"),
                       {**_ended_params(), "lo": id_from, "hi": id_to})
        return cursor.rowcount


def contacts_cancel_ended_due(*, now: dt.datetime) -> int:
    """The dispatcher's guard before it claims: a contact due now whose policy stopped paying since
    the night (a deferral approved today, a feed's termination) is suppressed, not sent."""
    with connection.cursor() as cursor:
        cursor.execute(ENDED_SQL.format(scope="pc.planned_at <= %(now)s"), {**_ended_params(), "now": now})
        return cursor.rowcount


STOP_SQL = f"""
UPDATE outreach_plannedcontact pc SET status = %(suppressed)s, reason = %(claim)s, updated_at = now()
FROM policies_policy p
WHERE p.id = pc.policy_id AND pc.status {PlannedContact.PENDING_SQL_IN} AND pc.planned_at <= %(now)s
  AND p.holder_id IN ({{stops_sql}})
"""


def contacts_stop_due(*, now: dt.datetime) -> int:
    """The dispatcher's guard: a contact due now for a customer with a death hand-off or a claims
    case (outreach.stops) is suppressed, not sent."""
    from outreach.stops import _STOPS, contact_stops_sql

    if not _STOPS:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(STOP_SQL.format(stops_sql=contact_stops_sql()), {
            "suppressed": Status.SUPPRESSED.value, "claim": Reason.CLAIM.value, "now": now})
        return cursor.rowcount
