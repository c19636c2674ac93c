"""The registered rule kinds: each is set-based SQL giving one row per hit, with no write in it
(like billing.importers: one kind, one entry). A row is
    (subject_type, subject_key, policy_ids bigint[], fingerprint, evidence jsonb, sentence_params jsonb)

Per-policy kinds (per_policy=True) read one chunk of policy ids (%(lo)s..%(hi)s) and run in the
night's chunks; the others aggregate over the whole portfolio once per night (risk.services.
evaluation writes their hits into risk_candidate, then flags chunk by chunk by their first policy).

Every statement takes the rule's scope (%(any_product)s / %(product_ids)s, %(all_branches)s /
%(branch_ids)s), its threshold and window (%(threshold)s, %(days)s), and the business date
(%(as_of)s). Status values are bound parameters (evaluation.STATUS_PARAMS), never literals.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class RuleKind:
    code: str
    label: object
    per_policy: bool
    sql: str
    sentence: object  # lazy text with %(name)s parameters from sentence_params
    threshold_label: object
    default_threshold: str
    default_days: int | None = None
    sentences: dict = field(default_factory=dict)  # sentence_params["variant"] -> lazy text
    # reads risk_chunk_payment (CHUNK_PAYMENTS) over this many windows back (0: does not)
    payment_windows: int = 0


KINDS: dict[str, RuleKind] = {}


def kind_register(kind: RuleKind) -> None:
    KINDS[kind.code] = kind


def kind_get(code: str) -> RuleKind:
    return KINDS[code]


def kind_choices() -> list[tuple[str, object]]:
    return [(code, kind.label) for code, kind in KINDS.items()]


# the rule's scope on a policy p
SCOPE = "(%(any_product)s OR p.product_id = ANY(%(product_ids)s)) AND (%(all_branches)s OR p.branch_id = ANY(%(branch_ids)s))"
CHUNK = "p.id BETWEEN %(lo)s AND %(hi)s"
# a day in the window (as_of - days, as_of]
IN_WINDOW = "BETWEEN %(as_of)s::date - %(days)s + 1 AND %(as_of)s"
# the business date of a trail row: the one its context carried (the night, a simulated day; an
# import's as_of), else the day it was written in China
EVENT_DAY = ("COALESCE((ctx.metadata->>'business_date')::date, (ctx.metadata->>'as_of')::date, "
             "(e.pgh_created_at AT TIME ZONE 'Asia/Shanghai')::date)")
# a payer as one key: the account, else the name (cash)
PAYER_KEY = "COALESCE(NULLIF(x.payer_account, ''), 'name:' || x.payer_name)"


# The chunk's confirmed assignments with their payments, read once per chunk for every per-policy
# kind that looks at money (risk.services.evaluation.chunk_payments_prepare): one index pass over the
# chunk's assignments and one lookup per payment, not one per kind. %(pay_days)s: the longest window
# of those kinds. A work table of the chunk's transaction.
CHUNK_PAYMENTS = """
CREATE TEMP TABLE risk_chunk_payment ON COMMIT DROP AS
SELECT a.policy_id, x.id, x.value_date, x.payer_name, x.payer_account, x.source, a.amount
FROM billing_assignment a JOIN billing_payment x ON x.id = a.payment_id
WHERE a.policy_id BETWEEN %(lo)s AND %(hi)s AND a.status = %(confirmed)s
  AND x.value_date > %(as_of)s::date - %(pay_days)s AND x.value_date <= %(as_of)s
