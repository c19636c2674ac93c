"""A deterministic demo portfolio (seed_demo) and one demo user per role.

The same (policies, seed, as_of) always gives the same rows: everything is drawn from one
random.Random(seed) in a fixed order. Policies go through the feed's own staging SQL
(imports.policy_lines_upsert), so the demo exercises the import path.
"""

import datetime as dt
import itertools
import random
import time
from collections.abc import Iterator
from decimal import Decimal

from django.db import transaction

from accounts.models import Team, User
from accounts.services import user_create
from audit.services import audit_context, operation_record
from policies.models import Agent, Branch, Product
from policies.services.branches import branch_paths_refresh
from policies.services.imports import NULL, policy_lines_upsert, timing_log

# (code, name, parent, province, city, ID region codes)
BRANCHES = [
    ("HQ", "总公司", None, "", "", []),
    ("GD", "广东分公司", "HQ", "广东省", "", []),
    ("GD-GZ", "广州中心支公司", "GD", "广东省", "广州市", ["440106", "440104", "440111"]),
    ("GD-SZ", "深圳中心支公司", "GD", "广东省", "深圳市", ["440304", "440305", "440306"]),
    ("BJ", "北京分公司", "HQ", "北京市", "", []),
    ("BJ-CY", "北京朝阳支公司", "BJ", "北京市", "北京市", ["110105", "110108", "110101"]),
    ("SH", "上海分公司", "HQ", "上海市", "", []),
    ("SH-PD", "上海浦东支公司", "SH", "上海市", "上海市", ["310115", "310104", "310101"]),
    ("JS", "江苏分公司", "HQ", "江苏省", "", []),
    ("JS-NJ", "南京中心支公司", "JS", "江苏省", "南京市", ["320102", "320104", "320106"]),
    ("JS-SZ", "苏州中心支公司", "JS", "江苏省", "苏州市", ["320505", "320506", "320508"]),
    ("SC", "四川分公司", "HQ", "四川省", "", []),
    ("SC-CD", "成都中心支公司", "SC", "四川省", "成都市", ["510104", "510105", "510107"]),
    ("ZJ", "浙江分公司", "HQ", "浙江省", "", []),
    ("ZJ-HZ", "杭州中心支公司", "ZJ", "浙江省", "杭州市", ["330106", "330105", "330108"]),
]
LEAF_BRANCHES = [b for b in BRANCHES if b[5]]

# (code, name, kind, grace_days, premium terms, premium range)
PRODUCTS = [
    ("L-WL20", "福寿安康终身寿险", "life", 60, [10, 20], (1200, 24000)),
    ("L-TL10", "定期守护定期寿险", "life", 60, [5, 10], (600, 6000)),
    ("CI-KX", "康馨重大疾病保险", "critical_illness", 60, [10, 20, 30], (2000, 18000)),
    ("CI-YX", "悦享少儿重疾险", "critical_illness", 60, [10, 20], (1500, 9000)),
    ("H-YL", "医乐无忧医疗保险", "health", 30, [5, 10], (800, 5000)),
    ("A-JF", "金福年金保险", "annuity", 60, [3, 5, 10], (10000, 100000)),
    ("A-YY", "颐养天年养老年金", "annuity", 60, [10, 20], (6000, 60000)),
    ("AC-PA", "平安出行意外险", "accident", 30, [5, 10], (300, 2000)),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰春梅海燕文辉晓东雪梅子涵浩然欣怡宇轩梓萱"
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                   "155", "156", "158", "159", "177", "180", "182", "183", "185", "186", "187", "188", "189", "199"]
BANKS = [("中国工商银行", "6222"), ("中国建设银行", "6217"), ("中国农业银行", "6228"), ("中国银行", "6216"),
         ("招商银行", "6225"), ("交通银行", "6222")]
