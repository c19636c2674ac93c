"""Write the three feed files of a demo portfolio: branches.csv, products.csv, policies.csv.

    .venv/bin/python bench/make_csv.py OUT_DIR --policies 1000000 --seed 1 --as-of 2026-11-25

policies.csv has the header of formats/policy-feed.md and the rows of demo_policy_rows (the
same rows seed_demo loads), so importing it gives the same portfolio as seed_demo.
"""

import argparse
import csv
import datetime as dt
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

import django  # noqa: E402

django.setup()

from policies.services.demo import BRANCHES, PRODUCTS, demo_policy_rows  # noqa: E402
from policies.services.rows import BRANCH_COLUMNS, POLICY_COLUMNS, PRODUCT_COLUMNS  # noqa: E402


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-11-25")
    args = parser.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "branches.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(BRANCH_COLUMNS)
        for code, name, parent, province, city, _regions in BRANCHES:
            w.writerow([code, name, parent or "", province, city])
    with open(out / "products.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(PRODUCT_COLUMNS)
        for code, name, kind, grace, _terms, _range in PRODUCTS:
            w.writerow([code, name, kind, grace, 2, "0.045"])
    with open(out / "policies.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(POLICY_COLUMNS)
        rows = demo_policy_rows(count=args.policies, seed=args.seed, as_of=dt.date.fromisoformat(args.as_of))
        w.writerows([_text(row[c]) for c in POLICY_COLUMNS] for row in rows)


if __name__ == "__main__":
    main()
