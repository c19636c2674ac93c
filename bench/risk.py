"""Benchmark of the night's risk step (issue 17): the cross-policy rules aggregated over the whole
portfolio, then the per-policy rules and the flags written chunk by chunk, on 1,000,000 policies with
a year of payments and planted patterns for every rule kind.

    .venv/bin/python bench/risk.py [--policies N] [--runs R] [--reuse] [--explain]

Databases (only names starting with rd_bench_risk are touched; BENCH_ADMIN_URL, default
postgres://root@127.0.0.1:5432/postgres, says where):

  rd_bench_risk_base  migrated, seeded (manage.py seed_demo --policies N --seed 1 --as-of 2026-11-25)
                      and scheduled (installments_extend(as_of=2026-11-25)): the portfolio the other
                      benches make (bench/nightly.py --shape seeded). --reuse keeps one holding N
                      policies.
  rd_bench_risk_tpl   a copy of the base, migrated to the code's migrations, with a year of history
                      planted by PLANT_SQL (below, not timed): about 5 million payments, each
                      assigned to its policy, and the patterns the rules look for, a few hundred to a
                      few thousand of each, beside near-misses; VACUUM ANALYZE. --reuse keeps one
                      planted with the same PLANT_VERSION (migrated to the code's migrations).

Each run (R runs, default 3) copies the template into rd_bench_risk_run and times, in process, as
the night does them (renewals' pipeline, registered by renewals.integrations):
  risk_aggregate   one call: every cross-policy rule, one statement each, over the whole portfolio
  risk             risk_evaluate per chunk of 50,000 policy ids, two chunks at a time, each chunk in
                   its own transaction on its own connection (the pipeline's LOCAL_THREADS)
  rerun            the same date again: must raise no flag (idempotent)
and records the flags raised per rule, the seconds per rule (a second, untimed pass with one rule
at a time), and /proc/loadavg before and after. --explain writes EXPLAIN (ANALYZE, BUFFERS) of each
rule's statement (the first chunk for per-policy rules) to var/bench/risk-explain.txt.
Prints one line per step, and a JSON summary as the last line (also var/bench/risk-N.json).
"""

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import money  # noqa: E402  (the shared database plumbing)

ROOT = money.ROOT
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://root@127.0.0.1:5432/postgres")
BASE, TEMPLATE, RUN = "rd_bench_risk_base", "rd_bench_risk_tpl", "rd_bench_risk_run"
SEEDED_ON = dt.date(2026, 11, 25)
AS_OF = dt.date(2026, 11, 26)  # the night timed: the first business date after the seed
CHUNK_SIZE = 50_000
THREADS = 2


def log(message: str) -> None:
    print(f"[risk {time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", file=sys.stderr, flush=True)


