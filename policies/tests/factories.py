"""Test data for policies (factory_boy): branches, products, agents, customers, policies and
status-history rows, deterministic (sequences, never random) and shaped like the feed's.

A policy made here is a row, as the core system's feed would leave it: no status history (the
feed import writes none for a new policy either) and no installments until asked for, the way the
nightly run makes them:

    PolicyFactory(branch__code="GD-GZ", product__code="WL20", frequency="monthly",
                  modal_premium=Decimal("300.00"), schedule_as_of=AS_OF)

Branches and products are looked up by code first (`branch__code="GD-GZ"` is the portfolio's
Guangzhou branch when it exists), so a factory policy can sit beside the imported ones.
"""

import datetime as dt
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from accounts.tests.factories import chinese_name
from core.dates import add_months
from policies.models import Agent, Branch, Customer, Policy, PolicyStatusChange, Product
from policies.services.branches import branch_paths_refresh


def resident_id(*, birth_date: dt.date, serial: int, region: str = "110105") -> str:
    """An 18-digit mainland resident ID number with its GB 11643 check digit: region, birth date,
    a 3-digit serial (odd for a man, even for a woman), check digit (X for 10)."""
    body = f"{region}{birth_date:%Y%m%d}{serial % 1000:03d}"
    checksum = (1 - 2 * int(body, 13)) % 11
    return body + ("X" if checksum == 10 else str(checksum))


def branches_named(extracted) -> list[Branch]:
    """The branches a factory's `branches=[...]` names: Branch objects as they are, codes looked up
    (an unknown code raises, so that a typo does not make a user or a team of no branch)."""
    codes = [b for b in extracted if isinstance(b, str)]
    found = {b.code: b for b in Branch.objects.filter(code__in=codes)}
    missing = sorted(set(codes) - set(found))
    if missing:
        raise Branch.DoesNotExist(f"no branch {missing}")
    return [found[b] if isinstance(b, str) else b for b in extracted]


# (province, city, code) of the branches a factory makes when none is named
CITIES = (
    ("广东省", "深圳市", "SZ"),
    ("浙江省", "杭州市", "HZ"),
    ("江苏省", "南京市", "NJ"),
    ("四川省", "成都市", "CD"),
    ("湖北省", "武汉市", "WH"),
    ("山东省", "济南市", "JN"),
    ("福建省", "厦门市", "XM"),
    ("陕西省", "西安市", "XA"),
)
PRODUCTS = (
    ("福寿安康终身寿险", Product.Kind.LIFE),
    ("安心保重大疾病保险", Product.Kind.CRITICAL_ILLNESS),
    ("医乐无忧医疗保险", Product.Kind.HEALTH),
    ("金色年华年金保险", Product.Kind.ANNUITY),
)


class BranchFactory(DjangoModelFactory):
    """A branch (a root unless `parent` is given); its path is refreshed as the import does."""

    class Meta:
        model = Branch
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{CITIES[n % len(CITIES)][2]}{n:03d}")
    province = factory.Sequence(lambda n: CITIES[n % len(CITIES)][0])
    city = factory.Sequence(lambda n: CITIES[n % len(CITIES)][1])
    name = factory.LazyAttribute(lambda o: f"{o.city}中心支公司")
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        branch = super()._create(model_class, *args, **kwargs)
        branch_paths_refresh()
        branch.refresh_from_db(fields=["path"])
        return branch


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"P{n:03d}")
    name = factory.Sequence(lambda n: PRODUCTS[n % len(PRODUCTS)][0])
    kind = factory.Sequence(lambda n: PRODUCTS[n % len(PRODUCTS)][1])
    grace_days = 60
    reinstatement_years = 2
    reinstatement_interest_rate = Decimal("0.045")


class AgentFactory(DjangoModelFactory):
    class Meta:
        model = Agent
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"AG{n:05d}")
    name = factory.Sequence(lambda n: chinese_name(n + 7))
    status = Agent.Status.ACTIVE


class CustomerFactory(DjangoModelFactory):
    """A policyholder with a valid resident ID number; birth date and gender agree with it."""

    class Meta:
        model = Customer

    class Params:
        n = factory.Sequence(int)

    name = factory.LazyAttribute(lambda o: chinese_name(o.n))
    id_type = Customer.IdType.RESIDENT_ID
    birth_date = factory.LazyAttribute(lambda o: dt.date(1960, 1, 1) + dt.timedelta(days=o.n * 97 % 14_600))
    id_no = factory.LazyAttribute(lambda o: resident_id(birth_date=o.birth_date, serial=o.n + 1))
    gender = factory.LazyAttribute(lambda o: "M" if int(o.id_no[16]) % 2 else "F")
    phone = factory.LazyAttribute(lambda o: f"139{o.n:08d}")
    address = factory.LazyAttribute(lambda o: f"广州市天河区体育西路{o.n % 300 + 1}号")


class PolicyFactory(DjangoModelFactory):
    """An annual policy in force, issued 2024-01-15, paid two years ahead, paid by bank transfer;
    the holder is the insured. Traits: `auto_debit` (a bank account on file), `lapsed`.
    `schedule_as_of=<date>` materialises its installments as the nightly run does."""

    class Meta:
        model = Policy
        skip_postgeneration_save = True

    class Params:
        auto_debit = factory.Trait(
            payment_method=Policy.PaymentMethod.AUTO_DEBIT,
            bank_name="中国工商银行",
            bank_account=factory.Sequence(lambda n: f"6222020200{n:06d}"),
            bank_account_name=factory.SelfAttribute("holder.name"),
        )
        lapsed = factory.Trait(
            status="lapsed", lapse_date=factory.LazyAttribute(lambda o: o.paid_to_date + dt.timedelta(days=61))
        )

    # 8869...: apart from the imported portfolio's 8860... numbers
    policy_no = factory.Sequence(lambda n: f"8869{n:012d}")
    product = factory.SubFactory(ProductFactory)
    branch = factory.SubFactory(BranchFactory)
    holder = factory.SubFactory(CustomerFactory)
    insured = factory.SelfAttribute("holder")
    issue_date = dt.date(2024, 1, 15)
    frequency = Policy.Frequency.ANNUAL
    premium_term_years = 20
    modal_premium = Decimal("1000.00")
    sum_assured = Decimal("100000.00")
    payment_method = Policy.PaymentMethod.BANK_TRANSFER
    paid_to_date = factory.LazyAttribute(lambda o: add_months(o.issue_date, 24))

    @factory.post_generation
    def schedule_as_of(obj, create, extracted, **kwargs):
        if create and extracted:
            from billing.services.schedules import installments_extend_chunk  # a test may reach to the right

            installments_extend_chunk(as_of=extracted, id_from=obj.pk, id_to=obj.pk)


class PolicyStatusChangeFactory(DjangoModelFactory):
    """A status-history row written directly (the policy's own status is left as it is: use
    policies.services.status.policy_status_change for a real change). Trait: `voided`."""

    class Meta:
        model = PolicyStatusChange

    class Params:
        voided = factory.Trait(voided_at=factory.LazyFunction(lambda: dt.datetime.now(dt.UTC)), void_reason="reversed")

    policy = factory.SubFactory(PolicyFactory)
    status = "in_force"
    effective_date = factory.SelfAttribute("policy.issue_date")
    source = PolicyStatusChange.Source.NIGHTLY
    rule = ""
