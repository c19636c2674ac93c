"""Planning the outbox, set-based (DESIGN.md section 3, section 4).

The nightly pipeline hands over the steps that fell due as one SELECT (a chunk's temp table);
one INSERT ... SELECT ... ON CONFLICT DO NOTHING turns them into contacts. The business identity
(installment, step, channel) is the dedupe key for the policy's whole life: a step run twice, or
by two workers, adds nothing. A contact decided not to send is inserted as a suppressed row with
its reason, so the timeline shows it.
"""

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction

from billing.models import Installment
from core.copy import id_array
from outreach.models import PlannedContact

Status, Reason = PlannedContact.Status, PlannedContact.Reason

# the columns the caller's SELECT yields, in this order
DUE_COLUMNS = ("policy_id", "installment_id", "holder_id", "step_id", "stage_code", "kind", "channel", "urgent",
               "step_date")

# a channel can be used: not opted out, not marked failed, and the customer has the detail it needs
USABLE = """(ch <> '' AND NOT (ch = ANY(x.opt_outs)) AND COALESCE(x.contact_validity ->> ch, '') <> 'failed'
             AND CASE WHEN ch IN ('sms', 'phone') THEN x.phone <> '' WHEN ch = 'email' THEN x.email <> ''
                      WHEN ch IN ('wechat', 'app') THEN EXISTS (
                          SELECT 1 FROM outreach_channelidentity ci WHERE ci.customer_id = x.holder_id AND ci.channel = ch)
                      ELSE true END)"""

# the first moment at or after `ts` outside the quiet hours and inside the customer's own window
# (`tz`, `wstart`, `wend` are the customer's), as a timestamptz
WINDOW_NEXT = """CASE
    WHEN ({ts} AT TIME ZONE {tz})::time < {wstart} THEN (({ts} AT TIME ZONE {tz})::date + {wstart}) AT TIME ZONE {tz}
    WHEN ({ts} AT TIME ZONE {tz})::time >= {wend} THEN (({ts} AT TIME ZONE {tz})::date + 1 + {wstart}) AT TIME ZONE {tz}
    ELSE {ts} END"""

# the customer's time zone and window, narrowed to the hours outside quiet time
WINDOW_COLUMNS = """COALESCE(w.time_zone, %(tz)s) AS tz,
    GREATEST(COALESCE(w.start, %(quiet_end)s::time), %(quiet_end)s::time) AS wstart,
    LEAST(COALESCE(w."end", %(quiet_start)s::time), %(quiet_start)s::time) AS wend"""

