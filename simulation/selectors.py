"""Reading the demo: policies that show each situation of the story (demo_story, the README, the
tests), and a digest of its policies, money and statuses (two builds with the same seed, size and
end date give the same digest)."""

import hashlib

from django.db import connection

# (situation, what it shows, SQL giving policy numbers, first ones first). Each is a question
# the product answers; the demo is built so that each has answers.
SITUATIONS: list[tuple[str, str, str]] = [
    ("partial_payment", "an installment partly paid (money allocated, not all of it)",
     """SELECT DISTINCT p.policy_no FROM billing_installment i JOIN policies_policy p ON p.id = i.policy_id
        WHERE i.status = 'partially_paid' ORDER BY 1"""),
    ("lapse_reversal", "a lapse voided by money valued inside grace that came in after the lapse",
     """SELECT DISTINCT p.policy_no FROM policies_policystatuschange c JOIN policies_policy p ON p.id = c.policy_id
        WHERE c.status = 'lapsed' AND c.voided_at IS NOT NULL ORDER BY 1"""),
    ("lapse", "a policy lapsed during the span (not paid by the end of grace)",
     """SELECT p.policy_no FROM policies_policy p JOIN policies_policystatuschange c ON c.policy_id = p.id
        WHERE p.status = 'lapsed' AND c.status = 'lapsed' AND c.voided_at IS NULL AND c.rule = 'lapse_after_grace'
          AND c.effective_date >= (SELECT min(as_of) FROM renewals_nightlyrun) ORDER BY 1"""),
    ("in_grace", "in force with an overdue installment, still inside grace",
     """SELECT DISTINCT p.policy_no FROM billing_installment i JOIN policies_policy p ON p.id = i.policy_id
        WHERE p.status = 'in_force' AND i.status IN ('overdue', 'partially_paid')
          AND i.grace_end >= (SELECT max(as_of) FROM renewals_nightlyrun) ORDER BY 1"""),
    ("failed_debit_new_account", "a debit failed for good (frozen, closed, invalid, name) with its case and a "
     "payment plan change to the new account",
     """SELECT DISTINCT p.policy_no FROM billing_debitline d JOIN policies_policy p ON p.id = d.policy_id
        JOIN renewals_case k ON k.policy_id = p.id AND k.type = 'failed_debit'
        JOIN renewals_application a ON a.policy_id = p.id AND a.kind = 'plan_change'
        WHERE d.status = 'failed' AND d.reason IN ('account_frozen', 'account_closed', 'invalid_account',
                                                   'name_mismatch') ORDER BY 1"""),
    ("failed_debit_case", "a debit failed for good and a 'failed debit' case is open",
     """SELECT DISTINCT p.policy_no FROM renewals_case k JOIN policies_policy p ON p.id = k.policy_id
        WHERE k.type = 'failed_debit' ORDER BY 1"""),
    ("debit_retried", "a debit failed for insufficient funds and a retry collected it",
     """SELECT DISTINCT p.policy_no FROM billing_debitline d JOIN policies_policy p ON p.id = d.policy_id
        WHERE d.status = 'paid' AND d.attempt > 1 ORDER BY 1"""),
    ("deferral", "a premium deferral approved and in effect",
     """SELECT p.policy_no FROM renewals_application a JOIN policies_policy p ON p.id = a.policy_id
        WHERE a.kind = 'deferral' AND a.status = 'completed' ORDER BY 1"""),
    ("reduced_paid_up", "reduced paid-up approved",
     """SELECT p.policy_no FROM renewals_application a JOIN policies_policy p ON p.id = a.policy_id
        WHERE a.kind = 'reduced_paid_up' AND a.status = 'completed' ORDER BY 1"""),
    ("reinstatement", "a lapsed policy reinstated: application, approval, the quote paid",
     """SELECT p.policy_no FROM renewals_application a JOIN policies_policy p ON p.id = a.policy_id
        WHERE a.kind = 'reinstatement' AND a.status = 'completed' ORDER BY 1"""),
    ("reinstatement_waiting", "a reinstatement applied for and not finished (underwriting, approval or money)",
     """SELECT p.policy_no FROM renewals_application a JOIN policies_policy p ON p.id = a.policy_id
        WHERE a.kind = 'reinstatement' AND a.status IN ('submitted', 'referred', 'accepted', 'approved') ORDER BY 1"""),
    ("underwriting_declined", "a reinstatement declined by underwriting",
     """SELECT p.policy_no FROM renewals_application a JOIN policies_policy p ON p.id = a.policy_id
        WHERE a.kind = 'reinstatement' AND a.status = 'declined' ORDER BY 1"""),
    ("application_rejected", "a servicing application rejected by the lead, with the reason",
     """SELECT p.policy_no FROM renewals_application a JOIN policies_policy p ON p.id = a.policy_id
        WHERE a.kind <> 'reinstatement' AND a.status = 'rejected' ORDER BY 1"""),
    ("hold", "a hold on collection, approved",
     """SELECT p.policy_no FROM renewals_hold h JOIN policies_policy p ON p.id = h.policy_id
        WHERE h.status = 'approved' ORDER BY 1"""),
    ("hold_rejected", "a hold asked for and rejected by the lead",
     """SELECT p.policy_no FROM renewals_hold h JOIN policies_policy p ON p.id = h.policy_id
        WHERE h.status = 'rejected' ORDER BY 1"""),
    ("moratorium", "a policy inside the regional moratorium (Shenzhen)",
     """SELECT p.policy_no FROM renewals_moratorium m JOIN policies_branch b ON b.city = m.city
        JOIN policies_policy p ON p.branch_id = b.id WHERE m.status = 'approved' AND p.status = 'in_force'
        ORDER BY 1"""),
    ("manual_match", "money matched by hand by finance (above the threshold: approved by finance2)",
     """SELECT DISTINCT p.policy_no FROM billing_assignment a JOIN policies_policy p ON p.id = a.policy_id
        WHERE a.rule = 'manual' ORDER BY 1"""),
]

