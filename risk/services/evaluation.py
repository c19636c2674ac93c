"""Rules evaluated over the portfolio, set-based: the nightly step (per-policy kinds chunk by
chunk; cross-policy kinds aggregated once per night, then written chunk by chunk), the instant
path on money received (cash at the threshold), and the backtest (the same SQL, nothing written).

A hit becomes a flag once: one live flag per rule and subject (risk_flag_one_live_per_subject),
one flag per rule, subject and pattern (risk_flag_once_per_pattern); INSERT ... ON CONFLICT DO
NOTHING makes every run of a date, and every rerun, idempotent. A pattern that comes back after
an outcome is a new flag whose `previous` is the last flag of its rule and subject.
"""

import datetime as dt
import json

from django.db import connection, transaction
from django.db.models import Q

from audit.services import operation_record
from billing.models import Assignment, CounterPayment, Installment, Payment
from core.copy import id_array
from core.events import Event
from policies import lifecycle
from policies.models import Branch, PolicyStatus, Product
from risk.kinds import CHUNK_PAYMENTS, KINDS, kind_get
from risk.models import Candidate, Flag, Rule

ALL_IDS = (0, 2**62)

STATUS_PARAMS: dict[str, str | list[str]] = {
    "open": list(Installment.OPEN_STATUSES),
    "confirmed": Assignment.Status.CONFIRMED.value,
    "refunded": Payment.Status.REFUNDED.value,
    "credit": Payment.Direction.CREDIT.value,
    "subsidy": Payment.Source.SUBSIDY.value,
    "cash": CounterPayment.Method.CASH.value,
    "surrendered": PolicyStatus.SURRENDERED.value,
    "reinstatement_rule": lifecycle.REINSTATEMENT.rule,
}


def rules_in_force(*, as_of: dt.date, kinds: tuple[str, ...] | None = None) -> list[Rule]:
    """The switched-on version of each rule whose active period covers the date."""
    qs = Rule.objects.filter(state=Rule.State.ACTIVE, kind__in=kinds or tuple(KINDS)).filter(
        Q(active_from__isnull=True) | Q(active_from__lte=as_of), Q(active_to__isnull=True) | Q(active_to__gte=as_of))
    return list(qs.order_by("key"))


def rule_params(*, rule: Rule, as_of: dt.date, id_from: int, id_to: int, payment_ids: list[int] | None = None) -> dict:
    product_ids = list(Product.objects.filter(code__in=rule.products).values_list("pk", flat=True))
    branch_ids: list[int] = []
    for path in Branch.objects.filter(code__in=rule.branches).values_list("path", flat=True):
        branch_ids += Branch.objects.filter(path__startswith=path).values_list("pk", flat=True)
    days = rule_params_days(rule)
    return {**STATUS_PARAMS, "as_of": as_of, "lo": id_from, "hi": id_to, "threshold": rule.threshold, "days": days,
            "rule_key": rule.key, "skip_flagged": False, "live": list(Flag.LIVE_STATUSES),
            "any_product": not rule.products, "product_ids": product_ids,
            "all_branches": not rule.branches, "branch_ids": sorted(set(branch_ids)),
            "payment_ids": payment_ids}


def payment_days(*, rules: list[Rule]) -> int:
    """How far back the chunk's payments are read: the longest window of the rules reading them."""
    return max((kind_get(r.kind).payment_windows * rule_params_days(r) for r in rules), default=0)


def rule_params_days(rule: Rule) -> int:
    return int((rule.params or {}).get("days") or kind_get(rule.kind).default_days or 365)


