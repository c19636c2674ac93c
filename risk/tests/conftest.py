"""A hand-built portfolio with one planted pattern per rule kind, and near-misses just under each
threshold (issue 17). Built with the real services where they exist (payments, assignments,
refunds, counter payments, claims); customers, policies, installments and history rows by the
factories of policies/tests/factories.py and billing/tests/factories.py."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.services import audit_context
from billing.services.counter import counter_payment_record
from billing.services.payments import payment_assign
from billing.services.suspense import payment_refund
from billing.tests.factories import InstallmentFactory, PaymentFactory
from policies.models import Customer, Policy
from policies.tests.factories import CustomerFactory, PolicyFactory, PolicyStatusChangeFactory
from risk.tests.factories import AllowedPayerFactory, ClaimFactory

AS_OF = dt.date(2026, 11, 25)


def customer(name: str) -> Customer:
    # one phone for all: the one the planted contact changes (3.) start from
    return CustomerFactory(name=name, phone="13800000000")


def policy(no: str, holder: Customer, *, premium: str = "1000.00", branch: str = "GD-GZ", insured=None,
           bank_account: str = "", frequency: str = "annual") -> Policy:
    """Issued 2024-01-15, paid to 2026-01-15, product WL20 (the factory's defaults but these)."""
    return PolicyFactory(policy_no=no, holder=holder, insured=insured or holder, product__code="WL20",
                         branch__code=branch, frequency=frequency, modal_premium=Decimal(premium),
                         bank_account=bank_account)


def paid(p: Policy, amount: str, *, on: dt.date, payer_name: str | None = None, payer_account: str = "",
         identity: str = "") -> None:
    payment = PaymentFactory(
        account_no="RISK", identity=identity or f"{p.policy_no}-{amount}-{on}-{payer_account}", value_date=on,
        amount=Decimal(amount), payer_name=p.holder.name if payer_name is None else payer_name,
        payer_account=payer_account)
    payment_assign(payment=payment, policy=p, amount=Decimal(amount), rule="test")


@pytest.fixture
def planted(reference_data, make_user):
    """Returns the planted policies, customers and accounts by the rule key they should trip."""
    finance = make_user("finance_hq", ["finance"], ["HQ"])
    world: dict = {"finance": finance}
    # 1. three consecutive installments unpaid (P1); near-miss: two, a paid one, one (P1N)
    for no, unpaid in (("RK0000000001", {2, 3, 4}), ("RK0000000002", {2, 3, 5})):
        p = policy(no, customer(f"客户{no[-2:]}"), frequency="monthly", premium="300.00")
        for seq in range(1, 6):
            InstallmentFactory(policy=p, sequence=seq, due_date=dt.date(2026, 5 + seq, 15),
                               grace_end=dt.date(2026, 7 + seq, 14), amount_due=Decimal("300.00"),
                               **({"status": "overdue"} if seq in unpaid else {"paid": True}))
    world["unpaid-installments"] = Policy.objects.get(policy_no="RK0000000001")
    # 2. a payment 30% off the modal premium (P2); near-misses: 15% off, and exactly three premiums
    p2 = policy("RK0000000003", customer("赵二"), premium="1000.00")
    paid(p2, "1300.00", on=dt.date(2026, 10, 1))
    paid(policy("RK0000000004", customer("钱二"), premium="1000.00"), "1150.00", on=dt.date(2026, 10, 1))
    paid(policy("RK0000000005", customer("孙二"), premium="1000.00"), "3000.00", on=dt.date(2026, 10, 1))
    world["amount-deviation"] = p2
    # 3. contact details changed 3 times in 90 days (C3); near-miss: twice. The first change counts:
    # risk_contactbaseline keeps the details as they were before it
    for name, changes in (("周三", 3), ("吴三", 2)):
        c = customer(name)
        policy(f"RK00000000{10 + changes}", c)
        for k in range(changes):
            with audit_context(business_date=f"2026-10-{10 + k}", username="clerk_gz"):
                c.phone = f"1390000000{k}"
                c.save(update_fields=["phone", "updated_at"])
        world.setdefault("contact-changes", c)
    # 4. paid by someone else (P4); the allow-listed parent (P4A) passes
    p4 = policy("RK0000000020", customer("郑四"))
    paid(p4, "1000.00", on=dt.date(2026, 9, 1), payer_name="李四", payer_account="6222000000000404")
    p4a = policy("RK0000000021", customer("王小四"))
    AllowedPayerFactory(customer=p4a.holder, payer_name="王大四", relation="parent")
    paid(p4a, "1000.00", on=dt.date(2026, 9, 1), payer_name="王大四", payer_account="6222000000000405")
    world["third-party-payer"] = p4
    # 6. one account pays for 5 unrelated holders (A6); near-miss: 5 holders, two related (A6N)
    for k in range(5):
        paid(policy(f"RK00000000{30 + k}", customer(f"冯六{k}")), "1000.00", on=dt.date(2026, 10, 5),
             payer_name="", payer_account="6222000000000606")
    h1, h2 = customer("陈六甲"), customer("陈六乙")
    related = [policy("RK0000000040", h1, insured=h2), policy("RK0000000041", h2)]
    related += [policy(f"RK00000000{42 + k}", customer(f"褚六{k}")) for k in range(3)]
    for p in related:
        paid(p, "1000.00", on=dt.date(2026, 10, 5), payer_name="", payer_account="6222000000000607")
    world["shared-payer-account"] = "6222000000000606"
    # 7. a claim 92 days after a reinstatement (P7); near-miss: 212 days after (P7N)
    for no, reinstated, loss in (("RK0000000050", dt.date(2026, 6, 1), dt.date(2026, 9, 1)),
                                 ("RK0000000051", dt.date(2026, 1, 1), dt.date(2026, 8, 1))):
        p = policy(no, customer(f"卫七{no[-1]}"))
        PolicyStatusChangeFactory(policy=p, status="in_force", effective_date=reinstated, source="user",
                                  rule="reinstatement")
        ClaimFactory(policy=p, claim_no=f"CL{no}", loss_date=loss)  # reported 10 days later
    world["reinstatement-claim"] = Policy.objects.get(policy_no="RK0000000050")
    # 8. 120,000 paid, surrendered 7 months later (P8); near-miss: 99,999.00 (P8N)
    for no, amount in (("RK0000000060", "120000.00"), ("RK0000000061", "99999.00")):
        p = policy(no, customer(f"蒋八{no[-1]}"), premium=amount)
        paid(p, amount, on=dt.date(2026, 3, 1))
        PolicyStatusChangeFactory(policy=p, status="surrendered", effective_date=dt.date(2026, 10, 1),
                                  source="feed")
    world["premium-then-refund"] = Policy.objects.get(policy_no="RK0000000060")
    # 9. money refunded to another account (A9); near-miss: back to the payer's own
    for account, destination in (("6222000000000909", "6222000000000999"), ("6222000000000910", "")):
        payment = PaymentFactory(account_no="RISK", identity=f"refund-{account}", value_date=dt.date(2026, 11, 1),
                                 amount=Decimal("5000.00"), payer_name="沈九", payer_account=account)
        payment_refund(payment=payment, actor=finance, reason="无法匹配", as_of=dt.date(2026, 11, 3),
                       destination_account=destination)
    world["refund-other-account"] = "6222000000000909"
    # 10. the payer account changed 3 times in a year (P10); near-miss: twice (P10N)
    for no, changes in (("RK0000000070", 3), ("RK0000000071", 2)):
        p = policy(no, customer(f"韩十{no[-1]}"), bank_account="6222000000001000")
        with audit_context(business_date="2026-02-01"):
            p.bank_name = "工商银行"
            p.save(update_fields=["bank_name", "updated_at"])
        for k in range(changes):
            with audit_context(business_date=f"2026-0{3 + k}-01", username="clerk_gz"):
                p.bank_account = f"622200000000100{k + 1}"
                p.save(update_fields=["bank_account", "updated_at"])
    world["payer-account-changes"] = Policy.objects.get(policy_no="RK0000000070")
    # 11. one customer's policies paid from 4 accounts (C11); near-miss: 3 accounts (C11N)
    for name, accounts in (("杨十一", 4), ("朱十一", 3)):
        c = customer(name)
        ps = [policy(f"RK0000008{accounts}{k}", c) for k in range(2)]
        for k in range(accounts):
            paid(ps[k % 2], "1000.00", on=dt.date(2026, 6 + k, 1), payer_account=f"62220000000011{accounts}{k}")
        world.setdefault("many-accounts", c)
    return world


@pytest.fixture
def cash(planted):
    """5. Cash at the threshold (instant) and under it, and a card payment above it."""
    p5 = policy("RK0000000090", customer("秦五"), premium="50000.00")
    p5n = policy("RK0000000091", customer("尤五"), premium="49999.99")
    p5c = policy("RK0000000092", customer("许五"), premium="80000.00")
    for p, amount, method in ((p5, "50000.00", "cash"), (p5n, "49999.99", "cash"), (p5c, "80000.00", "card")):
        counter_payment_record(method=method, amount=Decimal(amount), value_date=AS_OF, payer_name=p.holder.name,
                               receipt_no=f"R{p.policy_no}", actor=planted["finance"], as_of=AS_OF,
                               policy_no=p.policy_no)
    planted["large-cash"] = p5
    return planted
