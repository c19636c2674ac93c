"""The common cases of matching, set-based for a whole file (DESIGN.md section 3: "the common
exact cases run set-based for the whole file, the rest per line").

1. Exact: when the first active rule is an automatic policy-number rule, a line whose text names
   exactly one existing policy, that no other line of the file names or pays from the policy's
   registered account (a line another import stored already counts too: the line then goes to the
   per-line matcher, with the same outcome), on a policy with no credit or charge waiting, whose amount is (within the
   rule's tolerance) what the oldest open
   installment still owes and at most that, is assigned and allocated to that installment in a
   few statements. When the rule accepts other amounts (issue 9), a smaller amount on a policy
   that still pays premiums is booked the same way, as a partial payment of that installment.
2. Account: when, besides, the second active rule is an automatic payer-account rule, a line that
   names no existing policy, from an account registered on exactly one policy that may pay (in
   force, lapsed or deferred), whose amount is (within that rule's tolerance) what the per-line
   matcher would expect (the oldest open installment's balance when it is due within the rule's
   window, else the modal premium) and at most that balance, or any smaller amount when the
   rule accepts other amounts, on a policy with no credit or charge waiting, is booked the same
   way. Only when no other line of the file still to be matched could touch the policy (naming
   it, paying from its account, or in its holder's name): the outcome does not depend on the
   order lines are matched in.
3. Hopeless: a line that names no existing policy, comes from no account registered on a policy
   and from no policyholder's name goes to suspense (reason no_reference) without a per-line look.
Everything else goes through the per-line matcher, which applies every rule in order: an
over-payment among them (it spreads over several installments and may return its excess to
suspense), and an installment due 12 months or more after the value date, which money does not
pay (billing.services.allocations). The outcome is the same as matching every line one by one,
only faster (billing/tests/services/test_matching_equivalence.py runs both on one file).

This is decided on the staged lines (statement_stage, by line number) before they are stored:
the statement import then stores each line once, with its outcome (booked lines matched, hopeless
ones in suspense with their reason), instead of inserting every line in suspense and updating
most of them again (and writing a second trail row for each). What matching reads is copied into
temporary tables that are analyzed, so the planner knows how many rows they hold.

Statuses reach the SQL as bound parameters (Installment.OPEN_STATUSES, policies.lifecycle.PAYING,
Assignment.Status), and the conditions both set-based rules share are written once (POLICY_READY_SQL,
OLDEST_OPEN_SQL, PAYABLE_AMOUNT_SQL).
"""

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection

from billing.models import Assignment, Installment, MatchingRule
from billing.services.allocations import OVERPAYMENT_COVER_MONTHS
from billing.services.matching import MATCHED_CURRENCY, PARTIAL_KINDS, POLICY_NUMBER_RE
from core.analyze import temp_tables_analyze
from core.copy import copy_field, id_array, text_array
from core.events import MONEY_ALLOCATED, event_publish
from core.references import references_vouch
from policies.lifecycle import PAYING, sql_values

# own: the line is this part's to book (a large statement is imported in parts that run at once,
# billing.services.statements; each part stages its own lines and reads the other parts' open
# credit lines into match_line too, own false, for its checks, so that what it books is what the
# whole file would book, and books, stores and rules hopeless its own lines).
# Lines that share a number (a camt entry itemised into its TxDtls) are never booked or ruled
# hopeless here, only read for the checks: what is decided set-based is kept by line number, and
# each of them was booked once per line of that number (two assignments for one amount paid).
LINES_SQL = """
CREATE TEMP TABLE match_line ON COMMIT DROP AS
SELECT s.line_no, s.amount, s.value_date, s.currency, s.payer_name, s.payer_account,
       s.line_no BETWEEN %(own_from)s AND %(own_to)s
       AND s.line_no NOT IN (SELECT t.line_no FROM statement_stage t GROUP BY t.line_no HAVING count(*) > 1) AS own
FROM statement_stage s
WHERE s.line_no = ANY(%(line_nos)s::integer[])
"""

# every number a line's text holds: under the first rule's pattern (first), under any reference
# rule's pattern (rules), under the generic policy-number pattern the matcher checks conflicts by
CANDIDATES_SQL = """
CREATE TEMP TABLE match_candidate (line_no bigint, policy_no text, first boolean, rules boolean)
ON COMMIT DROP
"""