PLAN_SQL = f"""
WITH due AS ({{due_sql}}),
x AS (
    SELECT d.policy_id, d.installment_id, d.holder_id, d.step_id, d.stage_code, d.kind, d.channel, d.urgent,
        d.step_date, c.phone, c.email, c.opt_outs, c.contact_validity,
        -- the candidates in order: a robot call needs the phone; a step's own channel; else the
        -- customer's preference, then SMS, then e-mail
        CASE WHEN d.kind = 'robot_call' THEN ARRAY['phone']::text[]
             WHEN d.channel <> '' THEN ARRAY[d.channel]::text[]
             ELSE ARRAY[c.preferred_channel, 'sms', 'email']::text[] END AS candidates,
        -- the policy's latest promise to pay (a robot call's): steps inside it wait for the day after
        (SELECT max(r.promised_on) FROM outreach_callresult r
         WHERE r.policy_id = d.policy_id AND r.outcome = %(promise)s) AS promised_on,
        -- a death hand-off or a claims case (registered by the apps that know of them): no contact
        d.holder_id IN ({{stops_sql}}) AS stopped,
        {WINDOW_COLUMNS}
    FROM due d JOIN policies_customer c ON c.id = d.holder_id
    LEFT JOIN outreach_contactwindow w ON w.customer_id = c.id
),
chosen AS (
    SELECT x.*, COALESCE(ok.ch, fallback.ch) AS chosen_channel,
        CASE WHEN ok.ch IS NOT NULL THEN NULL
             WHEN fallback.ch = ANY(x.opt_outs) THEN %(opted_out)s ELSE %(no_channel)s END AS channel_reason,
        (CASE WHEN x.promised_on >= x.step_date THEN x.promised_on + 1 ELSE x.step_date END + x.wstart)
            AT TIME ZONE x.tz AS planned_at,
        COALESCE(x.promised_on >= x.step_date, false) AS moved,
        date_trunc('week', x.step_date::timestamp) AS week
    FROM x
    LEFT JOIN LATERAL (SELECT ch FROM unnest(x.candidates) WITH ORDINALITY u(ch, n) WHERE {USABLE}
                       ORDER BY n LIMIT 1) ok ON true
    CROSS JOIN LATERAL (SELECT COALESCE((SELECT ch FROM unnest(x.candidates) WITH ORDINALITY u(ch, n)
                                         WHERE ch <> '' ORDER BY n LIMIT 1), 'sms') AS ch) fallback
),
fresh AS (  -- a re-run: what exists already is neither inserted nor counted twice
    SELECT ch.* FROM chosen ch
    WHERE NOT EXISTS (SELECT 1 FROM outreach_plannedcontact pc WHERE pc.installment_id = ch.installment_id
                      AND pc.step_id = ch.step_id AND pc.channel = ch.chosen_channel)
),
-- the customer's contacts already counted in the week (ISO week in the customer's zone)
-- (the outbox's contacts and the contact log's calls and visits by clerks)
weeks AS (SELECT DISTINCT holder_id, tz, week FROM fresh),
existing AS (
    SELECT wk.holder_id, wk.week,
        (SELECT count(*) FROM policies_policy p
         JOIN outreach_plannedcontact pc ON pc.policy_id = p.id AND pc.status = ANY(%(counted)s)
              AND pc.planned_at >= wk.week AT TIME ZONE wk.tz AND pc.planned_at < (wk.week + interval '7 days') AT TIME ZONE wk.tz
         WHERE p.holder_id = wk.holder_id)
      + (SELECT count(*) FROM outreach_contactlog cl
         WHERE cl.customer_id = wk.holder_id
           AND cl.occurred_at >= wk.week AT TIME ZONE wk.tz AND cl.occurred_at < (wk.week + interval '7 days') AT TIME ZONE wk.tz)
        AS n
    FROM weeks wk
),
counted AS (
    SELECT f.*, COALESCE(e.n, 0) + sum(CASE WHEN f.channel_reason IS NULL THEN 1 ELSE 0 END)
            OVER (PARTITION BY f.holder_id, f.week ORDER BY f.planned_at, f.urgent, f.policy_id, f.step_id, f.kind
                  ROWS UNBOUNDED PRECEDING) AS nth
    FROM fresh f LEFT JOIN existing e ON e.holder_id = f.holder_id AND e.week = f.week
)
INSERT INTO outreach_plannedcontact (policy_id, installment_id, step_id, stage_code, channel, kind, urgent, planned_at,
    step_date, status, reason, address, provider_ref, idempotency_key, attempts, error, created_at, updated_at)
SELECT policy_id, installment_id, step_id, stage_code, chosen_channel, kind, urgent, planned_at, step_date,
    CASE WHEN stopped OR channel_reason IS NOT NULL OR moved_twice THEN %(suppressed)s
         WHEN nth > %(cap)s + 1 OR (nth > %(cap)s AND NOT urgent) THEN %(suppressed)s
         ELSE %(planned)s END,
    CASE WHEN stopped THEN %(claim)s
         WHEN channel_reason IS NOT NULL THEN channel_reason
         WHEN moved_twice THEN %(promised)s
         WHEN nth > %(cap)s + 1 OR (nth > %(cap)s AND NOT urgent) THEN %(capped)s
         WHEN nth > %(cap)s THEN %(over_cap_urgent)s
         WHEN moved THEN %(promised)s
         ELSE '' END,
    '', '', '', 0, '', now(), now()
FROM (SELECT ct.*, ct.moved AND EXISTS (  -- the promise's day after already has this policy's contact
          SELECT 1 FROM outreach_plannedcontact pc WHERE pc.policy_id = ct.policy_id AND pc.channel = ct.chosen_channel
          AND pc.planned_at = ct.planned_at AND pc.status {PlannedContact.PENDING_SQL_IN}) AS moved_twice
      FROM counted ct) final
ON CONFLICT (installment_id, step_id, channel) DO NOTHING
"""


def _window_params() -> dict:
    return {"tz": settings.OUTREACH_DEFAULT_TIME_ZONE, "quiet_start": settings.OUTREACH_QUIET_START,
            "quiet_end": settings.OUTREACH_QUIET_END}


def contacts_plan(*, due_sql: str, params: dict | None = None) -> int:
    """Plan the contacts of the due steps `due_sql` selects (DUE_COLUMNS, one row per policy,
    installment and step; `params` are its own). Runs in the caller's transaction (a chunk of the
    nightly pipeline). Returns the rows inserted, suppressed ones included."""
    from outreach.stops import contact_stops_sql

    sql = PLAN_SQL.format(due_sql=due_sql, stops_sql=contact_stops_sql())
    bound = {**(params or {}), **_window_params(), "cap": settings.OUTREACH_WEEKLY_CAP,
             "promise": "promise", "promised": Reason.PROMISED.value, "claim": Reason.CLAIM.value,
             "counted": [s.value for s in PlannedContact.COUNTED_STATUSES],
             "planned": Status.PLANNED.value, "suppressed": Status.SUPPRESSED.value,
             "opted_out": Reason.OPTED_OUT.value, "no_channel": Reason.NO_CHANNEL.value,
             "capped": Reason.CAPPED.value, "over_cap_urgent": Reason.OVER_CAP_URGENT.value}
    with connection.cursor() as cursor:
        cursor.execute(sql, bound)
        return cursor.rowcount


