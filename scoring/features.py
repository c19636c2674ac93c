"""The lapse-risk model's features: raw facts per policy on a date, read in SQL from dated facts
only, then turned into the model's columns in numpy.

Dated facts only, so that a model trained on the past saw what the night would have seen then:
money by its value date (an installment is paid by D when the money that completed it was valued
on or before D; partial money by its allocations' value dates), debit results by their batch's
collection date, statuses by the status history (what we know now: a reversed lapse is void),
reminders by their step date, a clerk's contacts by when they happened, holds by their period.

Personal data (PIPL): the holder's age enters as a band (under 30, 30-44, 45-59, 60 and over),
derived from the birth date on the scoring date; the birth date itself, the gender, the name, the
ID number, the phone and the bank account are never read.
"""

import datetime as dt

import numpy as np
from django.db import connection

from billing.models import DebitLine, Installment
from policies.models import PolicyStatus

HORIZON_DAYS = 90
METHODS = ["auto_debit", "bank_transfer", "online", "counter"]
KINDS = ["life", "critical_illness", "health", "annuity", "accident"]
HARD_REASONS = ["account_frozen", "account_closed", "invalid_account", "name_mismatch"]
CONTACT_NEGATIVE = ["no_answer", "wrong_number", "refused"]
CONTACT_PROMISED = ["promised"]
REMINDER_FAILED = ["failed", "bounced"]
HOLD_APPROVED = "approved"  # renewals.models.ApprovalStatus.APPROVED (renewals is right of scoring)
# status values reach the SQL as bound parameters, from the TextChoices that define them
STATUS_PARAMS: dict[str, str | list[str]] = {
    "in_force": PolicyStatus.IN_FORCE.value, "lapsed": PolicyStatus.LAPSED.value,
    "debit_failed": DebitLine.Status.FAILED.value, "insufficient_funds": DebitLine.Reason.INSUFFICIENT_FUNDS.value,
    "void_statuses": [Installment.Status.WAIVED.value, Installment.Status.CANCELLED.value],
    "hold_approved": HOLD_APPROVED,
}

# the raw facts of one policy on a date, in the order of the SQL's columns after policy_id (and of
# simulation.lapse_panel's synthetic rows): all numbers
RAW_COLUMNS = [
    "age",  # whole years on the date, -1 when the birth date is unknown
    "method",  # 1-based position in METHODS
    "kind",  # 1-based position in KINDS
    "per_year",  # installments a year
    "annual_premium",
    "tenure_days",
    "days_overdue",  # since the due date of the oldest installment not paid by the date
    "partial_open",  # that installment has money on it
    "open_in_window",  # installments not paid by the date whose grace ends in the next 90 days
    "due_12m",  # installments due in the year before the date
    "late_12m",  # of those, completed more than 3 days after their due date
    "debit_soft_90d",  # failed debits (insufficient funds) in the 90 days before the date
    "debit_hard_last",  # the latest debit failed for an account reason (frozen, closed, invalid, name)
    "debit_failed_last",  # the latest debit failed, whatever the reason
    "hold_active",
    "contact_negative_90d",  # a clerk's calls: no answer, wrong number, refused
    "contact_promised_90d",
    "reminder_failed_90d",  # reminders that failed or bounced
]