# the policies the file's numbers name, looked up once per file (known_policies; by the policy
# number's index, in number order): joined to all 1,000,000 policies of the migration bench by
# number, the candidates were hashed against every one (the lines naming a policy, formerly a table
# of their own, 0.53 s, the exact rule's lock 1.0-1.3 s of a 100,000-line statement;
# bench/RESULTS.md part 28). Looked up in each part of a statement in parts, every part read the
# whole file's numbers (part 32). The account rule and the
# hopeless lines, read after the exact rule's locks (which may wait), look at the policies as they
# are then, as before: they read the few lines left.
KNOWN_SQL = """
SELECT k.policy_no, k.id FROM unnest(%s::text[]) AS c(policy_no)
CROSS JOIN LATERAL (SELECT p.policy_no, p.id FROM policies_policy p WHERE p.policy_no = c.policy_no OFFSET 0) k
"""

# Written once for both set-based rules (s: the line with its policy_id, o: the policy's oldest
# open installment). The policy has no credit waiting (confirmed money not yet allocated) and no
# charge waiting: the per-line allocation would apply those first.
POLICY_READY_SQL = """
NOT EXISTS (SELECT 1 FROM billing_charge ch
            WHERE ch.policy_id = s.policy_id AND NOT ch.cancelled AND ch.amount_paid < ch.amount)
AND NOT EXISTS (
    SELECT 1 FROM billing_assignment a
    WHERE a.policy_id = s.policy_id AND a.status = %(confirmed)s
      AND a.amount > COALESCE((SELECT sum(x.amount) FROM billing_allocation x
                               WHERE x.assignment_id = a.id AND x.reversed_at IS NULL), 0)
)
"""

# the oldest open installment of each policy of {policies} (a query with a policy_id column; also the
# nightly due list's, renewals.services.steps.DUE_LIST_SQL): one
# walk per policy of its (policy_id, sequence) index from the first installment, stopping at the
# first open one. Read set-wise (every open installment of the file's policies, then DISTINCT ON),
# a 100,000-line statement read and sorted 713,575 installments on the migration bench (4.3 s of
# its 5.5 s exact rule; bench/RESULTS.md part 20). The policies are walked in id order: their
# installments lie in that order too (a schedule is written policy by policy), so the walks read
# the index and the table front to back instead of at random (part 28).
OLDEST_OPEN_SQL = """
SELECT q.policy_id, o.installment_id, o.sequence, o.due_date, o.grace_end, o.owed
FROM (SELECT DISTINCT x.policy_id FROM ({policies}) x ORDER BY 1) q
CROSS JOIN LATERAL (
    SELECT i.id AS installment_id, i.sequence, i.due_date, i.grace_end, i.amount_due - i.amount_paid AS owed
    FROM billing_installment i
    WHERE i.policy_id = q.policy_id AND i.status = ANY(%(open)s)
    ORDER BY i.sequence
    LIMIT 1
) o
"""

# The amount goes whole to the oldest open installment of a policy that still pays premiums (an
# ended one's money goes to suspense per line): at most what it owes, and the
# installment is due before the value date + 12 months (money pays nothing later). It is what the
# per-line matcher expects within the rule's tolerance (the oldest installment's balance when it
# is due within the rule's window, else the modal premium), or any smaller amount on a policy
# that still pays premiums when the rule accepts other amounts.
PAYABLE_AMOUNT_SQL = """
s.amount <= o.owed AND s.policy_status = ANY(%(paying)s)
AND o.due_date < (s.value_date + make_interval(months => %(cover_months)s))::date
AND (abs(s.amount - CASE WHEN o.due_date <= s.value_date + %(window)s THEN o.owed ELSE s.modal_premium END)
         <= %(tolerance)s
     OR (%(accepts_partial)s AND s.policy_status = ANY(%(paying)s)))
"""

# what the exact rule reads of the whole file (FileChecks, decided once per file), each a temporary
# table analyzed before it is read: this part's lines naming exactly one number under the first
# rule, an existing policy's (with its id), the accounts of the lines that name no existing policy
# (any of which could pay a policy registered to them), and the numbers more than one line names
# under the rules
CHECKS_TABLES = [
    ("match_named", "line_no bigint, policy_no text, policy_id bigint"),
    ("match_unnamed_account", "payer_account text"),
    ("match_reached_twice", "policy_no text"),
]

