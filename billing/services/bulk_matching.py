"""The common cases of matching, set-based for a whole file (DESIGN.md section 3: "the common
exact cases run set-based for the whole file, the rest per line").

1. Exact: when the first active rule is an automatic policy-number rule, a line whose text names
   exactly one existing policy, that no other new line of the file names, on a policy with no
   credit waiting, whose amount is (within the rule's tolerance) what the oldest open installment
   still owes, is assigned and allocated to that installment in a few statements.
2. Hopeless: a line that names no existing policy, comes from no account registered on a policy
   and from no policyholder's name goes to suspense without a per-line look.
Everything else goes through the per-line matcher, which applies every rule in order. The
outcome is the same as matching every line one by one, only faster.
"""

import re
from decimal import Decimal

from django.conf import settings
from django.db import connection

from billing.models import MatchingRule

CANDIDATES_SQL = """
CREATE TEMP TABLE IF NOT EXISTS match_candidate (payment_id bigint, policy_no text) ON COMMIT DROP
"""

# payments of this import with exactly one named policy, that policy named by no other new line
EXACT_SQL = """
WITH named AS (
    SELECT c.payment_id, min(c.policy_no) AS policy_no FROM match_candidate c
    GROUP BY c.payment_id HAVING count(DISTINCT c.policy_no) = 1
),
lines AS (
    SELECT n.payment_id, p.id AS policy_id, pay.amount, pay.value_date
    FROM named n
    JOIN billing_payment pay ON pay.id = n.payment_id
    JOIN policies_policy p ON p.policy_no = n.policy_no
    WHERE pay.currency = 'CNY' AND pay.status = 'suspense' AND pay.direction = 'credit' AND NOT pay.reversal
),
single AS (
    SELECT * FROM lines WHERE policy_id IN (SELECT policy_id FROM lines GROUP BY policy_id HAVING count(*) = 1)
),
locked AS (
    SELECT p.id FROM policies_policy p WHERE p.id IN (SELECT policy_id FROM single) ORDER BY p.id FOR UPDATE
),
oldest AS (
    SELECT DISTINCT ON (i.policy_id) i.policy_id, i.id AS installment_id, i.amount_due - i.amount_paid AS owed
    FROM billing_installment i
    WHERE i.policy_id IN (SELECT id FROM locked)
      AND i.status IN ('scheduled', 'due', 'overdue', 'partially_paid')
    ORDER BY i.policy_id, i.sequence
)
SELECT s.payment_id, s.policy_id, o.installment_id, s.amount, LEAST(s.amount, o.owed) AS allocated, o.owed,
       s.value_date
FROM single s JOIN oldest o ON o.policy_id = s.policy_id
WHERE abs(s.amount - o.owed) <= %(tolerance)s
  AND NOT EXISTS (SELECT 1 FROM billing_charge ch
                  WHERE ch.policy_id = s.policy_id AND NOT ch.cancelled AND ch.amount_paid < ch.amount)
  AND NOT EXISTS (
      SELECT 1 FROM billing_assignment a
      WHERE a.policy_id = s.policy_id AND a.status = 'confirmed'
        AND a.amount > COALESCE((SELECT sum(x.amount) FROM billing_allocation x
                                 WHERE x.assignment_id = a.id AND x.reversed_at IS NULL), 0)
  )
"""

BOOK_STATEMENTS = [
    """
    WITH assigned AS (
        INSERT INTO billing_assignment (payment_id, policy_id, amount, status, rule, created_at)
        SELECT payment_id, policy_id, amount, 'confirmed', %(rule)s, now() FROM exact_match
        RETURNING id, payment_id
    )
    INSERT INTO billing_allocation (assignment_id, installment_id, amount, value_date, created_at, reversal_reason)
    SELECT a.id, e.installment_id, e.allocated, e.value_date, now(), ''
    FROM assigned a JOIN exact_match e ON e.payment_id = a.payment_id
    """,
    """
    UPDATE billing_installment i
    SET amount_paid = i.amount_paid + e.allocated,
        status = CASE WHEN i.amount_due - (i.amount_paid + e.allocated) <= %(paid_tolerance)s THEN 'paid'
                      ELSE 'partially_paid' END,
        paid_value_date = CASE WHEN i.amount_due - (i.amount_paid + e.allocated) <= %(paid_tolerance)s
                               THEN e.value_date END,
        updated_at = now()
    FROM exact_match e WHERE i.id = e.installment_id
    """,
    "UPDATE billing_payment pay SET status = 'matched' FROM exact_match e WHERE pay.id = e.payment_id",
]