SUSPENSE_SQL = """
SELECT status, status_reason, count(*), sum(amount) FROM billing_payment
WHERE direction = 'credit' AND status IN ('suspense', 'proposed', 'kept', 'refunded')
GROUP BY 1, 2 ORDER BY 1, 2
"""
APPLICATIONS_SQL = "SELECT kind, status, count(*) FROM renewals_application GROUP BY 1, 2 ORDER BY 1, 2"


def demo_story(*, per_situation: int = 3) -> dict[str, dict]:
    """For each situation: what it shows, how many policies show it, and the first few numbers."""
    story = {}
    with connection.cursor() as cursor:
        for name, description, sql in SITUATIONS:
            cursor.execute(f"SELECT count(*) OVER (), policy_no FROM ({sql}) s LIMIT %s", [per_situation])
            rows = cursor.fetchall()
            story[name] = {"description": description, "count": rows[0][0] if rows else 0,
                           "policies": [row[1] for row in rows]}
    return story


def demo_suspense_reasons() -> list[tuple[str, str, int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(SUSPENSE_SQL)
        return [(status, reason, count, f"{total:.2f}") for status, reason, count, total in cursor.fetchall()]


def demo_applications() -> list[tuple[str, str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(APPLICATIONS_SQL)
        return cursor.fetchall()


# what must come out the same from the same seed, size and end date: no ids, no timestamps; each
# query orders by every column it selects (two cases of one policy, type and day came out in either
# order: the same rows, a different digest)
DIGEST_QUERIES = [
    "SELECT policy_no, status, lapse_date, paid_to_date, modal_premium, sum_assured, bank_account, frequency "
    "FROM policies_policy ORDER BY policy_no",
    "SELECT p.policy_no, i.sequence, i.due_date, i.grace_end, i.amount_due, i.amount_paid, i.status, i.paid_value_date "
    "FROM billing_installment i JOIN policies_policy p ON p.id = i.policy_id ORDER BY 1, 2",
    # a payment platform's order number (billing.services.platform_payments) is random, like an id
    "SELECT source, account_no, value_date, amount, payer_name, "
    "regexp_replace(remittance, 'RD[0-9]{6}[0-9A-F]{12}', 'RD-order'), status, status_reason FROM billing_payment "
    "ORDER BY 1, 2, 3, 4, 5, 6, 7, 8",
    "SELECT p.policy_no, c.status, c.effective_date, c.rule, c.voided_at IS NULL FROM policies_policystatuschange c "
    "JOIN policies_policy p ON p.id = c.policy_id ORDER BY 1, 3, 2, 4, 5",
    "SELECT b.collection_date, p.policy_no, i.sequence, d.amount, d.attempt, d.status, d.reason FROM billing_debitline d "
    "JOIN billing_debitbatch b ON b.id = d.batch_id JOIN billing_installment i ON i.id = d.installment_id "
    "JOIN policies_policy p ON p.id = d.policy_id ORDER BY 1, 2, 3, 4, 5, 6, 7",
    "SELECT p.policy_no, a.kind, a.status, a.applied_on, a.effective_date FROM renewals_application a "
    "JOIN policies_policy p ON p.id = a.policy_id ORDER BY 1, 2, 4, 3, 5",
    "SELECT p.policy_no, k.type, k.status, k.opened_on, k.priority FROM renewals_case k "
    "JOIN policies_policy p ON p.id = k.policy_id ORDER BY 1, 2, 4, 3, 5",
]


def demo_digest() -> str:
    """SHA-256 over the policies, installments, money lines, status histories, debit lines,
    applications and cases, in a fixed order and without ids or clock times."""
    digest = hashlib.sha256()
    with connection.cursor() as cursor:
        for sql in DIGEST_QUERIES:
            cursor.execute(sql)
            for row in cursor.fetchall():
                digest.update(repr(row).encode())
            digest.update(b"|")
    return digest.hexdigest()


def demo_digest_rows() -> dict[str, list[tuple]]:
    """The digest's rows, by the table each query reads first: a test that finds two digests
    different says which rows differ."""
    out = {}
    with connection.cursor() as cursor:
        for sql in DIGEST_QUERIES:
            cursor.execute(sql)
            out[sql.split(" FROM ", 1)[1].split()[0]] = cursor.fetchall()
    return out