# The lines naming exactly one policy under the first rule, with that policy, which is locked as it
# is found, in id order (so two imports never deadlock). A policy the rules find named by several
# lines is neither locked nor booked (two parts of one import, each with one of those lines, would
# otherwise wait for each other's whole transaction); EXACT_SQL then needs no test of it. A statement
# of its own: the installments are read by the next one, whose snapshot follows the locks. Read in
# the statement that waited for a lock, they were as they stood before the wait: money another
# transaction had just allocated to a policy's oldest installment (a webhook's, a bank's debit
# answer) was not seen, the line was booked on top of it, and the installment's CHECK failed the
# whole statement.
# Each policy is fetched by its id in id order (a locking subquery is never flattened): joined, the
# planner hashed all 1,000,000 policies of the migration bench for the 100,000 it locks.
EXACT_LOCK_SQL = """
CREATE TEMP TABLE match_lines ON COMMIT DROP AS
SELECT x.line_no, p.id AS policy_id, p.policy_no, p.bank_account, p.status AS policy_status, p.modal_premium,
       x.amount, x.value_date
FROM (SELECT n.line_no, n.policy_id, n.policy_no, pay.amount, pay.value_date
      FROM match_named n
      JOIN match_line pay ON pay.line_no = n.line_no
      WHERE pay.currency = %(currency)s AND pay.own
        AND n.policy_no NOT IN (SELECT policy_no FROM match_reached_twice)
      ORDER BY n.policy_id) x
CROSS JOIN LATERAL (SELECT p.id, p.policy_no, p.bank_account, p.status, p.modal_premium
                    FROM policies_policy p WHERE p.id = x.policy_id AND p.policy_no = x.policy_no FOR UPDATE) p
"""

# payments of this import with exactly one named policy (EXACT_LOCK_SQL), that policy named by no
# other new line
EXACT_SQL = f"""
WITH lines AS (SELECT * FROM match_lines),
-- and no other line of the file could reach the policy (naming it among other numbers, or paying
-- from its registered account and naming no policy): one by one, the earlier line would pay the
-- oldest installment. Both sides come from temporary tables filled and analyzed before (see
-- CHECKS_TABLES): joined per pair of lines, or planned from a guess of how many lines name one
-- policy, a 60,000-line statement on 1,000,000 policies ran for tens of minutes.
single AS (
    SELECT * FROM lines l WHERE policy_id IN (SELECT policy_id FROM lines GROUP BY policy_id HAVING count(*) = 1)
      -- NOT IN over an uncorrelated list: hashed once, whatever the row estimates say (a policy
      -- another line names too never reached match_lines: EXACT_LOCK_SQL)
      AND l.bank_account NOT IN (SELECT payer_account FROM match_unnamed_account)
),
oldest AS ({OLDEST_OPEN_SQL.format(policies="SELECT policy_id FROM single")})
SELECT s.line_no, s.policy_id, o.installment_id, s.amount, s.amount AS allocated, o.owed, s.value_date
FROM single s JOIN oldest o ON o.policy_id = s.policy_id
WHERE {PAYABLE_AMOUNT_SQL}
  AND {POLICY_READY_SQL}
ORDER BY o.installment_id
"""

