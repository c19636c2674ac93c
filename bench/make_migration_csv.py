"""Write the three feed files of a portfolio as a migration brings it: branches.csv, products.csv,
policies.csv (header of formats/policy-feed.md), for bench/nightly.py --shape migration.

    .venv/bin/python bench/make_migration_csv.py OUT_DIR --policies 1000000 --seed 1 --as-of 2026-11-25

Unlike bench/make_csv.py (the rows seed_demo loads: nearly every policy paid to its next due
date), this is the book of a department taking over a portfolio from another system: years of
arrears that nobody ran a lapse rule over. Deterministic for (policies, seed, as_of). Shares:

* issue dates spread evenly over the 10 years before the business date (30 days to 10 years);
  premium terms 5 to 30 years, so a policy whose term has ended arrives paid_up (paid to the end
  of its term, nothing scheduled);
* frequencies: monthly 50 %, annual 25 %, quarterly 20 %, semiannual 5 %;
* payment methods: auto_debit 55 % (with a bank account), bank_transfer 30 %, online 10 %,
  counter 5 % (a third of the non-debit policies still have an account registered);
* of the policies still inside their premium term (PAID_TO_SHARES):
  current 16 %     paid to the next due date after the business date;
  in grace 4 %     the latest due date unpaid, its grace not yet over;
  past grace 72 %  arrives in_force with paid_to_date months or years in the past (the months
                   missed counted back from the latest due date whose grace has ended: 2/3 of
                   them exponential with a mean of 9 months, 1/3 uniform over everything since
                   issue), so the first night lapses it (and terminates it too when the lapse
                   date is more than the product's 2-year window ago);
  lapsed 6 %       arrives lapsed with its lapse_date (the day after the grace of the first
                   unpaid installment; those lapsed more than 2 years ago terminate on the
                   first night);
  closed 2 %       arrives surrendered or terminated (not scheduled, not collected);
* agents: one per 250 policies, 10 % of them left (their live policies are reassigned on the
  first night); policy numbers 887 + 13 digits (16 digits, what the shipped reference rule
  finds in a transfer's text; the demo's are 886...), in the file in issue order (ids follow it).

Prints a JSON line with the file's make-up.
"""

import argparse
import csv
import datetime as dt
import json
import os
import random
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

import django  # noqa: E402

django.setup()

from policies.services.demo import BANKS, BRANCHES, GIVEN, MOBILE_PREFIXES, PRODUCTS, STREETS, SURNAMES  # noqa: E402
from policies.services.rows import BRANCH_COLUMNS, POLICY_COLUMNS, PRODUCT_COLUMNS  # noqa: E402

LEAF_BRANCHES = [b for b in BRANCHES if b[5]]
FREQUENCIES = [("monthly", 12, 50), ("annual", 1, 25), ("quarterly", 4, 20), ("semiannual", 2, 5)]
PAYMENT_METHODS = [("auto_debit", 55), ("bank_transfer", 30), ("online", 10), ("counter", 5)]
PAID_TO_SHARES = [("current", 16), ("in_grace", 4), ("past_grace", 72), ("lapsed", 6), ("closed", 2)]
TERMS = [5, 10, 15, 20, 30]
REINSTATEMENT_YEARS = 2
_DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def add_months(day: dt.date, months: int) -> dt.date:
    """core.dates.add_months: the same day n months on, clipped to the month's end."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    last = 29 if month == 2 and leap else _DAYS_IN_MONTH[month - 1]
    return dt.date(year, month, min(day.day, last))


def check_digit(body: str) -> str:
    """GB 11643 check digit of an 18-character resident ID's first 17 digits."""
    checksum = (1 - 2 * int(body, 13)) % 11
    return "X" if checksum == 10 else str(checksum)


def weighted(rng: random.Random, choices: list[tuple]) -> tuple:
    point = rng.random() * sum(c[-1] for c in choices)
    for choice in choices:
        point -= choice[-1]
        if point < 0:
            return choice
    return choices[-1]


def years_later(day: dt.date, years: int) -> dt.date:
    return add_months(day, 12 * years)