def chunk_payments_prepare(*, as_of: dt.date, id_from: int, id_to: int, days: int) -> None:
    """The chunk's payments for the per-policy kinds that read money (risk.kinds.CHUNK_PAYMENTS),
    once per chunk, in the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS risk_chunk_payment")
        cursor.execute(CHUNK_PAYMENTS, {**STATUS_PARAMS, "as_of": as_of, "lo": id_from, "hi": id_to, "pay_days": days})
        cursor.execute("ANALYZE risk_chunk_payment")


@transaction.atomic
def rule_hits(*, rule: Rule, as_of: dt.date, id_from: int = ALL_IDS[0], id_to: int = ALL_IDS[1],
              payment_ids: list[int] | None = None) -> list[tuple]:
    """What the rule finds, written nowhere (the backtest; tests)."""
    if kind_get(rule.kind).payment_windows:
        chunk_payments_prepare(as_of=as_of, id_from=id_from, id_to=id_to,
                               days=payment_days(rules=[rule]))
    with connection.cursor() as cursor:
        cursor.execute(kind_get(rule.kind).sql,
                       rule_params(rule=rule, as_of=as_of, id_from=id_from, id_to=id_to, payment_ids=payment_ids))
        # a raw cursor gives jsonb as text (Django reads JSON fields itself)
        return [(*row[:4], *(json.loads(v) if isinstance(v, str) else v for v in row[4:6])) for row in cursor.fetchall()]


# The previous flag of the subject: max(f.id + 0), not max(f.id). PostgreSQL rewrites max(f.id) as
# the first row of a backward walk of the primary key that matches the subject, and takes that plan
# for a table it believes small (never analysed, or analysed nearly empty: the first night after a
# migration): for a subject without a flag, the walk reads every flag of the table, the statement's
# own new rows included. The expression leaves only the subject's index (rule, subject type, key).
INSERT_FLAGS = """
INSERT INTO risk_flag (rule_id, rule_key, kind, severity, subject_type, subject_key, policy_ids, policy_id,
                       fingerprint, evidence, sentence_params, status, raised_on, raised_at, previous_id,
                       outcome_reason)
SELECT %(rule_id)s, %(rule_key)s, %(kind)s, %(severity)s, c.subject_type, c.subject_key, c.policy_ids,
       CASE WHEN c.subject_type = 'policy' THEN c.policy_ids[1] END, c.fingerprint, c.evidence, c.sentence_params,
       %(flag_open)s, %(as_of)s, now(),
       (SELECT max(f.id + 0) FROM risk_flag f WHERE f.rule_key = %(rule_key)s AND f.subject_type = c.subject_type
          AND f.subject_key = c.subject_key), ''
FROM ({source}) AS c (subject_type, subject_key, policy_ids, fingerprint, evidence, sentence_params)
ON CONFLICT DO NOTHING
"""

CANDIDATES_OF_CHUNK = """
SELECT subject_type, subject_key, policy_ids, fingerprint, evidence, sentence_params FROM risk_candidate
WHERE as_of = %(as_of)s AND rule_id = %(rule_id)s AND anchor_policy_id BETWEEN %(lo)s AND %(hi)s
"""
CANDIDATES_WITHOUT_POLICY = """
SELECT subject_type, subject_key, policy_ids, fingerprint, evidence, sentence_params FROM risk_candidate
WHERE as_of = %(as_of)s AND rule_id = %(rule_id)s AND anchor_policy_id IS NULL
"""


def flags_insert_statement(*, rule: Rule, source: str, params: dict) -> tuple[str, dict]:
    """The statement that writes a rule's hits from `source` as flags, with its parameters."""
    return INSERT_FLAGS.format(source=source), {**params, "rule_id": rule.pk, "rule_key": rule.key, "kind": rule.kind,
                                                "severity": rule.severity, "flag_open": Flag.Status.OPEN.value}


