"""The cases' nightly refresh, set-based per chunk of policy ids (a step of the night, registered
after collection_steps in RenewalsConfig.ready()), and the close on the money event.

1. Cases whose reason is gone close themselves, with the reason in their history: the money came
   (nothing owed up to the business date), the policy lapsed (a case opened before the lapse),
   was deferred, ended, or owes no premium any more; an application's case when it was decided.
2. Applications awaiting someone get their linked case.
3. Each open case goes to the renewal team of its policy's nearest branch.
4. Deadline: the end of grace of the oldest unpaid installment minus the case type's margin in
   working days (an application's: its applied date plus the hand-off SLA); priority: a score with
   its parts (see PRIORITY_SQL).
5. A deadline passed escalates the case (once) and assigns it to its team's lead.

The working calendar is read in Python once per chunk into a small day table (the calendar's
rule is written once, in renewals.services.calendar); the cases are updated by SQL joined to it.
"""

import datetime as dt

from django.db import connection, transaction

from audit.services import audit_context
from billing.models import Installment
from core.copy import id_array
from policies import lifecycle
from policies.models import PolicyStatus
from renewals.models import CASE_ON_CONFLICT, Application, Case, WorkTeam
from renewals.services.calendar import deadline_margin, handoff_sla_days, working_calendar

OPEN_APPLICATION = [Application.Status.SUBMITTED.value, Application.Status.REFERRED.value,
                    Application.Status.ACCEPTED.value, Application.Status.APPROVED.value]

# why a case is no longer needed (NULL: it still is); one reason per case, the first that holds
GONE_SQL = """
SELECT c.id, c.status AS from_status,
  CASE
    WHEN c.type = 'application' THEN
      CASE WHEN NOT EXISTS (SELECT 1 FROM renewals_application a WHERE a.policy_id = c.policy_id
                            AND a.status = ANY(%(open_applications)s)) THEN 'application_decided' END
    WHEN p.status = ANY(%(ended)s) AND NOT (c.type = ANY(%(many)s)) THEN 'policy_ended'
    WHEN NOT (c.type = ANY(%(collection)s)) THEN NULL
    WHEN p.status = ANY(%(no_premium)s) THEN 'no_premium_due'
    WHEN p.status = %(deferred)s THEN 'policy_deferred'
    WHEN p.status = %(lapsed)s AND c.opened_on < p.lapse_date THEN 'policy_lapsed'
    WHEN p.status = %(in_force)s AND NOT EXISTS (
        SELECT 1 FROM billing_installment i WHERE i.policy_id = c.policy_id
        AND i.status = ANY(%(open_installment)s) AND i.due_date <= %(as_of)s) THEN 'paid'
  END AS reason
FROM renewals_case c JOIN policies_policy p ON p.id = c.policy_id
WHERE c.status = ANY(%(open)s) AND {where}
"""

CLOSE_SQL = f"""
WITH gone AS ({GONE_SQL}),
closed AS (
    UPDATE renewals_case c SET status = %(resolved)s, outcome = g.reason, resolved_at = now(), updated_at = now(),
        claimed_by_id = NULL, claimed_at = NULL, next_action_on = NULL
    FROM gone g WHERE c.id = g.id AND g.reason IS NOT NULL
    RETURNING c.id, g.from_status, g.reason
)
INSERT INTO renewals_casehistory (case_id, kind, from_status, to_status, reason, details, created_at)
SELECT id, 'closed', from_status, %(resolved)s, reason, jsonb_build_object('source', %(source)s::text), now()
FROM closed
"""

APPLICATION_CASES_SQL = f"""
WITH opened AS (
    INSERT INTO renewals_case (policy_id, type, status, outcome, escalation, priority, priority_parts, application_id,
                               question, answer, category, opened_on, created_at, updated_at)
    SELECT DISTINCT ON (a.policy_id) a.policy_id, 'application', %(open_status)s, '', 0, 0, '{{}}'::jsonb, a.id,
           '', '', '', %(as_of)s, now(), now()
    FROM renewals_application a
    WHERE a.policy_id BETWEEN %(lo)s AND %(hi)s AND a.status = ANY(%(open_applications)s)
    ORDER BY a.policy_id, a.id
    {CASE_ON_CONFLICT} DO NOTHING
    RETURNING id
)
INSERT INTO renewals_casehistory (case_id, kind, from_status, to_status, reason, details, created_at)
SELECT id, 'opened', '', %(open_status)s, 'application awaiting a decision', '{{}}'::jsonb, now() FROM opened
"""