# lines for the payer-account rule: no existing policy named, an account no other new line pays
# from, registered on exactly one policy that may pay, which no line names. The policies are locked
# here, in id order, and their installments read by ACCOUNT_SQL after the locks (EXACT_LOCK_SQL).
ACCOUNT_LOCK_SQL = """
CREATE TEMP TABLE match_account_lines ON COMMIT DROP AS
WITH naming AS (
    SELECT c.line_no, p.id AS policy_id FROM match_candidate c JOIN policies_policy p ON p.policy_no = c.policy_no
),
lines AS (
    SELECT l.line_no, l.amount, l.value_date, l.payer_account
    FROM match_line l
    WHERE l.currency = %(currency)s AND l.payer_account <> '' AND l.own
      AND NOT EXISTS (SELECT 1 FROM exact_match e WHERE e.line_no = l.line_no)
      AND NOT EXISTS (SELECT 1 FROM naming n WHERE n.line_no = l.line_no)
      AND l.payer_account IN (SELECT payer_account FROM match_line GROUP BY payer_account HAVING count(*) = 1)
),
found AS (
    SELECT l.*, p.id AS policy_id
    FROM lines l
    JOIN policies_policy p ON p.bank_account = l.payer_account
    WHERE p.bank_account <> '' AND p.status = ANY(%(paying)s)
),
single AS (
    SELECT * FROM found
    WHERE line_no IN (SELECT line_no FROM found GROUP BY line_no HAVING count(*) = 1)
      AND policy_id NOT IN (SELECT policy_id FROM naming)
)
SELECT s.line_no, s.amount, s.value_date, s.payer_account, p.id AS policy_id, p.status AS policy_status,
       p.modal_premium, p.holder_id, p.bank_account
FROM single s JOIN policies_policy p ON p.id = s.policy_id
ORDER BY p.id
FOR UPDATE OF p
"""
# the account still the policy's once locked (the status is checked by PAYABLE_AMOUNT_SQL)
ACCOUNT_SQL = f"""
WITH single AS (SELECT * FROM match_account_lines WHERE bank_account = payer_account),
oldest AS ({OLDEST_OPEN_SQL.format(policies="SELECT policy_id FROM single")})
SELECT s.line_no, s.policy_id, s.holder_id, o.installment_id, s.amount, s.amount AS allocated, o.owed,
       s.value_date
FROM single s JOIN oldest o ON o.policy_id = s.policy_id
WHERE {PAYABLE_AMOUNT_SQL}
  AND {POLICY_READY_SQL}
ORDER BY o.installment_id
"""

# a line left for the per-line matcher in the name of the policy's holder could be decided by the
# policy's balance: the policy is left to the per-line matcher too (repeated until nothing moves).
# Another part's line (not own) counts as left: what that part books is not known here.
ACCOUNT_NAME_CONFLICTS_SQL = """
DELETE FROM account_match m
WHERE EXISTS (
    SELECT 1 FROM match_line l JOIN policies_customer c ON c.name = l.payer_name
    WHERE c.id = m.holder_id AND l.payer_name <> ''
      AND NOT EXISTS (SELECT 1 FROM exact_match e WHERE e.line_no = l.line_no)
      AND NOT EXISTS (SELECT 1 FROM account_match a WHERE a.line_no = l.line_no)
)
"""

# the lines of `table` stored by this import (match_payment: line number -> payment id) are booked:
# their installments updated (by primary key: payments_book_bulk), then assigned and allocated.
# Each in installment order (the order exact_match and account_match were written in): the
# installments' pages, the policies' and installments' index entries of the assignments, the
# allocations and their trail are then reached front to back, not at random (part 28).
BOOK_ASSIGN_SQL = """
    WITH assigned AS (
        INSERT INTO billing_assignment (payment_id, policy_id, amount, status, rule, created_at)
        SELECT m.payment_id, e.policy_id, e.amount, %(confirmed)s, %(rule)s, now()
        FROM {table} e JOIN match_payment m ON m.line_no = e.line_no
        ORDER BY e.installment_id
        RETURNING id, payment_id
    )
    INSERT INTO billing_allocation (assignment_id, installment_id, amount, value_date, created_at, reversal_reason)
    SELECT a.id, e.installment_id, e.allocated, e.value_date, now(), ''
    FROM assigned a JOIN match_payment m ON m.payment_id = a.payment_id JOIN {table} e ON e.line_no = m.line_no
    ORDER BY e.installment_id
    """
BOOK_UPDATE_SQL = """
    UPDATE billing_installment i
    SET amount_paid = i.amount_paid + e.allocated,
        status = CASE WHEN i.amount_due - (i.amount_paid + e.allocated) <= %(paid_tolerance)s THEN %(paid)s
                      ELSE %(partially_paid)s END,
        paid_value_date = CASE WHEN i.amount_due - (i.amount_paid + e.allocated) <= %(paid_tolerance)s
                               THEN e.value_date END,
        updated_at = now()
    FROM {table} e JOIN match_payment m ON m.line_no = e.line_no
    WHERE i.id = e.installment_id
    """

