"""A deterministic demo portfolio (seed_demo) and one demo user per role.

The same (policies, seed, as_of) always gives the same rows: everything is drawn from one
random.Random(seed) in a fixed order. Policies go through the feed's own staging SQL
(policy_rows_upsert), so the demo exercises the import path.
"""

import datetime as dt
import random
import time
from collections.abc import Iterator
from decimal import Decimal

from django.db import transaction
from stdnum.cn import ric

from accounts.models import Team, User
from accounts.services import user_create
from audit.services import audit_context, operation_record
from core.dates import add_months
from policies.models import Agent, Branch, Product
from policies.services.branches import branch_paths_refresh
from policies.services.imports import phase_timer, policy_rows_upsert, timing_log

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


def _pick_weighted(rng: random.Random, items: list[tuple]) -> tuple:
    total = sum(item[-1] for item in items)
    point = rng.random() * total
    for item in items:
        point -= item[-1]
        if point < 0:
            return item
    return items[-1]


def _id_number(rng: random.Random, region: str, birth: dt.date, male: bool) -> str:
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


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


def demo_policy_rows(*, count: int, seed: int, as_of: dt.date) -> Iterator[dict]:
    rng = random.Random(seed)
    agent_count = max(20, count // 250)
    agents = []
    for i in range(agent_count):
        branch = LEAF_BRANCHES[i % len(LEAF_BRANCHES)]
        agents.append((f"AG{i + 1:06d}", _name(rng), "left" if rng.random() < 0.12 else "active", branch))
    for i in range(count):
        agent_code, agent_name, agent_status, branch = agents[rng.randrange(agent_count)]
        product = PRODUCTS[rng.randrange(len(PRODUCTS))]
        p_code, _pname, _kind, grace_days, terms, (low, high) = product
        frequency, per_year, _w = _pick_weighted(rng, FREQUENCIES)
        term = rng.choice(terms)
        issue = as_of - dt.timedelta(days=rng.randrange(30, 3650))
        months = 12 // per_year
        annual = Decimal(rng.randrange(low, high, 100))
        modal = (annual / per_year).quantize(Decimal("0.01"))
        age = rng.randrange(20, 63)
        male = rng.random() < 0.5
        birth = dt.date(issue.year - age, rng.randrange(1, 13), rng.randrange(1, 29))
        region = rng.choice(branch[5])
        holder_id = _id_number(rng, region, birth, male)
        # the next due date after the business date: installments k = 1.. are renewals
        total = term * per_year
        k_next = 1
        while k_next < total and add_months(issue, k_next * months) <= as_of:
            k_next += 1
        due_next = add_months(issue, k_next * months)
        roll = rng.random()
        status, lapse_date = "in_force", ""
        paid_to = due_next
        term_end = add_months(issue, term * 12)
        if roll < 0.05 and k_next >= 2:
            # lapsed: an installment left unpaid past its grace
            k_lapse = rng.randrange(1, k_next)
            lapse = add_months(issue, k_lapse * months) + dt.timedelta(days=grace_days + 1)
            if lapse <= as_of:
                paid_to = add_months(issue, k_lapse * months)
                status, lapse_date = "lapsed", lapse
        elif roll < 0.13 and k_next >= 2:
            # overdue, still inside grace
            last_due = add_months(issue, (k_next - 1) * months)
            if last_due + dt.timedelta(days=grace_days) >= as_of:
                paid_to = last_due
        if status == "in_force" and paid_to >= term_end:
            paid_to, status = term_end, "paid_up"
        method = _pick_weighted(rng, PAYMENT_METHODS)[0]
        bank_name = bank_account = bank_account_name = ""
        holder_name = _name(rng)
        if method == "auto_debit" or rng.random() < 0.3:
            bank_name, bin_prefix = rng.choice(BANKS)
            bank_account = bin_prefix + "".join(str(rng.randrange(10)) for _ in range(15))
            bank_account_name = holder_name
        insured_name, insured_id, insured_birth = holder_name, holder_id, birth
        if rng.random() < 0.25:  # a child or spouse insured
            insured_name = holder_name[0] + rng.choice(GIVEN) + rng.choice(GIVEN)
            insured_birth = dt.date(issue.year - rng.randrange(1, 18), rng.randrange(1, 13), rng.randrange(1, 29))
            insured_id = _id_number(rng, region, insured_birth, rng.random() < 0.5)
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10 ** 8):08d}"
        yield {
            "line": i + 2, "policy_no": f"886{i + 1:013d}", "product_code": p_code, "branch_code": branch[0],
            "agent_code": agent_code, "agent_name": agent_name, "agent_status": agent_status,
            "holder_name": holder_name, "holder_id_type": "resident_id", "holder_id_no": holder_id,
            "holder_birth_date": birth, "holder_gender": "M" if male else "F", "holder_phone": phone,
            "holder_email": f"user{i + 1}@example.cn" if rng.random() < 0.3 else "",
            "holder_address": f"{branch[4]}{rng.choice(STREETS)}{rng.randrange(1, 999)}号",
            "insured_name": insured_name, "insured_id_type": "resident_id", "insured_id_no": insured_id,
            "insured_birth_date": insured_birth, "issue_date": issue, "frequency": frequency,
            "premium_term_years": term, "modal_premium": modal, "sum_assured": annual * rng.choice([10, 20, 30]),
            "payment_method": method, "bank_name": bank_name, "bank_account": bank_account,
            "bank_account_name": bank_account_name, "paid_to_date": paid_to, "status": status,
            "lapse_date": lapse_date or None,
        }


def demo_portfolio_seed(*, count: int, seed: int, as_of: dt.date, chunk: int = 200_000) -> dict:
    """Create or refresh the demo portfolio; returns created/updated counts."""
    demo_reference_data_ensure()
    totals = {"created": 0, "updated": 0}
    rows = demo_policy_rows(count=count, seed=seed, as_of=as_of)
    job = f"seed_demo:{count}:{seed}:{as_of.isoformat()}"
    while True:
        with phase_timer("generate"):
            batch = [row for _, row in zip(range(chunk), rows, strict=False)]
        if not batch:
            break
        with transaction.atomic(), audit_context(job=job):
            counts = policy_rows_upsert(rows=batch, as_of=as_of)
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