FEATURES_SQL = """
WITH pol AS (
    -- the holder's birth date by the customer's primary key, one probe per policy of the chunk (a
    -- join let the planner hash every customer of the portfolio for each chunk)
    SELECT p.id, p.issue_date, p.payment_method, p.frequency, p.modal_premium, pr.kind,
           (SELECT c.birth_date FROM policies_customer c WHERE c.id = p.holder_id) AS birth_date
    FROM policies_policy p
    JOIN policies_product pr ON pr.id = p.product_id
    WHERE p.id BETWEEN %(lo)s AND %(hi)s AND p.issue_date <= %(as_of)s {eligible}
),
inst AS (
    SELECT i.policy_id, i.id, i.due_date, i.grace_end,
           (i.paid_value_date IS NOT NULL AND i.paid_value_date <= %(as_of)s) AS paid_by,
           i.paid_value_date
    FROM billing_installment i
    -- the chunk's installments by the (policy, sequence) index; "+ 0" keeps the due-date index out
    -- (ANDed with it, the planner read 15 months of the whole portfolio's due dates per chunk)
    WHERE i.policy_id BETWEEN %(lo)s AND %(hi)s AND i.status <> ALL(%(void_statuses)s)
      AND i.due_date + 0 > %(as_of)s::date - 366 AND i.due_date + 0 <= %(as_of)s::date + %(horizon)s
),
oldest AS (
    SELECT DISTINCT ON (policy_id) policy_id, id, due_date
    FROM inst WHERE due_date < %(as_of)s AND NOT paid_by
    ORDER BY policy_id, due_date
),
agg AS (
    SELECT policy_id,
           count(*) FILTER (WHERE NOT paid_by AND grace_end >= %(as_of)s
                            AND grace_end < %(as_of)s::date + %(horizon)s) AS open_in_window,
           count(*) FILTER (WHERE due_date < %(as_of)s) AS due_12m,
           count(*) FILTER (WHERE paid_by AND paid_value_date > due_date + 3) AS late_12m
    FROM inst GROUP BY policy_id
),
debits AS (
    SELECT d.policy_id,
           count(*) FILTER (WHERE d.status = %(debit_failed)s AND d.reason = %(insufficient_funds)s
                            AND b.collection_date >= %(as_of)s::date - 90) AS soft,
           (array_agg(CASE WHEN d.status = %(debit_failed)s AND d.reason = ANY(%(hard)s) THEN 1 ELSE 0 END
                      ORDER BY b.collection_date DESC, d.id DESC))[1] AS hard_last,
           (array_agg(CASE WHEN d.status = %(debit_failed)s THEN 1 ELSE 0 END
                      ORDER BY b.collection_date DESC, d.id DESC))[1] AS failed_last
    FROM billing_debitline d JOIN billing_debitbatch b ON b.id = d.batch_id
    WHERE d.policy_id BETWEEN %(lo)s AND %(hi)s AND b.collection_date < %(as_of)s
      AND b.collection_date >= %(as_of)s::date - 366
    GROUP BY d.policy_id
)
SELECT pol.id AS policy_id,
       COALESCE(date_part('year', age(%(as_of)s::date, pol.birth_date)), -1) AS age,
       COALESCE(array_position(%(methods)s, pol.payment_method::text), 1) AS method,
       COALESCE(array_position(%(kinds)s, pol.kind::text), 1) AS kind,
       CASE pol.frequency WHEN 'monthly' THEN 12 WHEN 'quarterly' THEN 4 WHEN 'semiannual' THEN 2 ELSE 1 END AS per_year,
       pol.modal_premium * CASE pol.frequency WHEN 'monthly' THEN 12 WHEN 'quarterly' THEN 4
                                              WHEN 'semiannual' THEN 2 ELSE 1 END AS annual_premium,
       %(as_of)s::date - pol.issue_date AS tenure_days,
       COALESCE(%(as_of)s::date - o.due_date, 0) AS days_overdue,
       CASE WHEN o.id IS NOT NULL AND EXISTS (
           SELECT 1 FROM billing_allocation a WHERE a.installment_id = o.id AND a.value_date <= %(as_of)s
             AND a.reversed_at IS NULL) THEN 1 ELSE 0 END AS partial_open,
       COALESCE(agg.open_in_window, 0) AS open_in_window, COALESCE(agg.due_12m, 0) AS due_12m,
       COALESCE(agg.late_12m, 0) AS late_12m,
       COALESCE(debits.soft, 0) AS debit_soft_90d, COALESCE(debits.hard_last, 0) AS debit_hard_last,
       COALESCE(debits.failed_last, 0) AS debit_failed_last,
       {hold} AS hold_active,
       {contact_negative} AS contact_negative_90d,
       {contact_promised} AS contact_promised_90d,
       {reminder_failed} AS reminder_failed_90d
FROM pol
LEFT JOIN oldest o ON o.policy_id = pol.id
LEFT JOIN agg ON agg.policy_id = pol.id
LEFT JOIN debits ON debits.policy_id = pol.id
ORDER BY pol.id
"""
# Apps to the right (renewals' holds) and beside (outreach's contacts) are read, never imported:
# their tables are used when they exist, so that scoring stays where DESIGN.md section 4 puts it.
HOLD_SQL = """(SELECT count(*) FROM renewals_hold h WHERE h.policy_id = pol.id AND h.status = %(hold_approved)s
                 AND h.start <= %(as_of)s AND h."end" >= %(as_of)s)"""
CONTACT_SQL = """(SELECT count(*) FROM outreach_contactlog l WHERE l.policy_id = pol.id
                    AND l.outcome = ANY(%({name})s)
                    AND (l.occurred_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN %(as_of)s::date - 90 AND %(as_of)s)"""
REMINDER_SQL = """(SELECT count(*) FROM outreach_plannedcontact r WHERE r.policy_id = pol.id
                     AND r.status = ANY(%(reminder_failed)s) AND r.step_date BETWEEN %(as_of)s::date - 90 AND %(as_of)s)"""
# in force on the date, by the status history (a voided lapse never happened)
IN_FORCE_ON_SQL = """AND (SELECT c.status FROM policies_policystatuschange c
         WHERE c.policy_id = p.id AND c.voided_at IS NULL AND c.effective_date <= %(as_of)s
         ORDER BY c.effective_date DESC, c.id DESC LIMIT 1) = %(in_force)s"""
IN_FORCE_NOW_SQL = "AND p.status = %(in_force)s"