# read from the analyzed temporary tables; the payments are then updated by primary key (the
# planner's statistics of billing_payment know nothing of the lines this transaction inserted).
# The lines booked set-based are set aside first (MATERIALIZED): the checks against the policies
# and customers then run for the few lines left, not for every line of the file (planned over
# every line, the name check hashed all 1,200,000 customers of the 1,000,000-policy bench for a
# statement whose every line was booked: 1.5 s of a 20,000-line statement; bench/RESULTS.md part 7).
HOPELESS_SQL = """
WITH rest AS MATERIALIZED (
    SELECT l.line_no, l.payer_account, l.payer_name FROM match_line l
    WHERE l.currency = %(currency)s AND l.own
      AND NOT EXISTS (SELECT 1 FROM exact_match e WHERE e.line_no = l.line_no)
      AND NOT EXISTS (SELECT 1 FROM account_match e WHERE e.line_no = l.line_no)
)
SELECT l.line_no FROM rest l
WHERE NOT EXISTS (SELECT 1 FROM match_candidate c JOIN policies_policy p ON p.policy_no = c.policy_no
                  WHERE c.line_no = l.line_no AND c.rules)
  AND (l.payer_account = '' OR NOT EXISTS (SELECT 1 FROM policies_policy p
                                           WHERE p.bank_account = l.payer_account AND p.bank_account <> ''))
  AND (l.payer_name = '' OR NOT EXISTS (SELECT 1 FROM policies_customer c WHERE c.name = l.payer_name))
"""


def _params(rule: MatchingRule | None = None) -> dict:
    """The values the statements bind: statuses, the currency matched, and the rule's checks."""
    params = {"open": list(Installment.OPEN_STATUSES), "paying": sql_values(PAYING),
              "confirmed": Assignment.Status.CONFIRMED.value, "currency": MATCHED_CURRENCY,
              "paid": Installment.Status.PAID.value, "partially_paid": Installment.Status.PARTIALLY_PAID.value,
              "cover_months": OVERPAYMENT_COVER_MONTHS}
    if rule is not None:
        params.update(tolerance=rule.amount_tolerance, window=rule.window_days,
                      accepts_partial=rule.accepts_partial and rule.kind in PARTIAL_KINDS)
    return params


def _auto_with_tolerance(rule: MatchingRule | None, kind: str) -> bool:
    return (rule is not None and rule.kind == kind and rule.action == MatchingRule.Action.AUTO
            and rule.amount_tolerance is not None)


@dataclass
class BulkMatch:
    booked: set[int] = field(default_factory=set)  # line numbers
    hopeless: set[int] = field(default_factory=set)
    rules: dict[str, str] = field(default_factory=dict)  # temporary table -> the rule's name


@dataclass
class MatchPlan:
    """The active rules as the set-based passes apply them, read once per import."""
    patterns: list[re.Pattern]  # each reference rule's (a rule without one looks for policy numbers)
    exact: MatchingRule | None  # the first rule, when the exact pass applies it
    first_re: re.Pattern | None  # its pattern, which decides which number a line names
    by_account: MatchingRule | None  # the second rule, when the account pass applies it


def match_plan() -> MatchPlan:
    rules = list(MatchingRule.objects.filter(active=True).order_by("position", "id"))
    patterns = [re.compile(r.pattern or POLICY_NUMBER_RE.pattern) for r in rules
                if r.kind == MatchingRule.Kind.REFERENCE]
    # the rule each set-based pass applies: the first two rules when they fit, None when the pass does not run
    first = rules[0] if rules else None
    exact = first if _auto_with_tolerance(first, MatchingRule.Kind.REFERENCE) else None
    first_re = re.compile(exact.pattern or POLICY_NUMBER_RE.pattern) if exact else None
    second = rules[1] if len(rules) > 1 else None
    by_account = second if exact and _auto_with_tolerance(second, MatchingRule.Kind.PAYER_ACCOUNT) else None
    return MatchPlan(patterns=patterns, exact=exact, first_re=first_re, by_account=by_account)


@dataclass
class Candidates:
    """The numbers each line's text holds (candidate_rows), searched once per file however many
    parts of an import read them."""
    found: dict[int, dict[str, list[bool]]]  # line -> number -> [under the first rule's pattern, a rule's]
    rows: dict[int, str]  # line -> match_candidate's rows in COPY's text format (each ending in a newline)


