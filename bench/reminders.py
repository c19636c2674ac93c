"""Benchmark of the outbox (issue 13): planning a day's contacts for the whole portfolio, the
re-run that adds nothing, SMS dispatch throughput against the fake provider with two worker
processes, and cancelling the contacts a large statement touches.

    DATABASE_URL=postgres://root@127.0.0.1:5432/rd_bench_outreach \
        .venv/bin/python bench/reminders.py [--policies N] [--reuse] [--dispatch M] [--cancel K]

Only a database whose name starts with rd_bench is touched. Set-up (bench/money.py's): dropped,
created, migrated, seeded (manage.py seed_demo --policies N --seed 1 --as-of 2026-11-25), then
the schedules (billing.services.schedules.installments_extend(as_of=2026-11-25)) and VACUUM
ANALYZE. --reuse keeps a database that holds exactly N policies (its outbox is emptied).

  plan      outreach.services.planning.contacts_plan over chunks of 50,000 policy ids, each in its
            own transaction as the nightly pipeline runs it, reading the chunk's due steps from a
            temp table made first (as renewals' collection_due; its SELECT is timed apart): "day",
            tomorrow's T-7 reminder (step 1) for every in-force policy whose oldest open
            installment falls due in the next 7 days (a week's worth of one step: more than a day
            brings), and "sms", today's T+1 SMS (step 2) for up to M (--dispatch, default 100,000)
            in-force policies with a mobile, the dispatch's set. Channel choice, consent, weekly
            cap and window all in the service's SQL.
  replan    the same again: must add nothing
  dispatch  python -m outreach.fake_gateway on a port of its own (the provider's protocol, its
            signature checked) and two processes running outreach.services.dispatch.contacts_dispatch
            (now = 2026-11-25 10:00 Asia/Shanghai, SMS only, OUTREACH_SMS_RATE=0: no pacing) at
            once; wall time, messages a second, and our own CPU per message (the workers' process
            time; the fake gateway's is reported apart)
  cancel    K (--cancel, default 100,000) installments with a pending contact are marked paid (as a
            statement's allocation would, not timed), then outreach.services.planning.contacts_cancel
            (the money_allocated handler's call) is timed with the K installments' policy ids in
            one call (the bulk matcher publishes once per statement chunk; the handler probes by
            policy: each installment of the event belongs to one of its policies)

Prints one line per step and a JSON summary as the last line (also var/bench/outreach-N.json).
"""

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import money  # noqa: E402  (the shared database plumbing)

ROOT, PY = money.ROOT, money.PY
AS_OF = money.AS_OF
NOW = "2026-11-25T10:00:00+08:00"
CHUNK = 50_000

DUE_T7 = """
SELECT p.id AS policy_id, o.id AS installment_id, p.holder_id, 1::bigint AS step_id, 'T-7'::text AS stage_code,
       'reminder'::text AS kind, ''::text AS channel, false AS urgent, (%(as_of)s::date + 1) AS step_date
FROM policies_policy p
CROSS JOIN LATERAL (SELECT i.id, i.due_date FROM billing_installment i
                    WHERE i.policy_id = p.id AND i.status = ANY(%(open)s) ORDER BY i.sequence LIMIT 1) o
WHERE p.id BETWEEN %(lo)s AND %(hi)s AND p.status = 'in_force'
  AND o.due_date BETWEEN %(as_of)s::date + 1 AND %(as_of)s::date + 7
"""