FREQUENCIES = [("monthly", 12, 40), ("annual", 1, 35), ("semiannual", 2, 15), ("quarterly", 4, 10)]
PAYMENT_METHODS = [("auto_debit", 70), ("bank_transfer", 12), ("online", 13), ("counter", 5)]
# The channel that sold the policy: agents sell most life policies in China, banks the next share.
SALES_CHANNELS = [("agency", 55), ("bancassurance", 25), ("telemarketing", 8), ("online", 7), ("group", 5)]
STREETS = ["中山路", "人民路", "解放路", "建设路", "和平路", "新华路", "文化路", "胜利路", "长江路", "黄河路"]

DEMO_PASSWORD = "Renewal-Desk-2026"
# (username, display name, roles, branch codes, team)
DEMO_USERS = [
    ("clerk", "陈晓明（续期专员）", ["clerk"], ["GD-GZ"], "广州续期一组"),
    ("clerk_bj", "李静（续期专员）", ["clerk"], ["BJ-CY"], "北京续期组"),
    ("lead", "王建国（组长）", ["team_lead"], ["GD"], "广州续期一组"),
    ("manager", "张丽（经理）", ["manager"], ["HQ"], None),
    ("finance", "刘洋（财务）", ["finance"], ["HQ"], None),
    ("finance2", "赵敏（财务复核）", ["finance"], ["HQ"], None),
    ("risk", "孙强（风控审核）", ["risk_reviewer"], ["HQ"], None),
    ("auditor", "周芳（审计）", ["auditor"], ["HQ"], None),
    ("underwriter", "吴磊（核保）", ["underwriter"], ["HQ"], None),
    ("claims", "郑华（理赔）", ["claims"], ["HQ"], None),
    ("admin", "系统管理员", ["admin"], ["HQ"], None),
    ("core_feed", "核心系统接口", ["integration"], ["HQ"], None),
]


@transaction.atomic
def demo_reference_data_ensure() -> None:
    """Branches, products (idempotent)."""
    for code, name, parent, province, city, _regions in BRANCHES:
        Branch.objects.update_or_create(
            code=code,
            defaults={"name": name, "province": province, "city": city,
                      "parent": Branch.objects.get(code=parent) if parent else None},
        )
    branch_paths_refresh()
    for code, name, kind, grace, _terms, _range in PRODUCTS:
        Product.objects.update_or_create(code=code, defaults={"name": name, "kind": kind, "grace_days": grace})


# The rows' columns, in the order of imports.STAGE_NAMES.
ROW_COLUMNS = [
    "line", "policy_no", "product_code", "branch_code", "agent_code", "agent_name", "agent_status",
    "holder_name", "holder_id_type", "holder_id_no", "holder_birth_date", "holder_gender", "holder_phone",
    "holder_email", "holder_address", "insured_name", "insured_id_type", "insured_id_no", "insured_birth_date",
    "issue_date", "frequency", "premium_term_years", "modal_premium", "sum_assured", "payment_method",
    "bank_name", "bank_account", "bank_account_name", "paid_to_date", "status", "lapse_date", "sales_channel",
]
_DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
DIGITS = "0123456789"
_CENT = Decimal("0.01")