def candidate_rows(plan: MatchPlan, texts: dict[int, str]) -> Candidates:
    """Per line, the numbers its text holds: each distinct pattern searched once per line (the
    shipped rules share the generic one)."""
    searched = list({p.pattern: p for p in [*plan.patterns, *([plan.first_re] if plan.first_re else []),
                                             *([POLICY_NUMBER_RE] if plan.by_account else [])]}.values())
    rule_patterns = {p.pattern for p in plan.patterns}
    own_pattern = plan.first_re.pattern if plan.first_re is not None else None
    found_by_line: dict[int, dict[str, list[bool]]] = {}
    rows: dict[int, str] = {}
    for line_no, text in texts.items():
        if not text.strip():
            continue
        # number -> [named under the first rule's pattern, under a reference rule's pattern];
        # the generic pattern only matters to the account rule (a conflicting reference)
        found: dict[str, list[bool]] = {}
        for pattern in searched:
            first_hit, rule_hit = pattern.pattern == own_pattern, pattern.pattern in rule_patterns
            for m in pattern.finditer(text):
                if m.group(1) is None:  # a rule's pattern whose first group took no part in the match
                    continue
                flags = found.setdefault(m.group(1), [False, False])
                flags[0] |= first_hit
                flags[1] |= rule_hit
        if found:
            found_by_line[line_no] = found
            rows[line_no] = "".join(f"{line_no}\t{copy_field(number)}\t{'t' if first_hit else 'f'}\t"
                                    f"{'t' if rule_hit else 'f'}\n"
                                    for number, (first_hit, rule_hit) in found.items())
    return Candidates(found=found_by_line, rows=rows)


@dataclass
class FileChecks:
    """What the exact rule's checks read of the whole file (CHECKS_TABLES), decided once per file
    however many parts of an import read it (file_checks)."""
    named: dict[int, tuple[str, int]] = field(default_factory=dict)  # line -> (policy number, policy id)
    unnamed_accounts: set[str] = field(default_factory=set)
    reached_twice: set[str] = field(default_factory=set)  # policy numbers


def known_policies(candidates: Candidates) -> dict[str, int]:
    """The existing policies the file's numbers name: number -> policy id (KNOWN_SQL)."""
    numbers = sorted({number for found in candidates.found.values() for number in found})
    if not numbers:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(KNOWN_SQL, [text_array(numbers)])
        return dict(cursor.fetchall())


def file_checks(candidates: Candidates, accounts: dict[int, list[str]], known: dict[str, int]) -> FileChecks:
    """The exact rule's checks of the whole file: the lines naming exactly one number under the
    first rule, an existing policy's; the accounts of the lines naming no existing policy; the
    numbers more than one line names under the rules. `accounts`: the payer accounts of the lines
    the checks read, by line number (statements.Staged: every open credit line with a value date
    and an amount; a line another import stored already still counts, which can only send a line
    to the per-line matcher, the same outcome, slower). `known`: known_policies of the file's
    numbers, looked up once."""
    checks = FileChecks()
    naming: set[int] = set()
    ruled: list[str] = []  # each number a line names under the rules, once per line
    for line_no in accounts:
        found = candidates.found.get(line_no)
        if not found:
            continue
        if len(found) == 1:  # most lines name one number
            ((number, (first, rule)),) = found.items()
            if number in known:
                naming.add(line_no)
                if first:
                    checks.named[line_no] = (number, known[number])
            if rule:
                ruled.append(number)
            continue
        firsts = [number for number, (first, _rule) in found.items() if first]
        if len(firsts) == 1 and firsts[0] in known:
            checks.named[line_no] = (firsts[0], known[firsts[0]])
        if any(number in known for number in found):
            naming.add(line_no)
        ruled += [number for number, (_first, rule) in found.items() if rule]
    checks.reached_twice = {number for number, lines in Counter(ruled).items() if lines > 1}
    checks.unnamed_accounts = {account for line_no, line_accounts in accounts.items() if line_no not in naming
                               for account in line_accounts if account}
    return checks