# the renewal team of the policy's nearest branch (the longest branch path that covers it)
ROUTE_SQL = """
UPDATE renewals_case c SET team_id = t.id
FROM policies_policy p JOIN policies_branch pb ON pb.id = p.branch_id
CROSS JOIN LATERAL (
    SELECT wt.id FROM renewals_workteam wt
    JOIN renewals_workteam_branches tb ON tb.workteam_id = wt.id
    JOIN policies_branch b ON b.id = tb.branch_id
    WHERE wt.kind = %(renewal)s AND pb.path LIKE b.path || '%%'
    ORDER BY length(b.path) DESC, wt.id LIMIT 1) t
WHERE c.policy_id = p.id AND c.policy_id BETWEEN %(lo)s AND %(hi)s AND c.status = ANY(%(open)s)
  AND c.team_id IS NULL AND NOT (c.type = ANY(%(many)s))
"""

# the day table: for each date, the deadline of a grace ending then (per margin), the working days
# from the business date to it, the date an SLA started then ends
DAYS_TABLE_SQL = """
CREATE TEMP TABLE wb_days (day date, margin int, deadline date, days_left int, sla_end date,
                           PRIMARY KEY (day, margin)) ON COMMIT DROP
"""

# Priority = the sum of its parts (documented in README): a heuristic until risk's lapse score.
#   deadline: 60 when breached, else 50 - 5 per working day left (0 from 10 days on)
#   amount:   1 per 200 CNY owed up to the end of grace, at most 30
#   policies: 3 per other live policy of the customer, at most 9
#   risk:     the scoring app's lapse-risk score x 20 when the policy has one (scoring_policyscore,
#             0..1), else the heuristic: 5 per unpaid installment after the first (at most 15), +5
#             when the recorded overdue reason is financial difficulty or considering surrender
#   reason:   the case type's weight (REASON_WEIGHTS); escalation: 10 per plan escalation level
RISK_HEURISTIC = """(LEAST(15, 5 * GREATEST(0, s.unpaid_count - 1))
         + CASE WHEN s.overdue_reason = ANY(%(risky_reasons)s) AND s.overdue_reason_on >= s.due_date THEN 5 ELSE 0 END
        )::int"""
RISK_SCORED = f"""COALESCE((SELECT round(ps.score * 20)::int FROM scoring_policyscore ps
                            WHERE ps.policy_id = s.policy_id), {RISK_HEURISTIC})"""