def _flags_insert(*, rule: Rule, source: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(*flags_insert_statement(rule=rule, source=source, params=params))
        return cursor.rowcount


def risk_aggregate(as_of: dt.date, id_from: int, id_to: int) -> int:
    """Unchunked, before risk_evaluate: the cross-policy kinds over the whole portfolio, one
    statement per rule, into the night's work table (replaced when the date runs again); hits
    with no policy behind them (cash of a payer we cannot place) become flags here. Snoozed flags
    whose date has come are open again."""
    Candidate.objects.filter(as_of__lt=as_of - dt.timedelta(days=7)).delete()
    Candidate.objects.filter(as_of=as_of).delete()
    Flag.objects.filter(status=Flag.Status.SNOOZED, snoozed_until__lte=as_of).update(status=Flag.Status.OPEN)
    rows = 0
    for rule in rules_in_force(as_of=as_of):
        if kind_get(rule.kind).per_policy:
            continue
        params = rule_params(rule=rule, as_of=as_of, id_from=ALL_IDS[0], id_to=ALL_IDS[1])
        with connection.cursor() as cursor:
            cursor.execute(f"""
                INSERT INTO risk_candidate (as_of, rule_id, subject_type, subject_key, anchor_policy_id, policy_ids,
                                            fingerprint, evidence, sentence_params)
                SELECT %(as_of)s, %(rule_id)s, c.subject_type, c.subject_key,
                       (SELECT min(i) FROM unnest(c.policy_ids) i), c.policy_ids, c.fingerprint, c.evidence,
                       c.sentence_params
                FROM ({kind_get(rule.kind).sql}) AS c (subject_type, subject_key, policy_ids, fingerprint, evidence,
                                                       sentence_params)
                ON CONFLICT DO NOTHING""", {**params, "rule_id": rule.pk})
            rows += cursor.rowcount
        rows += _flags_insert(rule=rule, source=CANDIDATES_WITHOUT_POLICY, params=params)
    return rows


@transaction.atomic  # the chunk's payments are a work table of one transaction (ON COMMIT DROP)
def risk_evaluate(as_of: dt.date, id_from: int, id_to: int) -> int:
    """Chunked: per-policy kinds over the chunk's policies, and the night's cross-policy hits
    whose first policy is in the chunk. Returns the flags raised."""
    raised = 0
    rules = rules_in_force(as_of=as_of)
    days = payment_days(rules=rules)
    if days:
        chunk_payments_prepare(as_of=as_of, id_from=id_from, id_to=id_to, days=days)
    for rule in rules:
        # a subject with a live flag of the rule gets no new one (risk.kinds.UNFLAGGED)
        params = {**rule_params(rule=rule, as_of=as_of, id_from=id_from, id_to=id_to), "skip_flagged": True}
        source = kind_get(rule.kind).sql if kind_get(rule.kind).per_policy else CANDIDATES_OF_CHUNK
        raised += _flags_insert(rule=rule, source=source, params=params)
    return raised


INSTANT_KINDS = ("large_cash",)


def _any_counter_payment(payment_ids: list[int]) -> bool:
    """Whether any of the payments was taken at the counter: the ids as one array parameter (a
    statement's 100,000 payments as an IN list of 100,000 parameters cost 1.6 s to send and plan)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {CounterPayment._meta.db_table} WHERE payment_id = ANY(%s::bigint[]))",
                       [id_array(payment_ids)])
        return cursor.fetchone()[0]


def on_payment_received(event: Event) -> None:
    """Cash at or above the threshold is flagged in the payment's own transaction (core.events
    PAYMENT_RECEIVED), not the next night."""
    ids = sorted(event.payment_ids)
    if not ids or not _any_counter_payment(ids):
        return
    with transaction.atomic():
        raised = 0
        for rule in rules_in_force(as_of=event.as_of, kinds=INSTANT_KINDS):
            params = rule_params(rule=rule, as_of=event.as_of, id_from=ALL_IDS[0], id_to=ALL_IDS[1], payment_ids=ids)
            raised += _flags_insert(rule=rule, source=kind_get(rule.kind).sql, params=params)
        if raised:
            operation_record(action="risk_instant", object_type="payments", object_ref=",".join(map(str, ids))[:200],
                             details={"flags": raised, "source": event.source, "as_of": event.as_of.isoformat()})