# the pending rows by policy (partial index planned_contact_pending) and by installment
# (planned_contact_once leads with it), then their installments (the planner picks key lookups for
# an event's few ids, one hashed pass for a statement's hundred thousand)
CANCEL_SQL = """
WITH target AS MATERIALIZED (
    SELECT pc.id, pc.installment_id FROM outreach_plannedcontact pc
    WHERE pc.policy_id = ANY(%(policy_ids)s::bigint[]) AND pc.status {pending_in}
    UNION
    SELECT pc.id, pc.installment_id FROM outreach_plannedcontact pc
    WHERE pc.installment_id = ANY(%(installment_ids)s::bigint[]) AND pc.status {pending_in}
),
chosen AS MATERIALIZED (
    SELECT t.id FROM target t JOIN billing_installment i ON i.id = t.installment_id WHERE {condition}
)
UPDATE outreach_plannedcontact pc SET status = %(cancelled)s, reason = %(reason)s, updated_at = now()
FROM chosen c
WHERE pc.id = c.id AND pc.status {pending_in}
"""


def contacts_cancel(*, reason: str, installment_ids: Iterable[int] = (), policy_ids: Iterable[int] = (),
                    only_closed_installments: bool = True) -> int:
    """Cancel the pending contacts (not yet handed to a gateway) of these installments and of every
    installment of these policies, set-based; by default only those whose installment is no longer
    open (paid, waived or cancelled). Idempotent; runs in the caller's transaction."""
    condition = "NOT (i.status = ANY(%(open)s))" if only_closed_installments else "true"
    with connection.cursor() as cursor:
        cursor.execute(CANCEL_SQL.format(condition=condition, pending_in=PlannedContact.PENDING_SQL_IN), {
            "cancelled": Status.CANCELLED.value, "reason": reason,
            "pending": [s.value for s in PlannedContact.PENDING_STATUSES],
            "installment_ids": id_array(set(installment_ids)), "policy_ids": id_array(set(policy_ids)),
            "open": list(Installment.OPEN_STATUSES)})
        return cursor.rowcount


def on_money_allocated(event) -> None:
    """Money reached installments (any source): their reminders not yet sent are pointless once
    the installment is paid. Same transaction as the allocation (core.events)."""
    # the policies' closed installments cover the event's installments (each belongs to one of
    # them): one index probe per policy instead of an OR of two id lists (bench/RESULTS.md part 7)
    if event.policy_ids:
        contacts_cancel(reason=Reason.PAID, policy_ids=event.policy_ids)
    else:
        contacts_cancel(reason=Reason.PAID, installment_ids=event.installment_ids)


# the moment a pending contact due by `until` would go (its planned time, or now if that is later),
# moved to the next window when it falls in the quiet hours
WINDOW_SQL = f"""
UPDATE outreach_plannedcontact pc SET status = %(waiting)s, planned_at = nx.next_at, updated_at = now()
FROM (
    SELECT e.id, {WINDOW_NEXT.format(ts="e.eff", tz="e.tz", wstart="e.wstart", wend="e.wend")} AS next_at, e.eff
    FROM (SELECT pc2.id, GREATEST(pc2.planned_at, %(until)s::timestamptz) AS eff, cw.*
          FROM outreach_plannedcontact pc2
          JOIN policies_policy p ON p.id = pc2.policy_id
          CROSS JOIN LATERAL (SELECT {WINDOW_COLUMNS} FROM (SELECT 1) one
                              LEFT JOIN outreach_contactwindow w ON w.customer_id = p.holder_id) cw
          WHERE pc2.status {PlannedContact.PENDING_SQL_IN} AND pc2.planned_at <= %(until)s AND {{ids}}) e
) nx
WHERE pc.id = nx.id AND nx.next_at <> nx.eff
"""


def contacts_window_apply(*, until: dt.datetime, ids: Iterable[int] | None = None) -> int:
    """Pending contacts due by `until` (now) that would go in the customer's quiet hours wait for
    the next window (status waiting_window, planned time moved to it: due at 22:30, or due at 20:00
    and still pending at 22:30 -> 08:00 the next day). The dispatcher calls it before claiming."""
    if until.tzinfo is None:
        raise TypeError("until must be aware")
    ids_sql = "pc2.id = ANY(%(ids)s)" if ids is not None else "true"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(WINDOW_SQL.format(ids=ids_sql), {
            **_window_params(), "waiting": Status.WAITING_WINDOW.value, "until": until,
            "pending": [s.value for s in PlannedContact.PENDING_STATUSES], "ids": list(ids or [])})
        return cursor.rowcount