def _add_months(day: dt.date, months: int) -> dt.date:
    """core.dates.add_months without calendar.monthrange: the same dates, faster."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = 29 if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else _DAYS_IN_MONTH[month - 1]
    d = day.day
    return dt.date(year, month, d if d <= last else last)


def _check_digit(body: str) -> str:
    """GB 11643 check digit of the 17-digit body (stdnum's ric.calc_check_digit)."""
    checksum = (1 - 2 * int(body, 13)) % 11
    return "X" if checksum == 10 else str(checksum)


def _demo_tuples(*, count: int, seed: int, as_of: dt.date) -> Iterator[tuple]:
    """The demo rows as tuples in ROW_COLUMNS order.

    Everything is drawn from one random.Random(seed) in a fixed order. The draws are the ones
    of rng.randrange / rng.choice, made through rng._randbelow (CPython defines randrange(n),
    randrange(a, b), randrange(a, b, step) and choice(seq) by it), which saves a Python call
    per draw: the rows are the same.
    """
    rng = random.Random(seed)
    below = rng._randbelow  # type: ignore[attr-defined]  # CPython's, see above
    rand = rng.random
    getrandbits = rng.getrandbits
    agent_count = max(20, count // 250)
    agents = []
    for i in range(agent_count):
        branch = LEAF_BRANCHES[i % len(LEAF_BRANCHES)]
        given = GIVEN[below(len(GIVEN))] + (GIVEN[below(len(GIVEN))] if rand() < 0.7 else "")
        name = SURNAMES[below(len(SURNAMES))] + given
        agents.append((f"AG{i + 1:06d}", name, "left" if rand() < 0.12 else "active", branch))
    n_given, n_surnames, n_prefixes = len(GIVEN), len(SURNAMES), len(MOBILE_PREFIXES)
    n_products, n_banks, n_streets = len(PRODUCTS), len(BANKS), len(STREETS)
    freq_total = sum(item[-1] for item in FREQUENCIES)
    method_total = sum(item[-1] for item in PAYMENT_METHODS)
    modal_cache: dict[tuple[int, int], Decimal] = {}
    issue_days = [as_of - dt.timedelta(days=d) for d in range(3650)]
    as_of_month, as_of_day = as_of.year * 12 + as_of.month - 1, as_of.day
    as_of_month_days = ((as_of.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)).day
    grace = {days: dt.timedelta(days=days) for *_, days, _terms, _range in PRODUCTS}
    grace_after = {days: dt.timedelta(days=days + 1) for days in grace}
    # The sales channel comes from a generator of its own, seeded by the seed: the other columns
    # draw exactly what they drew before the feed had the column.
    channel_draw = random.Random(f"sales_channel:{seed}").random
    channel_total = sum(weight for _channel, weight in SALES_CHANNELS)
    for i in range(count):
        agent_code, agent_name, agent_status, branch = agents[below(agent_count)]
        p_code, _pname, _kind, grace_days, terms, (low, high) = PRODUCTS[below(n_products)]
        point = rand() * freq_total
        for frequency, per_year, weight in FREQUENCIES:  # noqa: B007 (the chosen one is used after the loop)
            point -= weight
            if point < 0:
                break
        term = terms[below(len(terms))]
        issue = issue_days[30 + below(3620)]
        months = 12 // per_year
        annual_int = low + 100 * below((high - low + 99) // 100)
        annual = Decimal(annual_int)
        modal = modal_cache.get((annual_int, per_year))
        if modal is None:
            modal = modal_cache[(annual_int, per_year)] = (annual / per_year).quantize(_CENT)
        issue_year = issue.year
        age = 20 + below(43)
        male = rand() < 0.5
        birth_year, birth_month, birth_day = issue_year - age, 1 + below(12), 1 + below(28)
        birth = dt.date(birth_year, birth_month, birth_day)
        regions = branch[5]
        region = regions[below(len(regions))]
        body = f"{region}{birth_year:04d}{birth_month:02d}{birth_day:02d}{below(500) * 2 + (1 if male else 0):03d}"
        holder_id = body + _check_digit(body)
        # the next due date after the business date: installments k = 1.. are renewals; k_next
        # is the first whose due date (issue + k * months months) is after as_of, at most the
        # last one. issue + j months is after as_of from j = after_as_of on (months counted
        # from year 0; a day clipped to the month's end as add_months does).
        total = term * per_year
        issue_day = issue.day
        after_as_of = as_of_month - (issue_year * 12 + issue.month - 1) + (
            1 if (issue_day if issue_day <= as_of_month_days else as_of_month_days) <= as_of_day else 0)
        k_next = -(-after_as_of // months)
        k_next = 1 if k_next < 1 else total if k_next > total else k_next
        paid_to = _add_months(issue, k_next * months)
        due_paid = True  # paid up to the next due date
        roll = rand()
        status, lapse_date = "in_force", None
        if roll < 0.05 and k_next >= 2:
            # lapsed: an installment left unpaid past its grace
            k_lapse = 1 + below(k_next - 1)
            due = _add_months(issue, k_lapse * months)
            lapse = due + grace_after[grace_days]
            if lapse <= as_of:
                paid_to = due
                status, lapse_date = "lapsed", lapse
        elif roll < 0.13 and k_next >= 2:
            # overdue, still inside grace
            last_due = _add_months(issue, (k_next - 1) * months)
            if last_due + grace[grace_days] >= as_of:
                paid_to, due_paid = last_due, False
        if status == "in_force" and due_paid and k_next == total:
            # paid to the end of the premium term (issue + term * 12 months): paid up
            status = "paid_up"
        point = rand() * method_total
        for method, weight in PAYMENT_METHODS:  # noqa: B007 (as above)
            point -= weight
            if point < 0:
                break
        given = GIVEN[below(n_given)] + (GIVEN[below(n_given)] if rand() < 0.7 else "")
        holder_name = SURNAMES[below(n_surnames)] + given
        if method == "auto_debit" or rand() < 0.3:
            bank_name, bin_prefix = BANKS[below(n_banks)]
            digits = []
            for _ in range(15):  # below(10), inlined
                r = getrandbits(4)
                while r >= 10:
                    r = getrandbits(4)
                digits.append(DIGITS[r])
            bank_account = bin_prefix + "".join(digits)
            bank_account_name = holder_name
        else:
            bank_name = bank_account = bank_account_name = ""
        if rand() < 0.25:  # a child or spouse insured
            insured_name = holder_name[0] + GIVEN[below(n_given)] + GIVEN[below(n_given)]
            i_year, i_month, i_day = issue_year - (1 + below(17)), 1 + below(12), 1 + below(28)
            insured_birth = dt.date(i_year, i_month, i_day)
            i_male = rand() < 0.5
            body = f"{region}{i_year:04d}{i_month:02d}{i_day:02d}{below(500) * 2 + (1 if i_male else 0):03d}"
            insured_id = body + _check_digit(body)
        else:
            insured_name, insured_id, insured_birth = holder_name, holder_id, birth
        phone = MOBILE_PREFIXES[below(n_prefixes)] + f"{below(10 ** 8):08d}"
        email = f"user{i + 1}@example.cn" if rand() < 0.3 else ""
        address = f"{branch[4]}{STREETS[below(n_streets)]}{1 + below(998)}号"
        sum_assured = annual * (10, 20, 30)[below(3)]
        point = channel_draw() * channel_total
        for sales_channel, weight in SALES_CHANNELS:  # noqa: B007 (as above)
            point -= weight
            if point < 0:
                break
        yield (
            i + 2, f"886{i + 1:013d}", p_code, branch[0], agent_code, agent_name, agent_status,
            holder_name, "resident_id", holder_id, birth, "M" if male else "F", phone, email, address,
            insured_name, "resident_id", insured_id, insured_birth, issue, frequency, term, modal, sum_assured,
            method, bank_name, bank_account, bank_account_name, paid_to, status, lapse_date, sales_channel,
        )


def demo_policy_rows(*, count: int, seed: int, as_of: dt.date) -> Iterator[dict]:
    """The demo portfolio's rows as dicts with every imports.STAGE_NAMES key (clean values:
    dates, Decimals). The same (count, seed, as_of) always gives the same rows."""
    for values in _demo_tuples(count=count, seed=seed, as_of=as_of):
        yield dict(zip(ROW_COLUMNS, values, strict=True))


def _demo_stage_lines(*, count: int, seed: int, as_of: dt.date) -> Iterator[str]:
    """The same rows as COPY text lines for the staging table (imports.stage_line, inlined:
    the generated values hold no tab, newline or backslash), with the customer numbers of
    imports.REF_COLUMNS (every ID is a resident ID)."""
    refs: dict[str, int] = {}  # resident ID number -> its customer number (imports.REF_COLUMNS)
    for (line, policy_no, product_code, branch_code, agent_code, agent_name, agent_status, holder_name,
         holder_id_type, holder_id_no, birth, gender, phone, email, address, insured_name, insured_id_type,
         insured_id_no, insured_birth, issue, frequency, term, modal, sum_assured, method, bank_name,
         bank_account, bank_account_name, paid_to, status, lapse_date, sales_channel) in _demo_tuples(
            count=count, seed=seed, as_of=as_of):
        holder_ref = refs.get(holder_id_no) or refs.setdefault(holder_id_no, len(refs) + 1)
        insured_ref = (holder_ref if insured_id_no == holder_id_no
                       else refs.get(insured_id_no) or refs.setdefault(insured_id_no, len(refs) + 1))
        yield (f"{line}\t{policy_no}\t{product_code}\t{branch_code}\t{agent_code}\t{agent_name}\t{agent_status}\t"
               f"{holder_name}\t{holder_id_type}\t{holder_id_no}\t{birth.isoformat()}\t{gender}\t{phone}\t"
               f"{email}\t{address}\t{insured_name}\t{insured_id_type}\t{insured_id_no}\t"
               f"{insured_birth.isoformat()}\t{issue.isoformat()}\t{frequency}\t{term}\t"
               f"{str(modal)}\t{str(sum_assured)}\t{method}\t{bank_name}\t{bank_account}\t{bank_account_name}\t"
               f"{paid_to.isoformat()}\t{status}\t{NULL if lapse_date is None else lapse_date.isoformat()}\t"
               f"{sales_channel}\t{holder_ref}\t{insured_ref}\n")


def demo_portfolio_seed(*, count: int, seed: int, as_of: dt.date, chunk: int = 2_000_000) -> dict:
    """Create or refresh the demo portfolio; returns created/updated counts.

    The rows stream into one COPY per transaction of up to `chunk` policies (one, for any
    portfolio up to two million): generating them in Python overlaps with PostgreSQL reading
    them, and a first load into an empty database takes policy_rows_upsert's bulk path.
    """
    demo_reference_data_ensure()
    totals = {"created": 0, "updated": 0}
    lines = _demo_stage_lines(count=count, seed=seed, as_of=as_of)
    job = f"seed_demo:{count}:{seed}:{as_of.isoformat()}"
    for _start in range(0, count, chunk):
        batch = itertools.islice(lines, chunk)
        with transaction.atomic(), audit_context(job=job):
            counts = policy_lines_upsert(lines=batch, as_of=as_of, customer_refs=True)
            body_end = time.perf_counter()
        timing_log.debug("policies.timing commit %.3fs", time.perf_counter() - body_end)
        totals["created"] += counts["created"]
        totals["updated"] += counts["updated"]
    # agents of the demo are attached to branches by the staging SQL; their status is the feed's
    operation_record(action="seed_demo", job=job, object_type="policies", object_ref=str(count),
                     details=totals | {"seed": seed, "as_of": as_of.isoformat()})
    return totals


@transaction.atomic
def demo_users_ensure(password: str = DEMO_PASSWORD) -> list[tuple[str, str, str]]:
    """One user per role, with branches and teams; returns (username, roles, branches)."""
    demo_reference_data_ensure()
    listing = []
    for username, display_name, roles, branch_codes, team_name in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(username=username, password=password, roles=roles, display_name=display_name,
                               is_service_user=("integration" in roles))
        if "admin" in roles and not user.is_staff:
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        user.branches.set(Branch.objects.filter(code__in=branch_codes))
        if team_name:
            team, _ = Team.objects.get_or_create(name=team_name)
            team.members.add(user)
            if "team_lead" in roles and team.lead_id != user.pk:
                team.lead = user
                team.save(update_fields=["lead"])
        listing.append((username, ",".join(roles), ",".join(branch_codes)))
    return listing


def demo_agents_count() -> int:
    return Agent.objects.count()