DUE_SMS = """
SELECT p.id AS policy_id, o.id AS installment_id, p.holder_id, 2::bigint AS step_id, 'T+1'::text AS stage_code,
       'reminder'::text AS kind, 'sms'::text AS channel, false AS urgent, %(as_of)s::date AS step_date
FROM policies_policy p JOIN policies_customer c ON c.id = p.holder_id AND c.phone <> ''
CROSS JOIN LATERAL (SELECT i.id FROM billing_installment i
                    WHERE i.policy_id = p.id AND i.status = ANY(%(open)s) ORDER BY i.sequence LIMIT 1) o
WHERE p.id BETWEEN %(lo)s AND %(hi)s AND p.status = 'in_force' AND p.id <= %(sms_until)s
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def schedules(url: str) -> float:
    start = time.perf_counter()
    subprocess.run([PY, "-c", "import django; django.setup(); import datetime as dt; "
                    "from billing.services.schedules import installments_extend; "
                    "installments_extend(as_of=dt.date(2026, 11, 25))"],
                   cwd=ROOT, env={**money.child_env(url), "DJANGO_SETTINGS_MODULE": "config.settings.dev"}, check=True)
    return time.perf_counter() - start


def plan_all(sms_until: int) -> dict:
    """Per chunk, as the nightly pipeline: the due steps are computed first into a temp table
    (renewals' collection_due; not outreach's work, timed apart), then contacts_plan reads it."""
    from django.db import connection, transaction

    from billing.models import Installment
    from outreach.services.planning import contacts_plan

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM policies_policy")
        low, high = cursor.fetchone()
    out = {"day": {"seconds": 0.0, "rows": 0, "due": 0}, "sms": {"seconds": 0.0, "rows": 0, "due": 0},
           "due_select_seconds": 0.0, "chunks": 0}
    for lo in range(low, high + 1, CHUNK):
        params = {"lo": lo, "hi": lo + CHUNK - 1, "as_of": AS_OF, "open": list(Installment.OPEN_STATUSES),
                  "sms_until": sms_until}
        with transaction.atomic(), connection.cursor() as cursor:
            for key, due in (("day", DUE_T7), ("sms", DUE_SMS)):
                start = time.perf_counter()
                cursor.execute(f"CREATE TEMP TABLE bench_due_{key} ON COMMIT DROP AS {due}", params)
                cursor.execute(f"ANALYZE bench_due_{key}")
                out["due_select_seconds"] += time.perf_counter() - start
                cursor.execute(f"SELECT count(*) FROM bench_due_{key}")
                out[key]["due"] += cursor.fetchone()[0]
                start = time.perf_counter()
                out[key]["rows"] += contacts_plan(due_sql=f"SELECT * FROM bench_due_{key}")
                out[key]["seconds"] += time.perf_counter() - start
        out["chunks"] += 1
    for key in ("day", "sms"):
        out[key]["seconds"] = round(out[key]["seconds"], 2)
    out["due_select_seconds"] = round(out["due_select_seconds"], 2)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WORKER = """
import json, os, time, datetime as dt
import django
django.setup()
from outreach.services.dispatch import contacts_dispatch
start_cpu, start = time.process_time(), time.perf_counter()
counts = contacts_dispatch(now=dt.datetime.fromisoformat(os.environ["BENCH_NOW"]), channels=["sms"])
print(json.dumps({**counts, "cpu": time.process_time() - start_cpu, "wall": time.perf_counter() - start}))
"""


def dispatch(url: str, workers: int = 2) -> dict:
    port = free_port()
    gateway = subprocess.Popen([PY, "-m", "outreach.fake_gateway", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True)
    gateway.stdout.readline()  # "fake Dysms at ..."
    env = {**money.child_env(url), "DJANGO_SETTINGS_MODULE": "config.settings.dev", "BENCH_NOW": NOW,
           "OUTREACH_SMS_ENDPOINT": f"http://127.0.0.1:{port}/", "OUTREACH_SMS_ACCESS_KEY_ID": "dev-key",
           "OUTREACH_SMS_ACCESS_KEY_SECRET": "dev-secret", "OUTREACH_SMS_RATE": "0"}
    gateway_cpu_before = _cpu_of(gateway.pid)
    start = time.perf_counter()
    procs = [subprocess.Popen([PY, "-c", WORKER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(workers)]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.perf_counter() - start
    gateway_cpu = _cpu_of(gateway.pid) - gateway_cpu_before
    gateway.terminate()
    gateway.wait()
    sent = sum(r["sent"] for r in results)
    cpu = sum(r["cpu"] for r in results)
    return {"workers": workers, "sent": sent, "wall_seconds": round(wall, 2),
            "per_second": round(sent / wall, 1) if wall else None,
            "our_cpu_ms_per_message": round(1000 * cpu / sent, 3) if sent else None,
            "gateway_cpu_ms_per_message": round(1000 * gateway_cpu / sent, 3) if sent else None,
            "per_worker": results}


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


DUE_CANCEL = """
SELECT p.id AS policy_id, o.id AS installment_id, p.holder_id, 3::bigint AS step_id, 'T+15'::text AS stage_code,
       'reminder'::text AS kind, ''::text AS channel, false AS urgent, (%(as_of)s::date + 2) AS step_date
FROM policies_policy p
CROSS JOIN LATERAL (SELECT i.id FROM billing_installment i
                    WHERE i.policy_id = p.id AND i.status = ANY(%(open)s) ORDER BY i.sequence LIMIT 1) o
