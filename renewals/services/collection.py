"""Collection plans at night: the steps that fall due, set-based per chunk of policies.

T is the due date of the policy's oldest unpaid installment and G the end of its grace, so a
payment that moves the oldest unpaid installment re-anchors every later step; R is the policy's
lapse date (the reinstatement invitation, R+1), for lapsed policies inside their reinstatement
window. A step runs when its date falls after the previous run's business date and on or before
this one (a missed night is caught up; a step dated inside a hold is not replayed: holds come with
a later change).
"""

import datetime as dt
from typing import Any

from django.db import connection, transaction

from billing.models import Installment
from outreach.services.planning import contacts_plan
from policies.models import PolicyStatus
from renewals.models import CASE_ON_CONFLICT, Case, NightlyRun, PlanStep
from renewals.services.holds import SUSPENSION_PARAMS, SUSPENSIONS_SQL, suspended_policy_ids
from scoring.models import PolicyScore

# the date a step falls on for a policy: T, G or R plus its offset; a daily step (debit retries by
# failure reason) every night
STEP_DATE = ("CASE st.anchor WHEN %(anchor_due)s THEN {t} + st.offset_days "
             "WHEN %(anchor_grace)s THEN {g} + st.offset_days WHEN %(anchor_lapse)s THEN {r} + st.offset_days "
             "ELSE %(as_of)s END")

# one row per (policy, step) falling due in the window, with the policy's situation
DUE_STEPS = f"""
WITH susp AS MATERIALIZED ({SUSPENSIONS_SQL}),  -- once per chunk, not once per step falling due
oldest AS (
    SELECT o.policy_id, o.installment_id, o.t, o.g, p.lapse_date AS r
    FROM policies_policy p
    CROSS JOIN LATERAL (SELECT i.policy_id, i.id AS installment_id, i.due_date AS t, i.grace_end AS g
                        FROM billing_installment i WHERE i.policy_id = p.id AND i.status = ANY(%(open)s)
                        ORDER BY i.sequence LIMIT 1) o
    WHERE p.id BETWEEN %(lo)s AND %(hi)s AND p.status = ANY(%(collecting)s)
),
-- only the policies some active step can fall due for tonight, found by their anchor dates (a step
-- of offset n anchored on T falls in the window (previous, as_of] when T is in (previous - n,
-- as_of - n]: t_dates holds those dates of every active step, g_dates and r_dates the same for G
-- and R; anchor_dates), and for a daily step the policies whose installment has a debit line (or
-- all, when a daily step asks for no failure reason): the situation below is looked up for these
-- only (materialized: computed first). A filter, not the rule: the SELECT below applies each step's own
-- conditions (plan, payment method, lapse risk, holds, status). Tested against every step for each
-- policy instead, the chunk's 28,000 policies times 20 steps cost half the step (bench/RESULTS.md
-- part 21).
candidate AS MATERIALIZED (
    SELECT o.* FROM oldest o
    WHERE o.t = ANY(%(t_dates)s::date[]) OR o.g = ANY(%(g_dates)s::date[]) OR o.r = ANY(%(r_dates)s::date[])
       OR %(daily_all)s
       OR (%(daily_debit)s AND EXISTS (SELECT 1 FROM billing_debitline d WHERE d.installment_id = o.installment_id))
),
situation AS MATERIALIZED (
    SELECT o.*, p.status, p.payment_method, p.holder_id, p.product_id, p.segment,
        -- the last day a reinstatement may be applied for (lapse date + the product's window - 1 day)
        -- (a scalar look-up, not a join: the CTE's plan and the order of its rows stay as they were)
        (o.r + make_interval(years => (SELECT pr.reinstatement_years FROM policies_product pr
                                        WHERE pr.id = p.product_id)))::date - 1 AS window_end,
        CASE WHEN p.overdue_reason_on >= o.t THEN p.overdue_reason ELSE '' END AS overdue_reason,
        COALESCE(pp.plan_id, (SELECT cp.collectionplan_id FROM renewals_collectionplan_products cp
                              JOIN renewals_collectionplan c ON c.id = cp.collectionplan_id AND c.active
                              WHERE cp.product_id = p.product_id ORDER BY c.id LIMIT 1),
                 (SELECT id FROM renewals_collectionplan WHERE is_default AND active LIMIT 1)) AS plan_id,
        u.unpaid_count, u.unpaid_amount,
        (SELECT d.reason FROM billing_debitline d WHERE d.installment_id = o.installment_id
            ORDER BY d.id DESC LIMIT 1) AS last_debit_reason,
        -- the lapse-risk score the scoring step wrote (the approved model's, earlier in the night);
        -- NULL for a policy without one, which no min_lapse_risk threshold lets through
        (SELECT ps.score FROM {PolicyScore._meta.db_table} ps WHERE ps.policy_id = o.policy_id) AS lapse_risk
    FROM candidate o JOIN policies_policy p ON p.id = o.policy_id
    LEFT JOIN renewals_policyplan pp ON pp.policy_id = o.policy_id
    -- what the policy owes today, in one pass over its installments
    CROSS JOIN LATERAL (SELECT count(*) AS unpaid_count, COALESCE(sum(x.amount_due - x.amount_paid), 0) AS unpaid_amount
                        FROM billing_installment x WHERE x.policy_id = o.policy_id AND x.status = ANY(%(open)s)
                          AND x.due_date <= %(as_of)s) u
)
SELECT s.policy_id, s.installment_id, s.holder_id, st.id AS step_id, st.action, st.channel, st.case_type,
       st.urgent, st.escalation, sd.step_date
FROM situation s
JOIN renewals_planstep st ON st.plan_id = s.plan_id AND st.active
CROSS JOIN LATERAL (SELECT {STEP_DATE.format(t="s.t", g="s.g", r="s.r")} AS step_date) sd
WHERE (st.payment_method = '' OR st.payment_method = s.payment_method)
  AND (st.debit_failure_reasons = '' OR s.last_debit_reason = ANY(string_to_array(st.debit_failure_reasons, ',')))
  AND (st.segments = '' OR s.segment = ANY(string_to_array(replace(st.segments, ' ', ''), ',')))
  AND (st.overdue_reasons = '' OR s.overdue_reason = ANY(string_to_array(replace(st.overdue_reasons, ' ', ''), ',')))
  AND s.unpaid_count >= st.min_unpaid_count AND s.unpaid_amount >= st.min_amount
  AND (st.min_lapse_risk IS NULL OR s.lapse_risk >= st.min_lapse_risk)
  AND sd.step_date > %(previous)s AND sd.step_date <= %(as_of)s
  -- a step dated inside a hold or moratorium is skipped, and not replayed when it ends
  AND NOT EXISTS (SELECT 1 FROM susp WHERE susp.policy_id = s.policy_id
                  AND sd.step_date BETWEEN susp.start AND susp."end")
  -- steps up to the end of grace are for policies in force; after it, for the lapsed; steps dated
  -- from the lapse, for the lapsed inside their reinstatement window
  AND ((s.status = %(in_force)s AND st.anchor <> %(anchor_lapse)s
        AND NOT (st.anchor = %(anchor_grace)s AND st.offset_days > 0))
       OR (s.status = %(lapsed)s AND st.anchor = %(anchor_grace)s AND st.offset_days > 0)
       OR (s.status = %(lapsed)s AND st.anchor = %(anchor_lapse)s AND sd.step_date <= s.window_end))
"""

