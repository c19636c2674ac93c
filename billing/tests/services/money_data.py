"""Policies for the matching tests of issue 9, imported through the real feed import beside the
portfolio fixture's two (GZ 8860000000000001, monthly 300.00; BJ 8860000000000002, annual 1,200.00).

Each is in Guangzhou, product WL20 (grace 60 days). Due dates are issue date + k months (k x 12
for annual, k x 3 for quarterly), so the first open installment of each is the one due on its
paid-to date; the numbers below are worked out by hand in the tests that use them.
"""

import datetime as dt

from conftest import AS_OF, policies_csv
from policies.services.imports import policies_import
from policies.tests import factories


def resident_id(n: int) -> str:
    """A valid 18-digit resident ID (GB 11643 check digit) born 1980-01-01, serial n."""
    return factories.resident_id(birth_date=dt.date(1980, 1, 1), serial=n)


def policy_row(policy_no: str, *, holder: str, id_serial: int, issue: str, frequency: str, premium: str,
               paid_to: str, account: str = "", status: str = "in_force", term: int = 20) -> str:
    method, bank, account_name = ("auto_debit", "中国工商银行", holder) if account else ("bank_transfer", "", "")
    return (f"{policy_no},WL20,GD-GZ,AG001,黄志强,active,{holder},resident_id,{resident_id(id_serial)},,,"
            f"13800000{id_serial:03d},,,,,,{issue},{frequency},{term},{premium},100000.00,"
            f"{method},{bank},{account},{account_name},{paid_to},{status},")


# policy_no: (holder, id serial, issue date, frequency, premium, paid-to date, account, status)
POLICIES = {
    # k = 7 due 2026-10-10, grace to 2026-12-09; k = 8 due 2027-10-10
    "8860000000000003": ("陈静", 3, "2019-10-10", "annual", "5000.00", "2026-10-10", "6222000000000003", "in_force"),
    # k = 67 due 2026-12-15
    "8860000000000004": ("刘洋", 4, "2021-05-15", "monthly", "200.00", "2026-12-15", "6222000000000004", "in_force"),
    # k = 66 due 2026-12-15 .. k = 78 due 2027-12-15
    "8860000000000007": ("郑爽", 7, "2021-06-15", "monthly", "100.00", "2026-12-15", "", "in_force"),
    # k = 57 due 2026-12-20
    "8860000000000008": ("孙丽", 8, "2022-03-20", "monthly", "400.00", "2026-12-20", "6222000000000008", "in_force"),
    # k = 76 due 2026-12-05
    "8860000000000009": ("周杰", 9, "2020-08-05", "monthly", "250.00", "2026-12-05", "6222000000000009", "in_force"),
    # surrendered: no schedule
    "8860000000000010": ("吴刚", 10, "2015-01-01", "annual", "1000.00", "2026-01-01", "", "surrendered"),
    # k = 46 due 2026-11-28 (monthly 120.00) and k = 19 due 2026-11-28 (quarterly 600.00)
    "8860000000000011": ("冯敏", 11, "2023-01-28", "monthly", "120.00", "2026-11-28", "", "in_force"),
    "8860000000000012": ("冯敏", 11, "2022-02-28", "quarterly", "600.00", "2026-11-28", "", "in_force"),
    # two monthly 100.00 policies due on the 10th
    "8860000000000013": ("钱进", 13, "2024-01-10", "monthly", "100.00", "2026-12-10", "", "in_force"),
    "8860000000000014": ("钱进", 13, "2024-02-10", "monthly", "100.00", "2026-12-10", "", "in_force"),
    # one policyholder with two policies
    "8860000000000015": ("赵敏", 15, "2022-04-01", "monthly", "333.00", "2026-12-01", "", "in_force"),
    "8860000000000016": ("赵敏", 15, "2023-04-01", "monthly", "180.00", "2026-12-01", "", "in_force"),
}


def policies_add(*numbers: str) -> None:
    """Import the given policies of POLICIES (all of them when none is given)."""
    rows = []
    for policy_no in numbers or POLICIES:
        holder, serial, issue, frequency, premium, paid_to, account, status = POLICIES[policy_no]
        rows.append(policy_row(policy_no, holder=holder, id_serial=serial, issue=issue, frequency=frequency,
                               premium=premium, paid_to=paid_to, account=account, status=status))
    report = policies_import(files=[("more-policies.csv", policies_csv(*rows))], as_of=AS_OF)
    assert [f["rejected"] for f in report["files"]] == [0], report