def _table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def _sql(*, current: bool) -> str:
    hold = HOLD_SQL if _table_exists("renewals_hold") else "0"
    contacts = _table_exists("outreach_contactlog")
    reminders = _table_exists("outreach_plannedcontact")
    return FEATURES_SQL.format(
        eligible=IN_FORCE_NOW_SQL if current else IN_FORCE_ON_SQL, hold=hold,
        contact_negative=CONTACT_SQL.format(name="contact_negative") if contacts else "0",
        contact_promised=CONTACT_SQL.format(name="contact_promised") if contacts else "0",
        reminder_failed=REMINDER_SQL if reminders else "0")


def features_query(*, as_of: dt.date, id_from: int, id_to: int, current: bool = False) -> tuple[str, dict]:
    """(SQL, parameters) of the raw facts: columns policy_id, then RAW_COLUMNS by name."""
    params = {**STATUS_PARAMS, "as_of": as_of, "lo": id_from, "hi": id_to, "horizon": HORIZON_DAYS,
              "methods": METHODS, "kinds": KINDS, "hard": HARD_REASONS,
              "contact_negative": CONTACT_NEGATIVE, "contact_promised": CONTACT_PROMISED,
              "reminder_failed": REMINDER_FAILED}
    return _sql(current=current), params


def raw_facts(*, as_of: dt.date, id_from: int, id_to: int, current: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(policy ids, raw facts matrix in RAW_COLUMNS order) of the policies in force on `as_of` in
    the id range. `current` (the night): in force now, by the policy's status, instead of the
    status history (the same answer on the night, read more cheaply)."""
    sql, params = features_query(as_of=as_of, id_from=id_from, id_to=id_to, current=current)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(RAW_COLUMNS)))
    data = np.array(rows, dtype=np.float64)
    return data[:, 0].astype(np.int64), data[:, 1:]


LABELS_SQL = """
SELECT c.policy_id, min(c.effective_date)
FROM policies_policystatuschange c
WHERE c.policy_id = ANY(%(ids)s) AND c.status = %(lapsed)s AND c.voided_at IS NULL
  AND c.effective_date > %(as_of)s AND c.effective_date <= LEAST(%(as_of)s::date + %(horizon)s, %(known)s)
GROUP BY c.policy_id
"""


def lapse_labels(*, as_of: dt.date, policy_ids: np.ndarray, known_until: dt.date | None = None) -> np.ndarray:
    """1 for the policies that lapsed (a lapse not voided since) in the horizon after `as_of`;
    `known_until` cuts the horizon short (a history shorter than the horizon: the demo's)."""
    known = known_until or as_of + dt.timedelta(days=HORIZON_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(LABELS_SQL, {**STATUS_PARAMS, "ids": [int(i) for i in policy_ids], "as_of": as_of,
                                    "horizon": HORIZON_DAYS, "known": known})
        lapsed = {row[0] for row in cursor.fetchall()}
    return np.array([1 if int(i) in lapsed else 0 for i in policy_ids], dtype=np.int8)


# --- the model's columns ------------------------------------------------------------------------

FEATURES = [
    "age_under_30", "age_45_59", "age_60_plus",
    "method_bank_transfer", "method_online", "method_counter",
    "kind_health_accident", "kind_critical_illness", "kind_annuity",
    "frequency_monthly", "frequency_quarterly", "frequency_semiannual",
    "premium_high", "premium_low", "tenure_years",
    "overdue", "days_overdue", "partial_open", "exposed", "open_in_window",
    "late_share_12m", "debit_soft_90d", "debit_hard_last", "debit_failed_last", "hold_active",
    "contact_negative_90d", "contact_promised_90d", "reminder_failed_90d",
]
C = {name: k for k, name in enumerate(RAW_COLUMNS)}


def feature_matrix(raw: np.ndarray) -> np.ndarray:
    """The model's columns from the raw facts (one row per policy)."""
    if raw.size == 0:
        return np.zeros((0, len(FEATURES)))
    col = lambda name: raw[:, C[name]]  # noqa: E731
    age, method, kind, per_year = col("age"), col("method"), col("kind"), col("per_year")
    age = np.where(age < 0, 37, age)
    annual = col("annual_premium")
    overdue_days = col("days_overdue")
    due = col("due_12m")
    columns = [
        age < 30, (age >= 45) & (age < 60), age >= 60,
        method == 2, method == 3, method == 4,
        (kind == 3) | (kind == 5), kind == 2, kind == 4,
        per_year == 12, per_year == 4, per_year == 2,
        annual >= 20000, annual < 2000, np.minimum(col("tenure_days") / 365.0, 15.0),
        overdue_days > 0, np.minimum(overdue_days, 120.0) / 30.0, col("partial_open") > 0,
        col("open_in_window") > 0, np.minimum(col("open_in_window"), 4.0),
        np.where(due > 0, col("late_12m") / np.maximum(due, 1), 0.0),
        np.minimum(col("debit_soft_90d"), 3.0), col("debit_hard_last") > 0, col("debit_failed_last") > 0,
        col("hold_active") > 0,
        np.minimum(col("contact_negative_90d"), 3.0), np.minimum(col("contact_promised_90d"), 2.0),
        np.minimum(col("reminder_failed_90d"), 3.0),
    ]
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