# the chunk's due steps are computed once (DUE_STEPS is the expensive part) and read by the
# statements below
DUE_TABLE_SQL = f"CREATE TEMP TABLE collection_due ON COMMIT DROP AS {DUE_STEPS}"

# the chunk's reminders and robot calls, handed to outreach as one SELECT (outreach.services.planning
# .DUE_COLUMNS): outreach chooses the channel, the time and whether to send at all
CONTACTS_SQL = """
SELECT d.policy_id, d.installment_id, d.holder_id, d.step_id, st.code AS stage_code, d.action AS kind, d.channel,
       d.urgent, d.step_date
FROM collection_due d JOIN renewals_planstep st ON st.id = d.step_id
WHERE d.action = ANY(%(contact_actions)s)
"""

# one open case per policy and type (the workbench's partial unique index, CASE_ON_CONFLICT);
# the plan step's escalation level is the case's escalation, its priority score is the nightly
# case refresh's (renewals.services.case_refresh)
CASES_SQL = f"""
WITH due AS (SELECT * FROM collection_due),
opened AS (
    INSERT INTO renewals_case (policy_id, type, status, outcome, escalation, priority, priority_parts,
                               opened_by_step_id, question, answer, category, opened_on, created_at, updated_at)
    SELECT DISTINCT ON (policy_id, case_type) policy_id, case_type, %(case_open)s, '', escalation, 0, '{{}}'::jsonb,
           step_id, '', '', '', step_date, now(), now()
    FROM due WHERE action = %(open_case)s AND case_type <> ''
    ORDER BY policy_id, case_type, step_date
    {CASE_ON_CONFLICT} DO NOTHING
    RETURNING id, opened_by_step_id
)
INSERT INTO renewals_casehistory (case_id, kind, from_status, to_status, reason, details, created_at)
SELECT id, 'opened', '', %(case_open)s, 'collection plan step', jsonb_build_object('step', opened_by_step_id), now()
FROM opened
"""