PRIORITY_SQL = """
WITH facts AS (
    SELECT c.id, c.policy_id, c.type, c.escalation, c.opened_on, c.deadline AS old_deadline,
        o.grace_end, p.overdue_reason, p.overdue_reason_on, o.due_date,
        (SELECT count(*) FROM policies_policy q WHERE q.holder_id = p.holder_id AND q.id <> p.id
            AND q.status = ANY(%(live)s)) AS other_policies,
        (SELECT COALESCE(sum(x.amount_due - x.amount_paid), 0) FROM billing_installment x
            WHERE x.policy_id = c.policy_id AND x.status = ANY(%(open_installment)s)
              AND x.due_date <= COALESCE(o.grace_end, %(as_of)s)) AS at_stake,
        (SELECT count(*) FROM billing_installment x WHERE x.policy_id = c.policy_id
            AND x.status = ANY(%(open_installment)s) AND x.due_date <= %(as_of)s) AS unpaid_count
    FROM renewals_case c JOIN policies_policy p ON p.id = c.policy_id
    LEFT JOIN LATERAL (SELECT i.grace_end, i.due_date FROM billing_installment i
                       WHERE i.policy_id = c.policy_id AND i.status = ANY(%(open_installment)s)
                         AND i.due_date <= %(as_of)s ORDER BY i.sequence LIMIT 1) o ON p.status = %(in_force)s
    WHERE c.policy_id BETWEEN %(lo)s AND %(hi)s AND c.status = ANY(%(open)s) AND NOT (c.type = ANY(%(many)s))
),
dated AS (
    SELECT f.*,
        CASE WHEN f.type = 'application' THEN (SELECT s.sla_end FROM wb_days s WHERE s.day = f.opened_on LIMIT 1)
             ELSE (SELECT d.deadline FROM wb_days d WHERE d.day = f.grace_end
                   AND d.margin = COALESCE((%(margins)s::jsonb ->> f.type)::int, 2)) END AS deadline
    FROM facts f
),
scored AS (
    SELECT d.*, (SELECT w.days_left FROM wb_days w WHERE w.day = d.deadline LIMIT 1) AS days_left FROM dated d
),
parts AS (
    SELECT s.id, s.deadline, s.days_left,
        CASE WHEN s.deadline IS NULL THEN 0 WHEN s.days_left < 0 THEN 60 ELSE GREATEST(0, 50 - 5 * s.days_left) END
            AS p_deadline,
        LEAST(30, floor(s.at_stake / 200))::int AS p_amount,
        LEAST(9, 3 * s.other_policies)::int AS p_policies,
        {risk} AS p_risk,
        COALESCE((%(weights)s::jsonb ->> s.type)::int, 0) AS p_reason,
        10 * s.escalation AS p_escalation,
        s.at_stake
    FROM scored s
)
UPDATE renewals_case c SET
    deadline = parts.deadline,
    priority = parts.p_deadline + parts.p_amount + parts.p_policies + parts.p_risk + parts.p_reason
               + parts.p_escalation,
    priority_parts = jsonb_build_object('deadline', parts.p_deadline, 'days_left', parts.days_left,
        'amount', parts.p_amount, 'at_stake', parts.at_stake::text, 'policies', parts.p_policies,
        'risk', parts.p_risk, 'reason', parts.p_reason, 'escalation', parts.p_escalation)
FROM parts WHERE c.id = parts.id
"""

REASON_WEIGHTS = {"failed_debit": 12, "promise_follow_up": 12, "overdue_follow_up": 8, "application": 6,
                  "contact_repair": 5}

# a deadline passed: escalated once and assigned to the team lead (issue 14: "a breach escalates to
# the team lead"), the claim of whoever held it ended; a case of no team (or a team with no lead)
# stays where it is, escalated. A case waiting for a customer keeps its status (the customer's
# answer is awaited) but goes to the lead all the same.
BREACH_SQL = """
WITH breached AS (
    UPDATE renewals_case c SET breached_on = %(as_of)s,
        status = CASE WHEN c.status = %(waiting)s THEN c.status ELSE %(escalated)s END,
        assignee_id = COALESCE(t.lead_id, c.assignee_id),
        claimed_by_id = CASE WHEN t.lead_id IS NULL THEN c.claimed_by_id END,
        claimed_at = CASE WHEN t.lead_id IS NULL THEN c.claimed_at END,
        updated_at = now()
    FROM renewals_case old
    LEFT JOIN renewals_workteam wt ON wt.id = old.team_id
    LEFT JOIN accounts_team t ON t.id = wt.team_id
    WHERE old.id = c.id AND c.policy_id BETWEEN %(lo)s AND %(hi)s AND c.status = ANY(%(open)s)
      AND c.deadline < %(as_of)s AND c.breached_on IS NULL
    RETURNING c.id, old.status AS from_status, c.status AS to_status, old.assignee_id AS before, t.lead_id AS lead
)
INSERT INTO renewals_casehistory (case_id, kind, from_status, to_status, reason, details, created_at)
SELECT id, 'escalated', from_status, to_status,
       CASE WHEN lead IS NULL THEN 'deadline passed' ELSE 'deadline passed: assigned to the team lead' END,
       jsonb_build_object('before', before, 'lead', lead), now() FROM breached
"""


def _params(as_of: dt.date) -> dict:
    return {
        "as_of": as_of, "open": list(Case.OPEN_STATUSES), "many": list(Case.MANY_TYPES),
        "collection": list(Case.COLLECTION_TYPES), "ended": lifecycle.sql_values(lifecycle.ENDED),
        "no_premium": [PolicyStatus.PAID_UP.value, PolicyStatus.REDUCED_PAID_UP.value],
        "deferred": PolicyStatus.DEFERRED.value, "lapsed": PolicyStatus.LAPSED.value,
        "in_force": PolicyStatus.IN_FORCE.value, "open_installment": list(Installment.OPEN_STATUSES),
        "open_applications": OPEN_APPLICATION, "resolved": Case.Status.RESOLVED.value,
    }


