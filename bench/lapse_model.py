"""Benchmark of the lapse-risk model (issue 18): how good, beside baselines and the truth, and how
fast at scale.

    DATABASE_URL=postgres://root@127.0.0.1:5432/rd_bench_scoring \\
        .venv/bin/python bench/lapse_model.py [--customers 6000] [--months 18] [--seed 7] [--scale]

Quality: a panel made by the demo's behaviour model (simulation.lapse_panel: synthetic customers drawn
like the demo's portfolio, every installment's outcome, debits and payments by the documented
propensities), one row per customer in force every 30 days from 2025-01-01, labelled with a lapse
in the next 90 days. Earlier dates train (as_of + 90 days <= the first test date: no outcome of
the test period reaches training), later dates test. On the test rows: the logistic regression
(the product's model), gradient boosting on the same split, two baselines (the latest debit
failed; days overdue) and the true propensity (what the behaviour model drew with): ROC-AUC,
PR-AUC, top-decile capture, Brier, calibration by decile.

--scale: the nightly step (scoring.services.scores.lapse_risk_score) over every chunk of 50,000
policy ids of the database of DATABASE_URL (a seeded portfolio with its schedules: bench/nightly.py's
seeded shape, or /tmp-made with seed_demo + installments_extend), timed; a version trained on the
panel is stored and approved there first. Only databases whose names start with rd_bench.
"""

import argparse
import datetime as dt
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from scoring import features as F  # noqa: E402
from scoring.metrics import score_metrics  # noqa: E402
from scoring.services.models import _fit_logistic, logistic_scores, time_split  # noqa: E402
from simulation.lapse_panel import panel_generate  # noqa: E402

START = dt.date(2025, 1, 1)