# urgent steps raise the escalation level of the overdue case
ESCALATE_SQL = """
WITH due AS (SELECT * FROM collection_due)
UPDATE renewals_case c SET escalation = d.escalation
FROM (SELECT policy_id, max(escalation) AS escalation FROM due WHERE escalation > 0 GROUP BY policy_id) d
WHERE c.policy_id = d.policy_id AND c.status = ANY(%(case_open_statuses)s) AND c.type = %(overdue_type)s
  AND c.escalation < d.escalation
"""


def previous_night(as_of: dt.date) -> dt.date | None:
    """The business date of the latest finished night before as_of, if any."""
    return (NightlyRun.objects.filter(status=NightlyRun.Status.FINISHED, as_of__lt=as_of)
            .order_by("-as_of").values_list("as_of", flat=True).first())


def previous_business_date(as_of: dt.date) -> dt.date:
    return previous_night(as_of) or as_of - dt.timedelta(days=1)


def anchor_dates(*, as_of: dt.date, previous: dt.date) -> dict[str, Any]:
    """DUE_STEPS' candidate filter: per anchor, the anchor dates on which some active step falls in
    the window (previous, as_of], and whether a daily step wants every policy or those with a debit
    line."""
    window = [as_of - dt.timedelta(days=n) for n in range((as_of - previous).days)]
    dates: dict[str, set[dt.date]] = {PlanStep.Anchor.DUE: set(), PlanStep.Anchor.GRACE_END: set(),
                                      PlanStep.Anchor.LAPSE: set()}
    daily_all = daily_debit = False
    for anchor, offset, reasons in PlanStep.objects.filter(active=True).values_list(
            "anchor", "offset_days", "debit_failure_reasons"):
        if anchor in dates:
            dates[anchor] |= {day - dt.timedelta(days=offset) for day in window}
        elif reasons:
            daily_debit = True
        else:
            daily_all = True
    return {"t_dates": sorted(dates[PlanStep.Anchor.DUE]), "g_dates": sorted(dates[PlanStep.Anchor.GRACE_END]),
            "r_dates": sorted(dates[PlanStep.Anchor.LAPSE]), "daily_all": daily_all, "daily_debit": daily_debit}


def collection_steps(as_of: dt.date, id_from: int, id_to: int) -> int:
    previous = previous_business_date(as_of)
    params: dict[str, Any] = {**SUSPENSION_PARAMS, **anchor_dates(as_of=as_of, previous=previous),
                              "as_of": as_of, "previous": previous,
                              "lo": id_from, "hi": id_to, "open": list(Installment.OPEN_STATUSES),
                              "collecting": [PolicyStatus.IN_FORCE.value, PolicyStatus.LAPSED.value],
                              "in_force": PolicyStatus.IN_FORCE.value, "lapsed": PolicyStatus.LAPSED.value,
                              "anchor_due": PlanStep.Anchor.DUE.value, "anchor_grace": PlanStep.Anchor.GRACE_END.value,
                              "anchor_lapse": PlanStep.Anchor.LAPSE.value}
    rows = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS collection_due")
        cursor.execute(DUE_TABLE_SQL, params)
        cursor.execute("ANALYZE collection_due")
        rows += contacts_plan(due_sql=CONTACTS_SQL, params={
            "contact_actions": [PlanStep.Action.REMINDER.value, PlanStep.Action.ROBOT_CALL.value]})
        case_params: dict[str, Any] = {"case_open": Case.Status.OPEN.value, "open_case": PlanStep.Action.OPEN_CASE.value,
                       "case_open_statuses": list(Case.OPEN_STATUSES), "overdue_type": Case.Type.OVERDUE.value}
        for statement in (CASES_SQL, ESCALATE_SQL):
            cursor.execute(statement, case_params)
            rows += cursor.rowcount
        cursor.execute("DROP TABLE collection_due")
    return rows


def debit_retry_days(as_of: dt.date) -> list[int]:
    """The default plan's retry offsets for insufficient funds (T+3, T+10, T+20 as shipped)."""
    from renewals.models import PlanStep

    return sorted(set(PlanStep.objects.filter(plan__is_default=True, action="debit", active=True,
                                              debit_failure_reasons__contains="insufficient_funds", offset_days__gt=0)
                      .values_list("offset_days", flat=True)))


def debits(as_of: dt.date, id_from: int, id_to: int) -> int:
    """The night's auto-debit batch: installments due today and today's retries."""
    from billing.services.debits import debit_batch_create

    batch = debit_batch_create(collection_date=as_of, retry_days=debit_retry_days(as_of),
                               excluded_policy_ids=suspended_policy_ids(on=as_of))
    if batch.line_count == 0:  # nothing to collect tonight: no empty batch for finance to look at
        batch.delete()
    return batch.line_count