WHERE p.status = 'in_force' AND p.id <= %(until)s
"""


def cancel(url: str, count: int) -> dict:
    from django.conf import settings
    from django.db import connection, transaction

    from billing.models import Installment
    from outreach.models import PlannedContact
    from outreach.services.planning import contacts_cancel, contacts_plan

    with connection.cursor() as cursor:  # enough pending contacts: step 3 for the first policies (not timed)
        cursor.execute("SELECT id FROM policies_policy WHERE status = 'in_force' ORDER BY id OFFSET %s LIMIT 1",
                       [int(count * 1.2)])
        until = (cursor.fetchone() or [10**12])[0]
    settings.OUTREACH_WEEKLY_CAP = 100
    with transaction.atomic():
        contacts_plan(due_sql=DUE_CANCEL, params={"as_of": AS_OF, "open": list(Installment.OPEN_STATUSES),
                                                  "until": until})
    with connection.cursor() as cursor:
        cursor.execute("""SELECT DISTINCT pc.installment_id, pc.policy_id FROM outreach_plannedcontact pc
                          WHERE pc.status = ANY(%s) ORDER BY 1 LIMIT %s""",
                       [[s.value for s in PlannedContact.PENDING_STATUSES], count])
        pairs = cursor.fetchall()
        cursor.execute("UPDATE billing_installment SET status = 'paid', amount_paid = amount_due WHERE id = ANY(%s)",
                       [[i for i, _p in pairs]])
    money.settle(url, "billing_installment", "outreach_plannedcontact")
    start = time.perf_counter()
    with transaction.atomic():  # as the money_allocated handler calls it: by the event's policies
        cancelled = contacts_cancel(reason=PlannedContact.Reason.PAID, policy_ids=[p for _i, p in pairs])
    return {"installments": len(pairs), "cancelled": cancelled, "seconds": round(time.perf_counter() - start, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--policies", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--dispatch", type=int, default=100_000)
    parser.add_argument("--cancel", type=int, default=100_000)
    parser.add_argument("--no-dispatch", action="store_true", help="skip the dispatch step (re-measure the others)")
    args = parser.parse_args()
    url = money.db_url()
    summary = {"policies": args.policies, "machine": money.machine(), "at": dt.datetime.now(dt.UTC).isoformat()}
    summary.update(money.setup(url, args.policies, args.reuse))
    if summary.get("seed_seconds") is not None:
        summary["schedules_seconds"] = round(schedules(url), 1)
        log(f"schedules in {summary['schedules_seconds']}s")
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=money.child_env(url), check=True)
    with psycopg.connect(url, autocommit=True) as conn:
        # CASCADE: the call results, delivery proofs and payment links that point at the outbox go with it
        conn.execute("TRUNCATE outreach_plannedcontact, outreach_consentchange CASCADE")
    money.settle(url)
    django_setup(url)
    from django.db import connection

    with connection.cursor() as cursor:  # the id below which about `--dispatch` in-force policies with a phone lie
        cursor.execute("""SELECT id FROM (SELECT p.id, row_number() OVER (ORDER BY p.id) n FROM policies_policy p
                          JOIN policies_customer c ON c.id = p.holder_id AND c.phone <> ''
                          WHERE p.status = 'in_force') x WHERE n <= %s ORDER BY id DESC LIMIT 1""", [args.dispatch])
        sms_until = cursor.fetchone()[0]
    summary["plan"] = plan_all(sms_until)
    log(f"plan: {summary['plan']}")
    money.settle(url, "outreach_plannedcontact")
    summary["replan"] = plan_all(sms_until)
    log(f"replan: {summary['replan']}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT step_id, status, reason, count(*) FROM outreach_plannedcontact GROUP BY 1, 2, 3 "
                       "ORDER BY 1, 2, 3")
        summary["outbox"] = [list(r) for r in cursor.fetchall()]
    log(f"outbox: {summary['outbox']}")
    connection.close()
    if not args.no_dispatch:
        summary["dispatch"] = dispatch(url)
        log(f"dispatch: { {k: v for k, v in summary['dispatch'].items() if k != 'per_worker'} }")
        with connection.cursor() as cursor:
            cursor.execute("SELECT status, count(*) FROM outreach_plannedcontact WHERE step_id = 2 GROUP BY 1")
            summary["dispatch"]["statuses"] = dict(cursor.fetchall())
    summary["cancel"] = cancel(url, args.cancel)
    log(f"cancel: {summary['cancel']}")
    out = ROOT / "var" / "bench" / f"outreach-{args.policies}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, default=str, indent=1))
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