def url_of(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def copy_database(source: str, target: str) -> None:
    money.sql(ADMIN_URL, f"DROP DATABASE IF EXISTS {target} WITH (FORCE)")
    money.sql(ADMIN_URL, f"CREATE DATABASE {target} TEMPLATE {source} STRATEGY FILE_COPY")


def count_or_none(url: str, query: str):
    try:
        return money.sql(url, query)[0][0]
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
        return None


def base_setup(policies: int, reuse: bool) -> dict:
    url = url_of(BASE)
    if reuse and count_or_none(url, "SELECT count(*) FROM policies_policy") == policies:
        log(f"reusing {BASE}")
        return {"reused": True}
    setup = money.setup(url, policies, reuse=False)
    start = time.perf_counter()
    env = money.child_env(url)
    subprocess.run([money.PY, "-c", (
        "import django, datetime; django.setup(); "
        "from billing.services.schedules import installments_extend; "
        f"print(installments_extend(as_of=datetime.date.fromisoformat('{SEEDED_ON}')))")],
        cwd=ROOT, env=env, check=True)
    setup["schedule_seconds"] = round(time.perf_counter() - start, 1)
    money.settle(url)
    log(f"base ready: {setup}")
    return setup


# -- the planted year ----------------------------------------------------------------------------
# Bump when PLANT_SQL changes: --reuse then plants afresh.
PLANT_VERSION = "1"
# the payments above are written with their ids: the identity goes on after them
SETVAL = "SELECT setval(pg_get_serial_sequence('billing_payment', 'id'), (SELECT max(id) FROM billing_payment))"
# Sets of policies are picked by id residues (deterministic, spread over every branch and chunk);
# each pattern has a near-miss set just under its threshold. :A is the business date timed.
PLANT_SQL = [
    # a year of premiums: every installment due in the last 365 days before paid_to_date was paid
    # a few days before its due date by the holder, from the policy's account (if it has one)
    """CREATE UNLOGGED TABLE bench_pay AS
       WITH pol AS (
           SELECT p.id, p.holder_id, p.issue_date, p.paid_to_date, p.modal_premium, p.bank_account, p.policy_no,
                  CASE p.frequency WHEN 'monthly' THEN 1 WHEN 'quarterly' THEN 3 WHEN 'semiannual' THEN 6 ELSE 12 END
                      AS step,
                  (extract(year FROM age(:A, p.issue_date)) * 12 + extract(month FROM age(:A, p.issue_date)))::int
                      AS months
           FROM policies_policy p)
       SELECT pol.id AS policy_id, pol.holder_id, pol.policy_no, pol.bank_account, pol.modal_premium AS amount,
              (d.due - (pol.id % 5)::int) AS value_date, d.k, c.name AS holder_name
       FROM pol JOIN policies_customer c ON c.id = pol.holder_id
       CROSS JOIN LATERAL (
           SELECT k, (pol.issue_date + make_interval(months => pol.step * (pol.months / pol.step - k)))::date AS due
           FROM generate_series(0, 12 / pol.step) k) d
       WHERE d.due > :A::date - 365 AND d.due <= :A AND d.due > pol.issue_date AND d.due < pol.paid_to_date""",
    "ALTER TABLE bench_pay ADD COLUMN payment_id bigint",
    """UPDATE bench_pay b SET payment_id = n.base + n.rn FROM (
           SELECT policy_id, k, row_number() OVER (ORDER BY value_date, policy_id, k) AS rn,
                  (SELECT COALESCE(max(id), 0) FROM billing_payment) AS base FROM bench_pay) n
       WHERE n.policy_id = b.policy_id AND n.k = b.k""",
    """INSERT INTO billing_payment (id, source, line_no, account_no, identity, value_date, booking_date, direction,
           amount, currency, payer_name, payer_account, reference, remittance, reversal, status, status_reason,
           created_at, reason_code, reason_params, refund_account)
       SELECT payment_id, 'bank', 0, 'BENCH', 'bench-' || payment_id, value_date, value_date, 'credit', amount, 'CNY',
              holder_name, bank_account, policy_no, '', false, 'matched', '', now(), '', '{}', ''
       FROM bench_pay""",
    """INSERT INTO billing_assignment (amount, status, rule, created_at, policy_id, payment_id)
       SELECT amount, 'confirmed', 'bench', now(), policy_id, payment_id FROM bench_pay""",
    SETVAL,
    "CREATE INDEX ON bench_pay (policy_id)",
    # amount deviation (90 days, 20 %): the latest payment 30 % over; near-miss 15 %; three premiums at once
    """WITH last AS (SELECT DISTINCT ON (policy_id) policy_id, payment_id, amount FROM bench_pay
                     WHERE value_date > :A::date - 90 AND policy_id % 500 IN (11, 12, 13)
                     ORDER BY policy_id, value_date DESC),
            upd AS (UPDATE billing_payment x SET amount = round(l.amount * CASE l.policy_id % 500 WHEN 11 THEN 1.30
                        WHEN 12 THEN 1.15 ELSE 3 END, 2) FROM last l WHERE x.id = l.payment_id RETURNING x.id, x.amount)
       UPDATE billing_assignment a SET amount = upd.amount FROM upd WHERE a.payment_id = upd.id""",
    # a payer who is not the holder (365 days); near-miss: the same, allow-listed as a parent
    """UPDATE billing_payment x SET payer_name = '代缴人' || b.policy_id FROM bench_pay b
       WHERE x.id = b.payment_id AND b.policy_id % 500 IN (21, 22)""",
    """INSERT INTO risk_allowedpayer (payer_name, payer_account, relation, note, created_at, customer_id)
       SELECT DISTINCT '代缴人' || policy_id, '', 'parent', 'bench', now(), holder_id FROM bench_pay
       WHERE policy_id % 500 = 22 ON CONFLICT DO NOTHING""",
    # one account paying for 6 unrelated holders in 90 days; near-miss: for 4
    """WITH pick AS (SELECT policy_id, payment_id, policy_id % 1000 AS kind,
                            (dense_rank() OVER (PARTITION BY policy_id % 1000 ORDER BY policy_id) - 1)
                            / CASE policy_id % 1000 WHEN 31 THEN 6 ELSE 4 END AS grp
                     FROM bench_pay WHERE value_date > :A::date - 90 AND policy_id % 1000 IN (31, 32))
       UPDATE billing_payment x SET payer_account = '6229' || pick.kind || lpad(pick.grp::text, 8, '0'),
                                    payer_name = '某贸易公司' || pick.kind || '-' || pick.grp
       FROM pick WHERE x.id = pick.payment_id""",
    # one holder's monthly policy paid from 4 accounts in a year; near-miss: 3
    """UPDATE billing_payment x SET payer_account = '6223' || b.policy_id || '-' || (b.k % CASE b.policy_id % 1000
           WHEN 41 THEN 4 ELSE 3 END)
       FROM bench_pay b WHERE x.id = b.payment_id AND b.policy_id % 1000 IN (41, 42)""",
    # cash at the counter: 50,000 in one day (hit), 49,999.99 (near-miss), and everyday cash
    "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, "
    "date_joined, display_name, language, is_service_user) VALUES ('!', false, 'bench_finance', '', '', '', false, "
    "true, now(), 'bench', 'zh-hans', false) ON CONFLICT DO NOTHING",
    """CREATE UNLOGGED TABLE bench_extra AS
       SELECT p.id AS policy_id, p.policy_no, c.name AS holder_name, p.bank_account, kind.code,
              CASE kind.code WHEN 'cash' THEN 50000.00 WHEN 'cash_near' THEN 49999.99 WHEN 'large' THEN 150000.00
                             ELSE 120000.00 END AS amount,
              CASE WHEN kind.code LIKE 'cash%' THEN :A::date - (p.id % 20)::int ELSE :A::date - 200 END AS value_date
       FROM policies_policy p JOIN policies_customer c ON c.id = p.holder_id
       JOIN (VALUES (51, 'cash'), (52, 'cash_near'), (71, 'large'), (72, 'large'), (73, 'large_refund'))
            AS kind (residue, code) ON p.id % 2000 = kind.residue""",
    "ALTER TABLE bench_extra ADD COLUMN payment_id bigint",
    """UPDATE bench_extra e SET payment_id = n.base + n.rn FROM (
           SELECT policy_id, row_number() OVER (ORDER BY policy_id) AS rn,
                  (SELECT max(id) FROM billing_payment) AS base FROM bench_extra) n WHERE n.policy_id = e.policy_id""",
    """INSERT INTO billing_payment (id, source, line_no, account_no, identity, value_date, booking_date, direction,
           amount, currency, payer_name, payer_account, reference, remittance, reversal, status, status_reason,
           created_at, reason_code, reason_params, refund_account)
       SELECT payment_id, CASE WHEN code LIKE 'cash%' THEN 'counter' ELSE 'bank' END, 0, 'BENCH', 'bench-' || payment_id,
              value_date, value_date, 'credit', amount, 'CNY', holder_name,
              CASE WHEN code LIKE 'cash%' THEN '' ELSE 'L' || policy_id END, policy_no, '', false, 'matched', '', now(),
              '', '{}', ''
       FROM bench_extra""",
    """INSERT INTO billing_assignment (amount, status, rule, created_at, policy_id, payment_id)
       SELECT amount, 'confirmed', 'bench', now(), policy_id, payment_id FROM bench_extra""",
    SETVAL,
    """INSERT INTO billing_counterpayment (method, receipt_no, payer_id_no, created_at, payment_id, recorded_by_id)
       SELECT 'cash', 'BR' || payment_id, '', now(), payment_id, (SELECT id FROM accounts_user WHERE username = 'bench_finance')
       FROM bench_extra WHERE code LIKE 'cash%'""",
    # everyday cash: the last 30 days' premiums of one policy in 50 were paid at the counter
    """INSERT INTO billing_counterpayment (method, receipt_no, payer_id_no, created_at, payment_id, recorded_by_id)
       SELECT 'cash', 'BR' || payment_id, '', now(), payment_id, (SELECT id FROM accounts_user WHERE username = 'bench_finance')
       FROM bench_pay WHERE policy_id % 50 = 3 AND value_date > :A::date - 30""",
    # a large premium, then a surrender (71) or a refund to the same payer (73); near-miss: no surrender (72)
    """INSERT INTO policies_policystatuschange (status, effective_date, recorded_at, source, rule, reason, void_reason,
                                                policy_id)
       SELECT 'surrendered', :A::date - 100, now(), 'bench', 'surrender', '', '', policy_id FROM bench_extra
       WHERE code = 'large' AND policy_id % 2000 = 71""",
    """INSERT INTO billing_payment (source, line_no, account_no, identity, value_date, booking_date, direction, amount,
           currency, payer_name, payer_account, reference, remittance, reversal, status, status_reason, created_at,
           reason_code, reason_params, refund_account, refunded_on)
       SELECT 'bank', 0, 'BENCH', 'bench-refund-' || policy_id, :A::date - 120, :A::date - 120, 'credit', 20000.00, 'CNY',
              holder_name, 'L' || policy_id, '', '', false, 'refunded', '', now(), '', '{}', 'L' || policy_id,
              :A::date - 50
       FROM bench_extra WHERE code = 'large_refund'""",
    # a refund to an account other than the payer's (81); near-miss: to the payer's own (82)
    """INSERT INTO billing_payment (source, line_no, account_no, identity, value_date, booking_date, direction, amount,
           currency, payer_name, payer_account, reference, remittance, reversal, status, status_reason, created_at,
           reason_code, reason_params, refund_account, refunded_on)
       SELECT 'bank', 0, 'BENCH', 'bench-suspense-' || p.id, :A::date - 60, :A::date - 60, 'credit', 5000.00, 'CNY',
              c.name, 'R' || p.id, p.policy_no, '', false, 'refunded', '', now(), '', '{}',
              CASE p.id % 2000 WHEN 81 THEN 'O' || p.id ELSE 'R' || p.id END, :A::date - 30
       FROM policies_policy p JOIN policies_customer c ON c.id = p.holder_id WHERE p.id % 2000 IN (81, 82)""",
    # reinstated, then a claim 50 days later (61); near-miss: 200 days later (62); everyday claims
    """INSERT INTO policies_policystatuschange (status, effective_date, recorded_at, source, rule, reason, void_reason,
                                                policy_id)
       SELECT 'in_force', :A::date - CASE WHEN id % 2000 = 61 THEN 150 ELSE 300 END, now(), 'bench', :reinstatement, '',
              '', id
       FROM policies_policy WHERE id % 2000 IN (61, 62)""",
    """INSERT INTO risk_claim (claim_no, loss_date, reported_date, kind, status, source, created_at, updated_at,
                               policy_id)
       SELECT 'CLB' || id, :A::date - 100, :A::date - 95, 'medical', 'reported', 'api', now(), now(), id
       FROM policies_policy WHERE id % 2000 IN (61, 62) OR id % 200 = 7""",
    # contact details changed 3 times in 90 days (91), twice (92); one change (or none) for one customer in 20,
    # over the last two years. The trail rows as pghistory writes them (the row after the change), the
    # baseline as the trigger keeps it.
    """CREATE UNLOGGED TABLE bench_contact AS
       SELECT DISTINCT ON (p.holder_id) p.holder_id AS customer_id, p.id % 1000 AS kind FROM policies_policy p
       WHERE p.id % 1000 IN (91, 92) ORDER BY p.holder_id, p.id""",
    """INSERT INTO risk_contactbaseline (customer_id, phone, email, address, recorded_at)
       SELECT c.id, c.phone, c.email, c.address, (:A::date - 100)::timestamptz FROM policies_customer c
       WHERE c.id IN (SELECT customer_id FROM bench_contact) OR c.id % 20 = 5 ON CONFLICT DO NOTHING""",
    """INSERT INTO policies_customerevent ({customer_columns}, pgh_created_at, pgh_label, pgh_obj_id)
       SELECT {customer_columns_changed}, (:A::date - n.day_back)::timestamptz + interval '10 hours', 'update', c.id
       FROM policies_customer c
       JOIN (SELECT customer_id, unnest(CASE kind WHEN 91 THEN ARRAY[80, 50, 20] ELSE ARRAY[80, 50] END) AS day_back
             FROM bench_contact
             UNION ALL SELECT id, (id % 730)::int FROM policies_customer WHERE id % 20 = 5) n ON n.customer_id = c.id
       ORDER BY c.id, n.day_back DESC""",
    # the payer account changed 3 times in a year (95), twice (96): four and three trail rows, the first
    # (the account as it was) 400 days ago
    """INSERT INTO policies_policyevent ({policy_columns}, pgh_created_at, pgh_label, pgh_obj_id)
       SELECT {policy_columns_changed}, (:A::date - n.day_back)::timestamptz + interval '10 hours', 'update', p.id
       FROM policies_policy p
       JOIN LATERAL unnest(CASE WHEN p.id % 1000 = 95 THEN ARRAY[400, 300, 200, 100] ELSE ARRAY[400, 300, 200] END)
            AS n (day_back) ON true
       WHERE p.id % 1000 IN (95, 96)
       ORDER BY p.id, n.day_back DESC""",
    "DROP TABLE bench_pay, bench_extra, bench_contact",
]


def event_columns(url: str, event_table: str, source_table: str) -> list[str]:
    """The tracked model's columns an event table copies (all but pghistory's own)."""
    source = {r[0] for r in money.sql(url, "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                                      (source_table,))}
    return [r[0] for r in money.sql(url, "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                                         "ORDER BY ordinal_position", (event_table,))
            if r[0] in source and not r[0].startswith("pgh_")]


def plant(url: str) -> dict:
    """PLANT_SQL on the template (triggers off: the trail of a planted history is planted itself)."""
    from policies import lifecycle

    customer_columns = event_columns(url, "policies_customerevent", "policies_customer")
    policy_columns = event_columns(url, "policies_policyevent", "policies_policy")
    # a changed phone from the residue and the day; a changed account from the day
    changed_customer = ["'139' || lpad(((c.id * 7 + n.day_back) % 100000000)::text, 8, '0')"
                        if col == "phone" else f"c.{col}" for col in customer_columns]
    changed_policy = ["'6217' || p.id || '-' || n.day_back" if col == "bank_account" else f"p.{col}"
                      for col in policy_columns]
    seconds = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("DROP TABLE IF EXISTS bench_pay, bench_extra, bench_contact")
        for number, statement in enumerate(PLANT_SQL, 1):
            text = (statement.replace("{customer_columns}", ", ".join(customer_columns))
                    .replace("{customer_columns_changed}", ", ".join(changed_customer))
                    .replace("{policy_columns}", ", ".join(policy_columns))
                    .replace("{policy_columns_changed}", ", ".join(changed_policy))
                    .replace(":A", f"DATE '{AS_OF.isoformat()}'")
                    .replace(":reinstatement", f"'{lifecycle.REINSTATEMENT.rule}'"))
            start = time.perf_counter()
            cursor = conn.execute(text)
            seconds[number] = (round(time.perf_counter() - start, 1), cursor.rowcount)
            log(f"plant {number}/{len(PLANT_SQL)}: {seconds[number][1]} rows in {seconds[number][0]}s")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_risk_planted (version text)")
        conn.execute("TRUNCATE bench_risk_planted")
        conn.execute("INSERT INTO bench_risk_planted VALUES (%s)", (PLANT_VERSION,))
    money.settle(url)
    return seconds


def template_setup(policies: int, reuse: bool) -> dict:
    url = url_of(TEMPLATE)
    if reuse and count_or_none(url, "SELECT version FROM bench_risk_planted") == PLANT_VERSION:
        # migrations written since (other apps') are applied to it; the planted rows stay
        subprocess.run([money.PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=money.child_env(url), check=True)
        log(f"reusing {TEMPLATE}")
        return {"reused": True}
    copy_database(BASE, TEMPLATE)
    subprocess.run([money.PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=money.child_env(url), check=True)
    start = time.perf_counter()
    seconds = plant(url)
    return {"plant_seconds": round(time.perf_counter() - start, 1), "statements": seconds,
            "payments": money.sql(url, "SELECT count(*) FROM billing_payment")[0][0]}


# -- the timed night -----------------------------------------------------------------------------

def _chunk(function, lo: int, hi: int) -> tuple[int, float]:
    """One chunk as the pipeline does it (renewals.services.pipeline._chunk_do): its transaction,
    the bulk settings, the night's trail context; on the thread's own connection."""
    from django.db import connections, transaction

    from audit.services import audit_context
    from billing.services.schedules import bulk_transaction_prepare

    start = time.perf_counter()
    try:
        with transaction.atomic(), audit_context(job=f"bench:risk:{lo}-{hi}", business_date=AS_OF.isoformat()):
            bulk_transaction_prepare()
            rows = function(AS_OF, lo, hi)
    finally:
        connections.close_all()
    return rows, time.perf_counter() - start


class BackendCpu(threading.Thread):
    """CPU seconds (user + system) of the PostgreSQL processes serving the run's database, sampled
    every 0.1 s from /proc (the last sample of each: a process's last 0.1 s may be missed). On a
    machine others load, CPU seconds say more than the wall clock."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ticks: dict[int, int] = {}
        self.done = threading.Event()

    def run(self):
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            while not self.done.wait(0.1):
                for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [RUN]).fetchall():
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.ticks[pid] = int(fields[11]) + int(fields[12])

    def seconds(self) -> float:
        self.done.set()
        self.join()
        return round(sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK"), 1)


def night() -> dict:
    from billing.services.schedules import policy_id_chunks
    from risk.services.evaluation import risk_aggregate, risk_evaluate

    out: dict = {"load_before": loadavg()}
    sampler = BackendCpu()
    sampler.start()
    cpu_start = time.process_time()
    start = time.perf_counter()
    rows, seconds = _chunk(risk_aggregate, 0, 2**62)
    out["risk_aggregate"] = {"seconds": round(seconds, 2), "rows": rows}
    chunks = policy_id_chunks(chunk_size=CHUNK_SIZE)
    step_start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda r: _chunk(risk_evaluate, *r), chunks))
    out["risk"] = {"seconds": round(time.perf_counter() - step_start, 2), "rows": sum(r for r, _s in results),
                   "chunks": len(chunks), "slowest_chunk": round(max(s for _r, s in results), 2)}
    out["seconds"] = round(time.perf_counter() - start, 2)
    out["cpu_python"] = round(time.process_time() - cpu_start, 1)
    out["cpu_postgres"] = sampler.seconds()
    out["load_after"] = loadavg()
    return out


def per_rule(url: str) -> dict:
    """Each rule's statement alone (the aggregate's over the portfolio; a per-policy rule's over every
    chunk, one after the other), nothing written: where the night's time goes."""
    from billing.services.schedules import policy_id_chunks
    from risk.kinds import kind_get
    from risk.services.evaluation import rule_hits, rules_in_force

    out = {}
    chunks = policy_id_chunks(chunk_size=CHUNK_SIZE)
    for rule in rules_in_force(as_of=AS_OF):
        start = time.perf_counter()
        if kind_get(rule.kind).per_policy:
            hits = sum(len(rule_hits(rule=rule, as_of=AS_OF, id_from=lo, id_to=hi)) for lo, hi in chunks)
        else:
            hits = len(rule_hits(rule=rule, as_of=AS_OF))
        out[rule.key] = {"seconds": round(time.perf_counter() - start, 2), "hits": hits}
        log(f"  {rule.key:24} {out[rule.key]['seconds']:7.2f}s {hits} hits")
    return out


def explain(path: Path) -> None:
    from django.db import connection

    from billing.services.schedules import policy_id_chunks
    from risk.kinds import kind_get
    from risk.services.evaluation import rule_params, rules_in_force

    lo, hi = policy_id_chunks(chunk_size=CHUNK_SIZE)[0]
    with open(path, "w") as out, connection.cursor() as cursor:
        for rule in rules_in_force(as_of=AS_OF):
            kind = kind_get(rule.kind)
            ids = (lo, hi) if kind.per_policy else (0, 2**62)
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + kind.sql,
                           rule_params(rule=rule, as_of=AS_OF, id_from=ids[0], id_to=ids[1]))
            out.write(f"== {rule.key} ({'chunk ' + str(ids) if kind.per_policy else 'portfolio'})\n")
            out.write("\n".join(row[0] for row in cursor.fetchall()) + "\n\n")
    log(f"EXPLAIN ANALYZE written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the base and the template when they fit")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each rule (first run)")
    parser.add_argument("--no-per-rule", action="store_true", help="skip the per-rule pass")
    args = parser.parse_args()

    run_url = url_of(RUN)
    sys.path.insert(0, str(ROOT))
    os.environ.update(money.child_env(run_url))
    import django

    django.setup()
    from django.db import connections

    summary: dict = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": money.machine(),
                     "policies": args.policies, "as_of": AS_OF.isoformat(), "load_start": loadavg(), "runs": []}
    summary["base"] = base_setup(args.policies, args.reuse)
    summary["template"] = template_setup(args.policies, args.reuse)
    tpl = url_of(TEMPLATE)
    summary["postgresql"] = money.sql(tpl, "SHOW server_version")[0][0]
    summary["sizes"] = {table: money.sql(tpl, f"SELECT count(*) FROM {table}")[0][0] for table in (
        "policies_policy", "policies_customer", "billing_installment", "billing_payment", "billing_assignment",
        "billing_counterpayment", "policies_customerevent", "policies_policyevent", "risk_claim")}
    log(f"sizes: {summary['sizes']}")
    for number in range(1, args.runs + 1):
        connections.close_all()
        copy_database(TEMPLATE, RUN)
        money.sql(run_url, "CHECKPOINT")
        result = {"run": number, "first": night()}
        log(f"run {number}: aggregate {result['first']['risk_aggregate']}, chunks {result['first']['risk']}, "
            f"whole {result['first']['seconds']}s, cpu postgres {result['first']['cpu_postgres']}s python "
            f"{result['first']['cpu_python']}s, load {result['first']['load_before']} -> "
            f"{result['first']['load_after']}")
        result["rerun"] = night()
        log(f"run {number} rerun: {result['rerun']['seconds']}s, flags raised {result['rerun']['risk']['rows']}")
        result["flags"] = dict(money.sql(run_url, "SELECT rule_key, count(*) FROM risk_flag GROUP BY 1 ORDER BY 1"))
        log(f"flags: {result['flags']}")
        if number == 1 and args.explain:
            explain(ROOT / "var" / "bench" / "risk-explain.txt")
        if number == 1 and not args.no_per_rule:
            result["per_rule"] = per_rule(run_url)
        summary["runs"].append(result)
    connections.close_all()
    whole = [r["first"]["seconds"] for r in summary["runs"]]
    summary["median_seconds"] = statistics.median(whole)
    summary["load_end"] = loadavg()
    log(f"the risk step, first night: {whole} -> median {summary['median_seconds']}s (target < 60 s)")
    out = ROOT / "var" / "bench" / f"risk-{args.policies}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, ensure_ascii=False, default=str, indent=1))
    print(json.dumps(summary, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