def quality(args) -> tuple:
    began = time.perf_counter()
    data = panel_generate(customers=args.customers, start=START, months=args.months, seed=args.seed)
    made = time.perf_counter() - began
    dates = sorted(set(data.as_of.tolist()))
    train_until = dates[len(dates) // 2 - 2]
    test_from = train_until + dt.timedelta(days=F.HORIZON_DAYS)
    train, test = time_split(data, train_until=train_until, test_from=test_from)
    print(f"panel: {len(data)} rows, {args.customers} customers, {len(dates)} dates {dates[0]}..{dates[-1]} "
          f"({made:.1f} s); lapse rate {data.y.mean():.4f}")
    print(f"train: {len(train)} rows dated {train.as_of.min()}..{train.as_of.max()}, {int(train.y.sum())} lapses; "
          f"test: {len(test)} rows dated {test.as_of.min()}..{test.as_of.max()}, {int(test.y.sum())} lapses")
    x_train, x_test = F.feature_matrix(train.raw), F.feature_matrix(test.raw)
    began = time.perf_counter()
    means, scales, coefficients, intercept = _fit_logistic(x_train, train.y, args.seed)
    fit_lr = time.perf_counter() - began
    p_lr, _contributions = logistic_scores(x_test, means, scales, coefficients, intercept)
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    began = time.perf_counter()
    with threadpool_limits(limits=1):
        booster = HistGradientBoostingClassifier(max_iter=150, random_state=args.seed).fit(x_train, train.y)
        p_gb = booster.predict_proba(x_test)[:, 1]
    fit_gb = time.perf_counter() - began
    raw = test.raw
    rows = {
        "logistic regression (the product's)": (score_metrics(test.y, p_lr), True),
        "gradient boosting, same split": (score_metrics(test.y, p_gb), True),
        "baseline: the latest debit failed": (score_metrics(test.y, raw[:, F.RAW_COLUMNS.index("debit_failed_last")]),
                                              False),
        "baseline: days overdue": (score_metrics(test.y, raw[:, F.RAW_COLUMNS.index("days_overdue")]), False),
        "true propensity (behaviour model)": (score_metrics(test.y, test.true_p), True),
    }
    print(f"\nfit: logistic regression {fit_lr:.2f} s, gradient boosting {fit_gb:.2f} s (one thread)\n")
    print("| score | ROC-AUC | PR-AUC | top-decile capture | Brier |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (m, probability) in rows.items():
        brier = f"{m['brier']:.4f}" if probability else "—"
        print(f"| {name} | {m['roc_auc']:.4f} | {m['pr_auc']:.4f} | {m['top_decile_capture']:.4f} | {brier} |")
    print("\ncalibration by decile (logistic regression | true propensity), test rows:\n")
    print("| decile | rows | mean score | observed | mean truth | observed |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    truth = rows["true propensity (behaviour model)"][0]["calibration"]
    for lr, tr in zip(rows["logistic regression (the product's)"][0]["calibration"], truth, strict=True):
        print(f"| {lr['decile']} | {lr['rows']} | {lr['predicted']:.4f} | {lr['observed']:.4f} | {tr['predicted']:.4f} "
              f"| {tr['observed']:.4f} |")
    return data, train, test


def scale(args, train, test) -> None:
    name = settings.DATABASES["default"]["NAME"]
    if not name.startswith("rd_bench"):
        raise SystemExit(f"--scale runs only on a database whose name starts with rd_bench, not {name}")
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from accounts.services import user_create
    from billing.services.schedules import policy_id_chunks
    from scoring.models import FeatureSnapshot, ModelVersion, PolicyScore
    from scoring.services.models import model_train, model_version_approve
    from scoring.services.retention import snapshots_prune
    from scoring.services.scores import approved_version, chunk_settings, raw_facts_stream, scores_write

    def backend_cpu() -> float:
        """CPU seconds (user + system) of this connection's PostgreSQL process so far (the server
        runs on this machine: /proc), a figure the other load on the machine does not inflate."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    approver = get_user_model().objects.filter(username="bench_admin").first() or user_create(
        username="bench_admin", password="Bench-Password-2026!", roles=["admin"], display_name="bench")
    version = ModelVersion.objects.filter(status=ModelVersion.Status.APPROVED).first()
    if version is None:
        version = model_train(train=train, test=test, seed=args.seed, source="panel", train_from=START,
                              train_until=START, test_from=START, test_until=START, try_boosting=False)
        model_version_approve(version=version, actor=approver)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM policies_policy WHERE status = 'in_force'")
        in_force = cursor.fetchone()[0]
    as_of = dt.date.fromisoformat(args.day)
    for run in range(1, args.runs + 1):
        day = as_of + dt.timedelta(days=run - 1)
        chunks = list(policy_id_chunks(chunk_size=args.chunk))
        totals = {"rows": 0, "read": 0.0, "write": 0.0, "server_cpu": 0.0}
        lock = threading.Lock()

        def work(share: list, day: dt.date = day, totals: dict = totals, lock=lock) -> None:
            """One worker: its chunks one after the other, each chunk lapse_risk_score's two halves
            timed apart (the same calls in the same transaction); the CPU its server process spent."""
            cpu_before = backend_cpu()
            rows, read, write = 0, 0.0, 0.0
            for lo, hi in share:
                with transaction.atomic():
                    chunk_settings()
                    t0 = time.perf_counter()
                    ids, raw = raw_facts_stream(as_of=day, id_from=lo, id_to=hi)
                    t1 = time.perf_counter()
                    rows += scores_write(as_of=day, version=approved_version(), ids=ids, raw=raw, id_from=lo, id_to=hi)
                    read, write = read + t1 - t0, write + time.perf_counter() - t1
            server = backend_cpu() - cpu_before
            connection.close()
            with lock:
                for key, value in (("rows", rows), ("read", read), ("write", write), ("server_cpu", server)):
                    totals[key] += value

        load_before = os.getloadavg()
        client_before = time.process_time()
        began = time.perf_counter()
        # the pipeline runs chunks two at a time in one process (threads): --workers 2 does the same
        threads = [threading.Thread(target=work, args=(chunks[k::args.workers],)) for k in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = time.perf_counter() - began
        client_cpu = time.process_time() - client_before
        t0 = time.perf_counter()
        pruned = snapshots_prune(day)
        prune = time.perf_counter() - t0
        load_after = os.getloadavg()
        print(f"scale run {run} ({day}): {totals['rows']} in-force policies of {in_force} scored in {total:.1f} s "
              f"with {args.workers} worker(s), chunks of {args.chunk:,} ids (summed over workers: features COPY out "
              f"{totals['read']:.1f} s, score + COPY in + upserts {totals['write']:.1f} s); CPU: PostgreSQL "
              f"{totals['server_cpu']:.1f} s + Python {client_cpu:.1f} s; snapshot retention {prune:.2f} s for "
              f"{pruned} rows; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"scores: {PolicyScore.objects.count()}; snapshot rows: {FeatureSnapshot.objects.count()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=6000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", action="store_true")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=50_000, help="policy ids per chunk (the pipeline's chunk size)")
    parser.add_argument("--workers", type=int, default=1, help="chunks scored at the same time (threads)")
    parser.add_argument("--day", default="2026-12-10", help="the first night scored (each run one night later)")
    args = parser.parse_args()
    _data, train, test = quality(args)
    if args.scale:
        scale(args, train, test)


if __name__ == "__main__":
    main()