HOPELESS_SQL = """
UPDATE billing_payment pay SET status_reason = 'no rule matched'
WHERE pay.id = ANY(%(ids)s) AND pay.status = 'suspense' AND pay.status_reason = '' AND pay.currency = 'CNY'
  AND NOT EXISTS (SELECT 1 FROM match_candidate c JOIN policies_policy p ON p.policy_no = c.policy_no
                  WHERE c.payment_id = pay.id)
  AND (pay.payer_account = '' OR NOT EXISTS (SELECT 1 FROM policies_policy p WHERE p.bank_account = pay.payer_account))
  AND (pay.payer_name = '' OR NOT EXISTS (SELECT 1 FROM policies_customer c WHERE c.name = pay.payer_name))
RETURNING pay.id
"""


def payments_match_bulk(*, payment_ids: list[int], texts: dict[int, str]) -> tuple[set[int], set[int]]:
    """Book the exact lines and settle the hopeless ones. Call inside a transaction.
    Returns (ids matched, ids left in suspense); the caller matches the rest line by line."""
    rules = list(MatchingRule.objects.filter(active=True).order_by("position", "id"))
    if not payment_ids:
        return set(), set()
    patterns = [re.compile(r.pattern) for r in rules if r.kind == MatchingRule.Kind.REFERENCE and r.pattern]
    with connection.cursor() as cursor:
        cursor.execute(CANDIDATES_SQL)
        cursor.execute("TRUNCATE match_candidate")
        with cursor.cursor.copy("COPY match_candidate (payment_id, policy_no) FROM STDIN") as copy:
            for payment_id in payment_ids:
                text = texts.get(payment_id, "")
                numbers = {m.group(1) for pattern in patterns for m in pattern.finditer(text)}
                for number in numbers:
                    copy.write_row((payment_id, number))
        cursor.execute("ANALYZE match_candidate")
        matched: set[int] = set()
        first = rules[0] if rules else None
        if (first is not None and first.kind == MatchingRule.Kind.REFERENCE and first.action == MatchingRule.Action.AUTO
                and first.amount_tolerance is not None):
            tolerance = first.amount_tolerance
            paid_tolerance = Decimal(str(getattr(settings, "BILLING_PAID_TOLERANCE", "0.00")))
            # the first rule's own pattern decides which number a line names
            cursor.execute("TRUNCATE match_candidate")
            own = re.compile(first.pattern)
            with cursor.cursor.copy("COPY match_candidate (payment_id, policy_no) FROM STDIN") as copy:
                for payment_id in payment_ids:
                    for number in {m.group(1) for m in own.finditer(texts.get(payment_id, ""))}:
                        copy.write_row((payment_id, number))
            cursor.execute("DROP TABLE IF EXISTS exact_match")
            cursor.execute(f"CREATE TEMP TABLE exact_match ON COMMIT DROP AS {EXACT_SQL}", {"tolerance": tolerance})
            for statement in BOOK_STATEMENTS:
                cursor.execute(statement, {"rule": first.name, "paid_tolerance": paid_tolerance})
            cursor.execute("SELECT payment_id FROM exact_match")
            matched = {row[0] for row in cursor.fetchall()}
            # back to every reference rule's numbers for the hopeless test
            cursor.execute("TRUNCATE match_candidate")
            with cursor.cursor.copy("COPY match_candidate (payment_id, policy_no) FROM STDIN") as copy:
                for payment_id in payment_ids:
                    text = texts.get(payment_id, "")
                    for number in {m.group(1) for pattern in patterns for m in pattern.finditer(text)}:
                        copy.write_row((payment_id, number))
        cursor.execute(HOPELESS_SQL, {"ids": [i for i in payment_ids if i not in matched]})
        hopeless = {row[0] for row in cursor.fetchall()}
    return matched, hopeless