def policy_rows(*, count: int, seed: int, as_of: dt.date, stats: Counter):
    """The rows (dicts of POLICY_COLUMNS, text values), in issue order."""
    rng = random.Random(seed)
    agents = []
    for i in range(max(20, count // 250)):
        branch = LEAF_BRANCHES[i % len(LEAF_BRANCHES)]
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        agents.append((f"MA{i + 1:06d}", name, "left" if rng.random() < 0.10 else "active", branch))
    issues = sorted(as_of - dt.timedelta(days=30 + rng.randrange(3620)) for _ in range(count))
    for n, issue in enumerate(issues, start=1):
        agent_code, agent_name, agent_status, branch = rng.choice(agents)
        p_code, _name, _kind, grace_days, _terms, (low, high) = rng.choice(PRODUCTS)
        frequency, per_year, _w = weighted(rng, FREQUENCIES)
        step = 12 // per_year
        term = rng.choice(TERMS)
        annual = Decimal(low + 100 * rng.randrange((high - low + 99) // 100))
        modal = (annual / per_year).quantize(Decimal("0.01"))
        grace = dt.timedelta(days=grace_days)
        term_end = years_later(issue, term)
        # the installments: k = 1 .. per_year * term - 1, due issue + k * step months
        last_k = per_year * term - 1
        status, lapse_date = "in_force", None
        if term_end <= as_of:
            situation = "paid_up"
            status, paid_to = "paid_up", term_end
        else:
            situation = weighted(rng, PAID_TO_SHARES)[0]
            # k_next: the first installment due after as_of (at most the last one)
            months_since = (as_of.year - issue.year) * 12 + as_of.month - issue.month
            k_next = max(1, months_since // step)
            while k_next <= last_k and add_months(issue, k_next * step) <= as_of:
                k_next += 1
            while k_next > 1 and add_months(issue, (k_next - 1) * step) > as_of:
                k_next -= 1
            # k_grace: the latest installment whose grace has ended (0: none yet)
            k_grace = k_next - 1
            while k_grace >= 1 and add_months(issue, k_grace * step) + grace >= as_of:
                k_grace -= 1
            paid_to = add_months(issue, min(k_next, last_k + 1) * step)
            if situation == "in_grace":
                if k_grace < k_next - 1:  # the latest due date is still inside its grace
                    paid_to = add_months(issue, (k_next - 1) * step)
                else:
                    situation = "current"
            elif situation in ("past_grace", "lapsed"):
                if k_grace >= 1:
                    if rng.random() < 2 / 3:
                        back = int(rng.expovariate(1 / 9)) // step
                    else:
                        back = rng.randrange(k_grace)
                    k_paid = max(1, k_grace - back)
                    paid_to = add_months(issue, k_paid * step)
                    if situation == "lapsed":
                        status, lapse_date = "lapsed", paid_to + grace + dt.timedelta(days=1)
                else:
                    situation = "current"
            elif situation == "closed":
                status = rng.choice(["surrendered", "terminated"])
            if situation in ("past_grace", "lapsed"):
                lapsed_on = paid_to + grace + dt.timedelta(days=1)
                if years_later(lapsed_on, REINSTATEMENT_YEARS) <= as_of:
                    stats[f"{situation}_beyond_window"] += 1
        stats[situation] += 1
        stats[frequency] += 1
        method = weighted(rng, PAYMENT_METHODS)[0]
        stats[method] += 1
        holder_name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        age = 20 + rng.randrange(43)
        birth = dt.date(issue.year - age, 1 + rng.randrange(12), 1 + rng.randrange(28))
        male = rng.random() < 0.5
        region = rng.choice(branch[5])
        body = f"{region}{birth:%Y%m%d}{rng.randrange(500) * 2 + (1 if male else 0):03d}"
        holder_id = body + check_digit(body)
        if method == "auto_debit" or rng.random() < 0.33:
            bank_name, prefix = rng.choice(BANKS)
            bank_account = prefix + "".join(rng.choice("0123456789") for _ in range(15))
        else:
            bank_name = bank_account = ""
        if rng.random() < 0.2:  # a child or spouse insured
            insured_name = holder_name[0] + rng.choice(GIVEN) + rng.choice(GIVEN)
            i_birth = dt.date(issue.year - 1 - rng.randrange(17), 1 + rng.randrange(12), 1 + rng.randrange(28))
            i_body = f"{region}{i_birth:%Y%m%d}{rng.randrange(1000):03d}"
            insured_id, insured_birth = i_body + check_digit(i_body), i_birth.isoformat()
        else:
            insured_name = insured_id = insured_birth = ""  # the holder
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}" if rng.random() < 0.9 else ""
        yield {
            "policy_no": f"887{n:013d}", "product_code": p_code, "branch_code": branch[0],
            "agent_code": agent_code, "agent_name": agent_name, "agent_status": agent_status,
            "holder_name": holder_name, "holder_id_type": "resident_id", "holder_id_no": holder_id,
            "holder_birth_date": birth.isoformat(), "holder_gender": "M" if male else "F",
            "holder_phone": phone, "holder_email": f"m{n}@example.cn" if rng.random() < 0.2 else "",
            "holder_address": f"{branch[4]}{rng.choice(STREETS)}{1 + rng.randrange(998)}号",
            "insured_name": insured_name, "insured_id_no": insured_id, "insured_birth_date": insured_birth,
            "issue_date": issue.isoformat(), "frequency": frequency, "premium_term_years": str(term),
            "modal_premium": str(modal), "sum_assured": str(annual * rng.choice((10, 20, 30))),
            "payment_method": method, "bank_name": bank_name, "bank_account": bank_account,
            "bank_account_name": holder_name if bank_account else "", "paid_to_date": paid_to.isoformat(),
            "status": status, "sales_channel": "", "lapse_date": lapse_date.isoformat() if lapse_date else "",
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-11-25")
    args = parser.parse_args()
    as_of = dt.date.fromisoformat(args.as_of)
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
            w.writerow([code, name, kind, grace, REINSTATEMENT_YEARS, "0.045"])
    stats: Counter = Counter()
    columns = list(POLICY_COLUMNS)
    with open(out / "policies.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        for row in policy_rows(count=args.policies, seed=args.seed, as_of=as_of, stats=stats):
            w.writerow([row.get(c, "") for c in columns])
    stats_out = {"policies": args.policies, "seed": args.seed, "as_of": as_of.isoformat(), **dict(sorted(stats.items()))}
    (out / "make-up.json").write_text(json.dumps(stats_out, indent=1))
    print(json.dumps(stats_out))


if __name__ == "__main__":
    main()