"""


def mask_sql(column: str) -> str:
    return f"CASE WHEN {column} = '' THEN '' ELSE '****' || right({column}, 4) END"


# In the night (%(skip_flagged)s) a policy that has a live flag of the rule is not read: whatever
# its installments show, the flag's INSERT would be dropped by risk_flag_one_live_per_subject. On a
# migrated portfolio these are the lapsed policies with years of arrears, nearly every open
# installment of the chunk (bench/RESULTS.md part 17). The backtest reads every policy.
# The flags are looked up by their policy_id (set for a policy's flag; risk_flag_live_policy) within
# the chunk: NOT (... AND EXISTS) is no anti-join, and the planner hashes the subquery's rows once.
# Keyed by subject_key, that hash held every live flag of the rule in the portfolio, whatever the
# statistics said (476,329 on the migration shape: 0.3-0.5 s of each chunk; bench/RESULTS.md part 19).
UNFLAGGED = """NOT (%(skip_flagged)s AND EXISTS (
    SELECT 1 FROM risk_flag f WHERE f.policy_id BETWEEN %(lo)s AND %(hi)s AND f.policy_id = p.id
      AND f.rule_key = %(rule_key)s AND f.status = ANY(%(live)s)))"""

# An island's installments as the flag's evidence: written as JSON text and read once, the same
# jsonb as jsonb_agg of jsonb_build_object, which built 495,000 values one by one on a migration's
# first night (1.07-1.17 s a chunk against 0.67-0.70 s; bench/RESULTS.md part 27). Numbers and dates
# (to_json: ISO whatever the DateStyle) need no escaping. For a statement with parameters (%%).
UNPAID_EVIDENCE = """('[' || string_agg(
    format('{"sequence": %%s, "due_date": %%s, "amount_due": "%%s", "amount_paid": "%%s"}',
           sequence, to_json(due_date), amount_due, amount_paid), ',' ORDER BY sequence) || ']')::jsonb"""

# The open installments past due are read per policy still to evaluate (LATERAL), not joined with
# the chunk's policies: joined, the planner merged every installment of the chunk with them, those
# of the flagged policies too (750,000 rows a chunk on the migration shape, 0.25 s of a normal
# night's 0.3; bench/RESULTS.md part 21). The same rows and islands either way.
UNPAID_INSTALLMENTS = f"""
WITH unpaid AS (
    SELECT u.policy_id, p.policy_no, u.sequence, u.due_date, u.amount_due, u.amount_paid, u.sequence - u.n AS island
    FROM policies_policy p
    CROSS JOIN LATERAL (SELECT i.policy_id, i.sequence, i.due_date, i.amount_due, i.amount_paid,
                               row_number() OVER (ORDER BY i.sequence) AS n
                        FROM billing_installment i
                        WHERE i.policy_id = p.id AND i.status = ANY(%(open)s) AND i.due_date < %(as_of)s) u
    WHERE {CHUNK} AND {SCOPE} AND {UNFLAGGED}
),
-- each installment with the length of its island (a window count), so that the evidence is built
-- for the islands that reach the threshold only: an aggregate of a grouped SELECT is computed for
-- every group before HAVING drops it (8,700 islands a chunk, 26 of them hits, on a normal night of
-- the migration bench: bench/RESULTS.md part 26); the policy number comes along (a join with the
-- policies afterwards was planned as a merge over all the chunk's)
long AS (
    SELECT *, count(*) OVER (PARTITION BY policy_id, island) AS island_n FROM unpaid
),
runs AS (
    SELECT policy_id, policy_no, count(*) AS n, min(sequence) AS first_seq, min(due_date) AS first_due,
           sum(amount_due - amount_paid) AS owed,
           {UNPAID_EVIDENCE} AS rows
    FROM long WHERE island_n >= %(threshold)s GROUP BY policy_id, policy_no, island
)
SELECT DISTINCT ON (r.policy_id) 'policy', r.policy_id::text, ARRAY[r.policy_id], 'from:' || r.first_seq,
       jsonb_build_object('installments', r.rows),
       jsonb_build_object('policy_no', r.policy_no, 'count', r.n, 'first_due', r.first_due, 'owed', r.owed::text)
FROM runs r
ORDER BY r.policy_id, r.first_seq DESC
"""

# an amount that is an exact number of installments (a quarter paid at once) is not abnormal
AMOUNT_DEVIATION = f"""
WITH paid AS (
    SELECT p.id AS policy_id, x.id, x.value_date, x.payer_name, x.payer_account, x.source, sum(x.amount) AS amount,
           p.modal_premium
    FROM policies_policy p JOIN risk_chunk_payment x ON x.policy_id = p.id
    WHERE {CHUNK} AND {SCOPE} AND x.value_date {IN_WINDOW}
    GROUP BY p.id, x.id, x.value_date, x.payer_name, x.payer_account, x.source
),
odd AS (
    SELECT *, round(abs(amount - modal_premium) * 100 / modal_premium, 1) AS pct FROM paid
    WHERE abs(amount - modal_premium) * 100 > %(threshold)s * modal_premium AND mod(amount, modal_premium) <> 0
)
SELECT 'policy', p.id::text, ARRAY[p.id], 'payments:' || string_agg(o.id::text, ',' ORDER BY o.id),
       jsonb_build_object('payments', jsonb_agg(jsonb_build_object(
           'value_date', o.value_date, 'amount', o.amount::text, 'payer_name', o.payer_name,
           'payer_account', o.payer_account, 'source', o.source, 'deviation_pct', o.pct::text) ORDER BY o.value_date)),
       jsonb_build_object('policy_no', p.policy_no, 'modal_premium', p.modal_premium::text,
                          'amount', (array_agg(o.amount::text ORDER BY o.pct DESC))[1], 'pct', max(o.pct)::text)
FROM odd o JOIN policies_policy p ON p.id = o.policy_id
GROUP BY p.id
"""

# A change is a trail row whose contact details differ from the row before it or, for a customer's
# first row, from the details before the first change (risk_contactbaseline: the imported values,
# kept by a trigger, since the import writes no trail row). A first row with no baseline written by
# then (history older than the baseline) is not counted: nothing says what it changed.
CONTACT_CHANGES = f"""
WITH recent AS (
    SELECT DISTINCT e.pgh_obj_id FROM policies_customerevent e
    LEFT JOIN pghistory_context ctx ON ctx.id = e.pgh_context_id
    WHERE e.pgh_created_at >= now() - interval '3 years' AND {EVENT_DAY} {IN_WINDOW}
),
ev AS (
    SELECT e.pgh_obj_id AS customer_id, e.pgh_id, {EVENT_DAY} AS day, e.phone, e.email, e.address,
           CASE WHEN lag(e.pgh_id) OVER w IS NULL THEN b.phone ELSE lag(e.phone) OVER w END AS phone0,
           CASE WHEN lag(e.pgh_id) OVER w IS NULL THEN b.email ELSE lag(e.email) OVER w END AS email0,
           CASE WHEN lag(e.pgh_id) OVER w IS NULL THEN b.address ELSE lag(e.address) OVER w END AS address0,
           lag(e.pgh_id) OVER w IS NOT NULL OR b.recorded_at <= e.pgh_created_at AS known,
           COALESCE(ctx.metadata->>'username', ctx.metadata->>'job', ctx.metadata->>'url', 'system') AS source
    FROM policies_customerevent e LEFT JOIN pghistory_context ctx ON ctx.id = e.pgh_context_id
    LEFT JOIN risk_contactbaseline b ON b.customer_id = e.pgh_obj_id
    WHERE e.pgh_obj_id IN (SELECT pgh_obj_id FROM recent) AND e.pgh_label = 'update'
    WINDOW w AS (PARTITION BY e.pgh_obj_id ORDER BY e.pgh_id)
),
changes AS (
    SELECT * FROM ev
    WHERE known AND day {IN_WINDOW}
      AND (phone IS DISTINCT FROM phone0 OR email IS DISTINCT FROM email0 OR address IS DISTINCT FROM address0)
),
hit AS (SELECT customer_id FROM changes GROUP BY customer_id HAVING count(*) >= %(threshold)s),
policies AS (
    SELECT h.customer_id, array_agg(DISTINCT p.id ORDER BY p.id) AS ids
    FROM hit h JOIN policies_policy p ON p.holder_id = h.customer_id OR p.insured_id = h.customer_id
    WHERE {SCOPE} GROUP BY h.customer_id
)
SELECT 'customer', c.customer_id::text, pol.ids, 'changes:' || string_agg(c.pgh_id::text, ',' ORDER BY c.pgh_id),
       jsonb_build_object('changes', jsonb_agg(jsonb_build_object(
           'day', c.day, 'source', c.source,
           'phone', CASE WHEN c.phone IS DISTINCT FROM c.phone0 THEN left(c.phone, 3) || '****' || right(c.phone, 4) END,
           'email', CASE WHEN c.email IS DISTINCT FROM c.email0 THEN c.email END,
           'address', CASE WHEN c.address IS DISTINCT FROM c.address0 THEN c.address END) ORDER BY c.pgh_id)),
       jsonb_build_object('customer', cu.name, 'count', count(*), 'days', %(days)s)
FROM changes c JOIN policies pol ON pol.customer_id = c.customer_id JOIN policies_customer cu ON cu.id = c.customer_id
GROUP BY c.customer_id, pol.ids, cu.name
"""

THIRD_PARTY_PAYER = f"""
SELECT 'policy', p.id::text, ARRAY[p.id],
       'payers:' || string_agg(DISTINCT {PAYER_KEY}, ',' ORDER BY {PAYER_KEY}),
       jsonb_build_object('payments', jsonb_agg(jsonb_build_object(
           'value_date', x.value_date, 'amount', x.amount::text, 'payer_name', x.payer_name,
           'payer_account', x.payer_account, 'source', x.source, 'holder', h.name) ORDER BY x.value_date)),
       jsonb_build_object('policy_no', p.policy_no, 'payer_name', min(x.payer_name),
                          'account', {mask_sql("min(x.payer_account)")}, 'count', count(*))
FROM policies_policy p
JOIN policies_customer h ON h.id = p.holder_id
JOIN risk_chunk_payment x ON x.policy_id = p.id
WHERE {CHUNK} AND {SCOPE} AND x.value_date {IN_WINDOW}
  AND x.payer_name <> '' AND x.payer_name <> h.name AND x.source <> %(subsidy)s
  AND NOT EXISTS (SELECT 1 FROM risk_allowedpayer ap WHERE ap.customer_id = h.id
                  AND ((ap.payer_name <> '' AND ap.payer_name = x.payer_name)
                       OR (ap.payer_account <> '' AND ap.payer_account = x.payer_account)))
GROUP BY p.id HAVING count(*) >= %(threshold)s
"""

# Cash at the counter, per payer and day (the large-cash report's unit); the instant path
# restricts it to the payers and days of the money just received (%(payment_ids)s).
LARGE_CASH = f"""
WITH cash AS (
    SELECT x.id, x.value_date, x.amount, x.payer_name, x.payer_account, x.reference, cp.receipt_no,
           {PAYER_KEY} AS payer
    FROM billing_payment x JOIN billing_counterpayment cp ON cp.payment_id = x.id AND cp.method = %(cash)s
    WHERE x.value_date {IN_WINDOW} AND x.direction = %(credit)s
      AND (%(payment_ids)s::bigint[] IS NULL OR ({PAYER_KEY}, x.value_date) IN (
          SELECT {PAYER_KEY}, x.value_date FROM billing_payment x WHERE x.id = ANY(%(payment_ids)s::bigint[])))
),
days AS (SELECT payer, value_date FROM cash GROUP BY payer, value_date HAVING sum(amount) >= %(threshold)s),
hits AS (
    SELECT c.*, (SELECT array_agg(DISTINCT i) FROM (
                     SELECT a.policy_id FROM billing_assignment a WHERE a.payment_id = c.id
                     UNION SELECT q.id FROM policies_policy q WHERE q.policy_no = c.reference) s (i)) AS policy_ids
    FROM cash c JOIN days d ON d.payer = c.payer AND d.value_date = c.value_date
)
SELECT 'account', h.payer, COALESCE((SELECT array_agg(DISTINCT i) FROM hits h2, unnest(h2.policy_ids) i
                                      WHERE h2.payer = h.payer), '{{}}'),
       'payments:' || string_agg(h.id::text, ',' ORDER BY h.id),
       jsonb_build_object('payments', jsonb_agg(jsonb_build_object(
           'value_date', h.value_date, 'amount', h.amount::text, 'payer_name', h.payer_name,
           'payer_account', h.payer_account, 'receipt_no', h.receipt_no, 'policy_no', h.reference)
           ORDER BY h.value_date, h.id)),
       jsonb_build_object('payer_name', min(h.payer_name), 'total', sum(h.amount)::text, 'date', max(h.value_date))
FROM hits h
WHERE %(any_product)s AND %(all_branches)s OR EXISTS (
    SELECT 1 FROM policies_policy p WHERE p.id = ANY(h.policy_ids) AND {SCOPE})
GROUP BY h.payer
"""

# Holders who are neither the payer (by name) nor insured on each other's policies are unrelated.
SHARED_PAYER_ACCOUNT = f"""
WITH pays AS (
    SELECT x.id AS payment_id, x.payer_account, x.payer_name, x.value_date, a.amount, p.id AS policy_id,
           p.policy_no, p.holder_id, h.name AS holder_name
    FROM billing_payment x
    JOIN billing_assignment a ON a.payment_id = x.id AND a.status = %(confirmed)s
    JOIN policies_policy p ON p.id = a.policy_id
    JOIN policies_customer h ON h.id = p.holder_id
    WHERE x.payer_account <> '' AND x.value_date {IN_WINDOW} AND {SCOPE}
),
every_holder AS (SELECT DISTINCT payer_account, holder_id FROM pays WHERE holder_name <> payer_name),
-- the unrelated are fewer than the holders: an account with fewer holders than the threshold cannot hit
holders AS (
    SELECT h.payer_account, h.holder_id FROM every_holder h
    WHERE h.payer_account IN (SELECT payer_account FROM every_holder GROUP BY payer_account
                              HAVING count(*) >= %(threshold)s)
),
unrelated AS (
    SELECT h1.payer_account, h1.holder_id FROM holders h1
    WHERE NOT EXISTS (
        SELECT 1 FROM holders h2 JOIN policies_policy q
          ON (q.holder_id = h1.holder_id AND q.insured_id = h2.holder_id)
          OR (q.holder_id = h2.holder_id AND q.insured_id = h1.holder_id)
        WHERE h2.payer_account = h1.payer_account AND h2.holder_id <> h1.holder_id)
),
hit AS (
    SELECT payer_account, count(*) AS n, string_agg(holder_id::text, ',' ORDER BY holder_id) AS holders
    FROM unrelated GROUP BY payer_account HAVING count(*) >= %(threshold)s
)
SELECT 'account', ps.payer_account, array_agg(DISTINCT ps.policy_id ORDER BY ps.policy_id), 'holders:' || h.holders,
       jsonb_build_object('payments', jsonb_agg(jsonb_build_object(
           'value_date', ps.value_date, 'amount', ps.amount::text, 'payer_name', ps.payer_name,
           'payer_account', ps.payer_account, 'policy_no', ps.policy_no, 'holder', ps.holder_name)
           ORDER BY ps.value_date, ps.payment_id)),
       jsonb_build_object('account', {mask_sql("ps.payer_account")}, 'holders', h.n, 'days', %(days)s,
                          'total', sum(ps.amount)::text)
FROM pays ps JOIN hit h ON h.payer_account = ps.payer_account
GROUP BY ps.payer_account, h.n, h.holders
"""

REINSTATEMENT_CLAIM = f"""
SELECT DISTINCT ON (p.id) 'policy', p.id::text, ARRAY[p.id], 'claim:' || cl.id,
       jsonb_build_object('reinstated_on', r.effective_date, 'claims', jsonb_build_array(jsonb_build_object(
           'claim_no', cl.claim_no, 'kind', cl.kind, 'loss_date', cl.loss_date, 'reported_date', cl.reported_date,
           'status', cl.status))),
       jsonb_build_object('policy_no', p.policy_no, 'reinstated_on', r.effective_date, 'claim_no', cl.claim_no,
                          'loss_date', cl.loss_date, 'days', cl.loss_date - r.effective_date)
FROM policies_policy p
JOIN policies_policystatuschange r ON r.policy_id = p.id AND r.rule = %(reinstatement_rule)s AND r.voided_at IS NULL
JOIN risk_claim cl ON cl.policy_id = p.id AND cl.reported_date <= %(as_of)s
 AND (cl.loss_date BETWEEN r.effective_date AND r.effective_date + %(threshold)s::int
      OR cl.reported_date BETWEEN r.effective_date AND r.effective_date + %(threshold)s::int)
WHERE {CHUNK} AND r.policy_id BETWEEN %(lo)s AND %(hi)s AND cl.policy_id BETWEEN %(lo)s AND %(hi)s AND {SCOPE}
ORDER BY p.id, cl.id DESC
"""

# A large premium, then within the window the policy surrendered or money of the same payer refunded.
PREMIUM_THEN_REFUND = f"""
WITH large AS (
    SELECT p.id AS policy_id, p.policy_no, x.id, x.value_date, x.payer_name, x.payer_account, sum(x.amount) AS amount
    FROM policies_policy p JOIN risk_chunk_payment x ON x.policy_id = p.id
    WHERE {CHUNK} AND {SCOPE} AND x.value_date <= %(as_of)s AND x.value_date > %(as_of)s::date - 2 * %(days)s
    GROUP BY p.id, x.id, x.value_date, x.payer_name, x.payer_account HAVING sum(x.amount) >= %(threshold)s
),
after AS (
    SELECT l.*, 'surrender' AS variant, s.effective_date AS on_day
    FROM large l JOIN policies_policystatuschange s ON s.policy_id = l.policy_id AND s.status = %(surrendered)s
     AND s.voided_at IS NULL AND s.effective_date > l.value_date
     AND s.effective_date <= LEAST(l.value_date + %(days)s, %(as_of)s)
    UNION ALL
    SELECT l.*, 'refund', r.refunded_on
    FROM large l JOIN billing_payment r ON r.status = %(refunded)s AND r.id <> l.id
     AND ((l.payer_account <> '' AND r.payer_account = l.payer_account) OR (l.payer_name <> '' AND r.payer_name = l.payer_name))
     AND r.refunded_on > l.value_date AND r.refunded_on <= LEAST(l.value_date + %(days)s, %(as_of)s)
)
SELECT DISTINCT ON (policy_id) 'policy', policy_id::text, ARRAY[policy_id], 'payment:' || id,
       jsonb_build_object('payments', jsonb_build_array(jsonb_build_object(
           'value_date', value_date, 'amount', amount::text, 'payer_name', payer_name, 'payer_account', payer_account)),
           'then', jsonb_build_object('what', variant, 'day', on_day)),
       jsonb_build_object('policy_no', policy_no, 'amount', amount::text, 'paid_on', value_date, 'variant', variant,
                          'on_day', on_day)
FROM after ORDER BY policy_id, on_day, id
"""

REFUND_OTHER_ACCOUNT = f"""
WITH refunds AS (
    SELECT x.*, {PAYER_KEY} AS payer,
           (SELECT array_agg(DISTINCT i) FROM (
                SELECT q.id FROM policies_policy q  -- q.bank_account <> '': the partial index policy_bank_account
                WHERE x.payer_account <> '' AND q.bank_account <> '' AND q.bank_account = x.payer_account
                UNION SELECT a.policy_id FROM billing_assignment a WHERE a.payment_id = x.id
                UNION SELECT q.id FROM policies_policy q WHERE q.policy_no = x.reference) s (i)) AS policy_ids
    FROM billing_payment x
    WHERE x.status = %(refunded)s AND x.refund_account <> '' AND x.refund_account <> x.payer_account
      AND x.refunded_on {IN_WINDOW}
)
SELECT 'account', r.payer, COALESCE((SELECT array_agg(DISTINCT i) FROM refunds r2, unnest(r2.policy_ids) i
                                      WHERE r2.payer = r.payer), '{{}}'),
       'refunds:' || string_agg(r.id::text, ',' ORDER BY r.id),
       jsonb_build_object('refunds', jsonb_agg(jsonb_build_object(
           'value_date', r.value_date, 'refunded_on', r.refunded_on, 'amount', r.amount::text,
           'payer_name', r.payer_name, 'payer_account', r.payer_account, 'refund_account', r.refund_account)
           ORDER BY r.refunded_on)),
       jsonb_build_object('account', CASE WHEN min(r.payer_account) = '' THEN min(r.payer_name)
                                          ELSE {mask_sql("min(r.payer_account)")} END,
                          'refund_account', {mask_sql("min(r.refund_account)")}, 'count', count(*),
                          'total', sum(r.amount)::text)
FROM refunds r
WHERE %(any_product)s AND %(all_branches)s OR EXISTS (
    SELECT 1 FROM policies_policy p WHERE p.id = ANY(r.policy_ids) AND {SCOPE})
GROUP BY r.payer HAVING count(*) >= %(threshold)s
"""

# A change is an update event whose account differs from the previous update event's, so a policy
# with N changes has at least N + 1 events of any kind: the chunk's policies with fewer (most: one
# lapse, one payment) are left out by counting their events in the (pgh_obj_id) index, before their
# events are read and compared (bench/RESULTS.md part 26).
PAYER_ACCOUNT_CHANGES = f"""
WITH busy AS (
    SELECT e.pgh_obj_id FROM policies_policyevent e WHERE e.pgh_obj_id BETWEEN %(lo)s AND %(hi)s
    GROUP BY e.pgh_obj_id HAVING count(*) >= %(threshold)s + 1
),
ev AS (
    SELECT e.pgh_obj_id AS policy_id, e.pgh_id, {EVENT_DAY} AS day, e.bank_account,
           lag(e.bank_account) OVER w AS account0, lag(e.pgh_id) OVER w AS prev_id,
           COALESCE(ctx.metadata->>'username', ctx.metadata->>'job', ctx.metadata->>'url', 'system') AS source
    FROM busy b JOIN policies_policyevent e ON e.pgh_obj_id = b.pgh_obj_id
    LEFT JOIN pghistory_context ctx ON ctx.id = e.pgh_context_id
    WHERE e.pgh_label = 'update'
    WINDOW w AS (PARTITION BY e.pgh_obj_id ORDER BY e.pgh_id)
),
changes AS (
    SELECT * FROM ev WHERE prev_id IS NOT NULL AND bank_account IS DISTINCT FROM account0 AND day {IN_WINDOW}
)
SELECT 'policy', p.id::text, ARRAY[p.id], 'changes:' || string_agg(c.pgh_id::text, ',' ORDER BY c.pgh_id),
       jsonb_build_object('changes', jsonb_agg(jsonb_build_object(
           'day', c.day, 'source', c.source, 'before', c.account0, 'after', c.bank_account) ORDER BY c.pgh_id)),
       jsonb_build_object('policy_no', p.policy_no, 'count', count(*), 'days', %(days)s)
FROM changes c JOIN policies_policy p ON p.id = c.policy_id
WHERE {CHUNK} AND {SCOPE}
GROUP BY p.id HAVING count(*) >= %(threshold)s
"""

MANY_ACCOUNTS = f"""
WITH pairs AS (
    SELECT DISTINCT p.holder_id, x.payer_account
    FROM policies_policy p
    JOIN billing_assignment a ON a.policy_id = p.id AND a.status = %(confirmed)s
    JOIN billing_payment x ON x.id = a.payment_id
    WHERE x.payer_account <> '' AND x.value_date {IN_WINDOW} AND {SCOPE}
      AND NOT EXISTS (SELECT 1 FROM risk_allowedpayer ap WHERE ap.customer_id = p.holder_id
                      AND ap.payer_account = x.payer_account)
),
hit AS (
    SELECT holder_id, count(*) AS n, string_agg(payer_account, ',' ORDER BY payer_account) AS accounts
    FROM pairs GROUP BY holder_id HAVING count(*) >= %(threshold)s
),
pays AS (
    SELECT p.holder_id, p.id AS policy_id, p.policy_no, x.id, x.value_date, x.payer_name, x.payer_account, a.amount
    FROM hit h
    JOIN policies_policy p ON p.holder_id = h.holder_id
    JOIN billing_assignment a ON a.policy_id = p.id AND a.status = %(confirmed)s
    JOIN billing_payment x ON x.id = a.payment_id
    WHERE x.payer_account <> '' AND x.value_date {IN_WINDOW} AND {SCOPE}
      AND NOT EXISTS (SELECT 1 FROM risk_allowedpayer ap WHERE ap.customer_id = p.holder_id
                      AND ap.payer_account = x.payer_account)
)
SELECT 'customer', ps.holder_id::text, array_agg(DISTINCT ps.policy_id ORDER BY ps.policy_id),
       'accounts:' || md5(h.accounts),
       jsonb_build_object('payments', jsonb_agg(jsonb_build_object(
           'value_date', ps.value_date, 'amount', ps.amount::text, 'payer_name', ps.payer_name,
           'payer_account', ps.payer_account, 'policy_no', ps.policy_no) ORDER BY ps.value_date, ps.id)),
       jsonb_build_object('customer', cu.name, 'accounts', h.n, 'days', %(days)s)
FROM pays ps JOIN hit h ON h.holder_id = ps.holder_id JOIN policies_customer cu ON cu.id = ps.holder_id
GROUP BY ps.holder_id, h.n, h.accounts, cu.name
"""

for _kind in (
    RuleKind("unpaid_installments", _("Consecutive installments unpaid"), True, UNPAID_INSTALLMENTS,
             _("Policy %(policy_no)s has %(count)s consecutive installments unpaid since %(first_due)s, "
               "%(owed)s owed"), _("Installments"), "3"),
    RuleKind("amount_deviation", _("Payment differs from the modal premium"), True, AMOUNT_DEVIATION,
             _("Policy %(policy_no)s received %(amount)s, %(pct)s%% away from its modal premium %(modal_premium)s"),
             _("Difference (%)"), "20", 90, payment_windows=1),
    RuleKind("contact_changes", _("Frequent contact-detail changes"), False, CONTACT_CHANGES,
             _("Customer %(customer)s changed contact details %(count)s times in %(days)s days"),
             _("Changes"), "3", 90),
    RuleKind("third_party_payer", _("Payer is not the policyholder"), True, THIRD_PARTY_PAYER,
             _("Policy %(policy_no)s was paid %(count)s times by %(payer_name)s (account %(account)s), "
               "not by the policyholder"), _("Payments"), "1", 365, payment_windows=1),
    RuleKind("large_cash", _("Large cash payment"), False, LARGE_CASH,
             _("%(payer_name)s paid %(total)s in cash at the counter on %(date)s"), _("Amount (CNY)"),
             "50000", 30),
    RuleKind("shared_payer_account", _("One payer account for many unrelated policyholders"), False,
             SHARED_PAYER_ACCOUNT,
             _("The same payer account %(account)s paid for %(holders)s unrelated policyholders, %(total)s in "
               "%(days)s days"), _("Policyholders"), "5", 90),
    RuleKind("reinstatement_claim", _("Claim soon after a reinstatement"), True, REINSTATEMENT_CLAIM,
             _("Policy %(policy_no)s was reinstated on %(reinstated_on)s and claim %(claim_no)s reports a loss on "
               "%(loss_date)s, %(days)s days later"), _("Days"), "180"),
    RuleKind("premium_then_refund", _("Large premium, then a surrender or refund"), True, PREMIUM_THEN_REFUND,
             _("Policy %(policy_no)s received a premium of %(amount)s on %(paid_on)s, then money of the same payer "
               "was refunded on %(on_day)s"), _("Amount (CNY)"), "100000", 365,
             sentences={"surrender": _("Policy %(policy_no)s received a premium of %(amount)s on %(paid_on)s and "
                                       "was surrendered on %(on_day)s")}, payment_windows=2),
    RuleKind("refund_other_account", _("Refund to an account other than the payer's"), False,
             REFUND_OTHER_ACCOUNT,
             _("%(count)s refunds of money from %(account)s went to another account (%(refund_account)s), "
               "%(total)s in all"), _("Refunds"), "1", 365),
    RuleKind("payer_account_changes", _("Frequent changes of payer account"), True, PAYER_ACCOUNT_CHANGES,
             _("The payer account of policy %(policy_no)s changed %(count)s times in %(days)s days"),
             _("Changes"), "3", 365),
    RuleKind("many_accounts", _("One customer's policies paid from many accounts"), False, MANY_ACCOUNTS,
             _("Customer %(customer)s's policies were paid from %(accounts)s different accounts in %(days)s days"),
             _("Accounts"), "4", 365),
):
    kind_register(_kind)

# parameters shown as money in the sentence (stored as plain decimals: the language formats them)
MONEY_PARAMS = frozenset({"owed", "amount", "modal_premium", "total"})

# evidence columns and sections as the reader's words
EVIDENCE_LABELS = {
    "installments": _("Installments"), "payments": _("Payments"), "changes": _("Changes"), "claims": _("Claims"),
    "refunds": _("Refunds"),
    "sequence": _("Installment"), "due_date": _("Due date"), "amount_due": _("Amount due"),
    "amount_paid": _("Amount paid"), "value_date": _("Value date"), "amount": _("Amount"),
    "payer_name": _("Payer name"), "payer_account": _("Payer account"), "source": _("Source"),
    "deviation_pct": _("Difference (%)"), "day": _("Date"), "phone": _("Mobile phone"), "email": _("E-mail"),
    "address": _("Address"), "holder": _("Policyholder"), "receipt_no": _("Receipt number"),
    "policy_no": _("Policy number"), "claim_no": _("Claim number"), "kind": _("Claim kind"),
    "loss_date": _("Loss date"), "reported_date": _("Reported date"), "status": _("Status"),
    "refunded_on": _("Refunded on"), "refund_account": _("Refunded to account"), "before": _("Before"),
    "after": _("After"),
}