def _checks_copy(cursor, checks: FileChecks, own: tuple[int, int]) -> None:
    """CHECKS_TABLES filled from the file's checks (the named lines of `own` only: the exact rule
    books no other) and analyzed."""
    first, last = own
    rows = {
        "match_named": "".join(f"{line_no}\t{copy_field(number)}\t{policy_id}\n"
                               for line_no, (number, policy_id) in checks.named.items() if first <= line_no <= last),
        "match_unnamed_account": "".join(f"{copy_field(account)}\n" for account in checks.unnamed_accounts),
        "match_reached_twice": "".join(f"{copy_field(number)}\n" for number in checks.reached_twice),
    }
    for table, columns in CHECKS_TABLES:
        cursor.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
        if rows[table]:
            with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(rows[table])
        temp_tables_analyze(cursor, table)


def payments_match_bulk(*, line_nos: list[int], candidates: dict[int, str], checks: Callable[[], FileChecks],
                        own: tuple[int, int] | None = None, plan: MatchPlan | None = None,
                        others: tuple[list[int], str] | None = None) -> BulkMatch:
    """Decide, before they are stored, which new lines of the staged statement (statement_stage,
    by line number) are booked set-based and which are hopeless. Call inside a transaction; the
    policies of the booked lines stay locked until it ends. The booked lines are in the temporary
    tables exact_match and account_match; the caller stores the lines with the outcomes returned,
    fills match_payment (line_no, payment_id) and calls payments_book_bulk.

    `own` (first and last line number): only those lines are booked or ruled hopeless, the others
    are read for the checks only (a part of a statement imported in parts: another transaction
    books them). A line whose policy another line of the file could reach is never booked here, so
    no two parts book lines of one policy. `others`: the open credit lines of the file that are not
    staged here (the other parts'), read for the checks only: their numbers and their match_line
    rows in COPY's text format (line_no, amount, value_date, currency, payer_name, payer_account,
    own). `candidates`: Candidates.rows of at least the lines of `line_nos` and `others`, and
    `checks` returns file_checks of the file (both decided once per file: the parts call `checks`
    only when they need it, a future's result); `plan` when the caller has it already."""
    with connection.cursor() as cursor:
        for table in ("match_line", "match_candidate", "exact_match", "account_match", "match_payment",
                      *(table for table, _columns in CHECKS_TABLES), "match_lines", "match_account_lines"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute("CREATE TEMP TABLE exact_match (line_no bigint) ON COMMIT DROP")
        cursor.execute("CREATE TEMP TABLE account_match (line_no bigint) ON COMMIT DROP")
        cursor.execute("CREATE TEMP TABLE match_payment (line_no bigint, payment_id bigint) ON COMMIT DROP")
    outcome = BulkMatch()
    if not line_nos:
        return outcome
    plan = plan or match_plan()
    exact, by_account = plan.exact, plan.by_account
    other_line_nos, other_rows = others or ([], "")
    with connection.cursor() as cursor:
        own_from, own_to = own if own is not None else (0, 2**31 - 1)
        cursor.execute(LINES_SQL, {"line_nos": id_array(line_nos), "own_from": own_from, "own_to": own_to})
        if other_rows:
            with cursor.cursor.copy("COPY match_line (line_no, amount, value_date, currency, payer_name, "
                                    "payer_account, own) FROM STDIN") as copy:
                copy.write(other_rows)
        temp_tables_analyze(cursor, "match_line")
        cursor.execute(CANDIDATES_SQL)
        # COPY's text format written directly, as the statement's stage is
        with cursor.cursor.copy("COPY match_candidate (line_no, policy_no, first, rules) FROM STDIN") as copy:
            every = [*line_nos, *other_line_nos]
            for at in range(0, len(every), 10_000):
                copy.write("".join(candidates.get(line_no, "") for line_no in every[at:at + 10_000]))
        temp_tables_analyze(cursor, "match_candidate")
        if exact:
            # the first rule's own pattern decides which number a line names (file_checks)
            _checks_copy(cursor, checks(), (own_from, own_to))
            cursor.execute(EXACT_LOCK_SQL, _params(exact))
            temp_tables_analyze(cursor, "match_lines")
            cursor.execute("DROP TABLE exact_match")
            cursor.execute(f"CREATE TEMP TABLE exact_match ON COMMIT DROP AS {EXACT_SQL}", _params(exact))
            temp_tables_analyze(cursor, "exact_match")
            cursor.execute("SELECT line_no FROM exact_match")
            outcome.booked = {row[0] for row in cursor.fetchall()}
            outcome.rules["exact_match"] = exact.name
        if by_account:
            cursor.execute(ACCOUNT_LOCK_SQL, _params(by_account))
            temp_tables_analyze(cursor, "match_account_lines")
            cursor.execute("DROP TABLE account_match")
            cursor.execute(f"CREATE TEMP TABLE account_match ON COMMIT DROP AS {ACCOUNT_SQL}", _params(by_account))
            temp_tables_analyze(cursor, "account_match")
            while True:
                cursor.execute(ACCOUNT_NAME_CONFLICTS_SQL)
                if not cursor.rowcount:
                    break
            cursor.execute("SELECT line_no FROM account_match")
            outcome.booked |= {row[0] for row in cursor.fetchall()}
            outcome.rules["account_match"] = by_account.name
        cursor.execute(HOPELESS_SQL, _params())
        outcome.hopeless = {row[0] for row in cursor.fetchall()}
    return outcome


def payments_book_bulk(match: BulkMatch, *, as_of: dt.date) -> None:
    """Assign and allocate the booked lines that were stored (match_payment: line -> payment);
    one money event for all of them."""
    paid_tolerance = Decimal(str(getattr(settings, "BILLING_PAID_TOLERANCE", "0.00")))
    policy_ids: set[int] = set()
    installment_ids: set[int] = set()
    payment_ids: set[int] = set()
    with connection.cursor() as cursor:
        temp_tables_analyze(cursor, "match_payment")
        for table, rule in match.rules.items():
            params = {**_params(), "rule": rule, "paid_tolerance": paid_tolerance}
            # The booked installments are updated first, so that each allocation's installment is
            # a row this transaction wrote (counted below), and through their primary key, one
            # probe per line.
            # With the server's default costs (random_page_cost 4) the planner prefers to read all
            # of billing_installment and hash it against the lines: 13.8 million rows for 100,000
            # lines on the migration bench (7 of a statement's 24 s; bench/RESULTS.md part 20). A
            # sequential scan is ruled out for that statement only (the temporary tables, which
            # have no index, are still read whole: the setting only makes other paths cheaper).
            cursor.execute("SELECT current_setting('enable_seqscan')")
            was = cursor.fetchone()[0]
            cursor.execute(f"SELECT e.policy_id, e.installment_id, m.payment_id FROM {table} e "
                           "JOIN match_payment m ON m.line_no = e.line_no")
            booked = cursor.fetchall()
            cursor.execute("SELECT set_config('enable_seqscan', 'off', true)")
            cursor.execute(BOOK_UPDATE_SQL.format(table=table), params)
            updated = cursor.rowcount
            cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [was])
            # Each of the assignments' and allocations' references is to a row this transaction
            # wrote or holds locked FOR UPDATE: the payments just stored (match_payment, from the
            # insert's RETURNING), the policies locked by EXACT_LOCK_SQL or ACCOUNT_LOCK_SQL, the
            # assignments of the same statement, the installments just updated (each one, or
            # the booking's transaction fails here: a part of a statement in parts is then run
            # again alone, billing.services.statements._parts_run). Their check, one index probe
            # per referenced row, would find each (1.31 s of a 100,000-line booking;
            # bench/RESULTS.md part 31): skipped.
            installments = len({installment_id for _policy_id, installment_id, _payment_id in booked})
            if updated != installments:
                raise IntegrityError(f"{table}: {updated} of the {installments} booked installments updated: "
                                     "one no longer exists, nothing of this transaction is booked")
            references_vouch(cursor, ["billing_assignment", "billing_allocation"])
            cursor.execute(BOOK_ASSIGN_SQL.format(table=table), params)
            references_vouch(cursor, [])
            for policy_id, installment_id, payment_id in booked:
                policy_ids.add(policy_id)
                installment_ids.add(installment_id)
                payment_ids.add(payment_id)
    event_publish(MONEY_ALLOCATED, as_of=as_of, policy_ids=policy_ids, installment_ids=installment_ids,
                  payment_ids=payment_ids, source="statement_import")