def cases_close_gone(*, as_of: dt.date, policy_ids=None, id_from: int | None = None, id_to: int | None = None,
                     source: str = "nightly") -> int:
    """Close the open cases whose reason is gone, of these policies (or of an id range)."""
    params = {**_params(as_of), "source": source}
    if policy_ids is not None:
        where, params["ids"] = "c.policy_id = ANY(%(ids)s::bigint[])", id_array(policy_ids)
    else:
        where, params["lo"], params["hi"] = "c.policy_id BETWEEN %(lo)s AND %(hi)s", id_from, id_to
    with audit_context(rule="case_close", reason="the case's reason is gone"), connection.cursor() as cursor:
        cursor.execute(CLOSE_SQL.format(where=where), params)
        return cursor.rowcount


def _days_table(cursor, as_of: dt.date) -> None:
    import json

    calendar = working_calendar(around=as_of, before_days=460, after_days=460)
    margins = sorted({deadline_margin(t) for t in Case.Type.values})
    sla = handoff_sla_days()
    # working days by index: the k-th day's count of working days up to it (prefix sums), so each
    # answer below is a lookup, not a walk
    start = as_of - dt.timedelta(days=450)
    days = [start + dt.timedelta(days=k) for k in range(900)]
    working = [d for d in days if calendar.is_working(d)]
    count_to, seen = [], 0
    for d in days:
        seen += calendar.is_working(d)
        count_to.append(seen)
    today = count_to[(as_of - start).days]
    rows = []
    for k in range(25, 875):
        day = days[k]
        before = count_to[k - 1]  # working days strictly before `day`
        days_left = count_to[k] - today
        sla_end = working[count_to[k] + sla - 1] if count_to[k] + sla - 1 < len(working) else None
        for margin in margins:
            deadline = working[before - margin] if margin > 0 and before - margin >= 0 else day
            rows.append((day, margin, deadline, days_left, sla_end))
    cursor.execute("DROP TABLE IF EXISTS wb_days")
    cursor.execute(DAYS_TABLE_SQL)
    # one statement for the whole table (executemany is a round trip per row)
    cursor.execute("INSERT INTO wb_days SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r(day date, margin int, "
                   "deadline date, days_left int, sla_end date)",
                   [json.dumps([{"day": d.isoformat(), "margin": m, "deadline": dl.isoformat(), "days_left": left,
                                 "sla_end": s and s.isoformat()} for d, m, dl, left, s in rows])])


def cases_refresh(as_of: dt.date, id_from: int, id_to: int) -> int:
    """The nightly step (chunked by policy id): close, open application cases, route, date and
    score, escalate breaches. Idempotent for its date."""
    import json

    rows = 0
    params = {**_params(as_of), "lo": id_from, "hi": id_to, "source": "nightly",
              "open_status": Case.Status.OPEN.value, "renewal": WorkTeam.Kind.RENEWAL.value,
              "live": lifecycle.sql_values(lifecycle.LIVE),
              "risky_reasons": ["financial_difficulty", "considering_surrender"],
              "margins": json.dumps({t: deadline_margin(t) for t in Case.Type.values}),
              "weights": json.dumps(REASON_WEIGHTS),
              "waiting": Case.Status.WAITING.value, "escalated": Case.Status.ESCALATED.value}
    with transaction.atomic(), audit_context(rule="case_refresh", reason="nightly case refresh"), \
            connection.cursor() as cursor:
        cursor.execute(CLOSE_SQL.format(where="c.policy_id BETWEEN %(lo)s AND %(hi)s"), params)
        rows += cursor.rowcount
        cursor.execute(APPLICATION_CASES_SQL, params)
        rows += cursor.rowcount
        cursor.execute(ROUTE_SQL, params)
        _days_table(cursor, as_of)
        cursor.execute("SELECT to_regclass('scoring_policyscore') IS NOT NULL")
        scored = cursor.fetchone()[0]
        cursor.execute(PRIORITY_SQL.replace("{risk}", RISK_SCORED if scored else RISK_HEURISTIC), params)
        rows += cursor.rowcount
        cursor.execute(BREACH_SQL, params)
        cursor.execute("DROP TABLE wb_days")
    return rows
