"""Fixtures shared by every test: the real PostgreSQL (pytest-django's test database) and
data built with the real services."""

import datetime as dt

import pytest

from accounts.tests.factories import PASSWORD as PASSWORD  # tests import it from here
from accounts.tests.factories import UserFactory
from policies.models import Branch
from policies.services.imports import policies_import
from policies.tests.factories import BranchFactory, ProductFactory

AS_OF = dt.date(2026, 11, 25)

BRANCHES_CSV = """branch_code,name,parent_code,province,city
HQ,总公司,,,
GD,广东分公司,HQ,广东省,
GD-GZ,广州中心支公司,GD,广东省,广州市
BJ,北京分公司,HQ,北京市,北京市
"""
PRODUCTS_CSV = """product_code,name,kind,grace_days,reinstatement_years,reinstatement_interest_rate
WL20,福寿安康终身寿险,life,60,2,0.045
H30,医乐无忧医疗保险,health,30,2,0.045
"""
POLICY_HEADER = (
    "policy_no,product_code,branch_code,agent_code,agent_name,agent_status,holder_name,holder_id_type,"
    "holder_id_no,holder_birth_date,holder_gender,holder_phone,holder_email,holder_address,insured_name,"
    "insured_id_no,insured_birth_date,issue_date,frequency,premium_term_years,modal_premium,sum_assured,"
    "payment_method,bank_name,bank_account,bank_account_name,paid_to_date,status,lapse_date"
)
# 11010519491231002X: the GB 11643 standard's own example (check digit X)
GZ_POLICY = (
    "8860000000000001,WL20,GD-GZ,AG001,黄志强,active,张伟,resident_id,11010519491231002X,1949-12-31,F,"
    "13812345678,zhang@example.cn,广州市天河区中山路1号,,,,2020-01-31,monthly,20,300.00,100000.00,"
    "auto_debit,中国工商银行,6222020200001234,张伟,2026-11-30,in_force,"
)
BJ_POLICY = (
    "8860000000000002,H30,BJ,AG002,李娜,left,王芳,resident_id,110105198001010024,,,13987654321,,,"
    ",,,2024-02-29,annual,10,1200.00,50000.00,bank_transfer,,,,2026-02-28,in_force,"
)


def policies_csv(*rows: str) -> bytes:
    return ("\n".join([POLICY_HEADER, *rows]) + "\n").encode()


def default_plan_restore() -> None:
    """The shipped default collection plan, put back where a transactional test earlier on this
    worker flushed the migrations' rows (a night without it plans no reminder and opens no case)."""
    from renewals.models import CollectionPlan

    if not CollectionPlan.objects.filter(is_default=True).exists():
        from importlib import import_module

        from django.apps import apps
        import_module("renewals.migrations.0005_default_plan").create(apps, None)
        import_module("renewals.migrations.0015_plan_step_min_lapse_risk").create(apps, None)
        import_module("renewals.migrations.0017_reinstatement_invitation").create(apps, None)


def matching_rules_restore() -> None:
    """The shipped matching rules, put back where a transactional test earlier on this worker
    flushed the migrations' rows (without them no statement line is matched set-based)."""
    from billing.models import MatchingRule

    if not MatchingRule.objects.exists():
        from importlib import import_module

        from django.apps import apps
        import_module("billing.migrations.0004_default_matching_rules").create(apps, None)
        import_module("billing.migrations.0014_partial_defaults_and_reason_codes_data").shipped_rules_accept_partial(
            apps, None)


@pytest.fixture
def portfolio(db):
    """Two branches' worth of reference data and two policies (one in Guangzhou, one in Beijing),
    with the shipped default collection plan and matching rules."""
    default_plan_restore()
    matching_rules_restore()
    report = policies_import(
        files=[("branches.csv", BRANCHES_CSV.encode()), ("products.csv", PRODUCTS_CSV.encode()),
               ("policies.csv", policies_csv(GZ_POLICY, BJ_POLICY))],
        as_of=AS_OF,
    )
    assert [f["rejected"] for f in report["files"]] == [0, 0, 0], report
    return report


@pytest.fixture
def make_user(db):
    """make_user(username, roles, branch codes): accounts.tests.factories.UserFactory, the head office's
    staff by default (branches that do not exist are left out)."""

    def make(username: str, roles: list[str], branches: list[str] = ("HQ",)):
        return UserFactory(username=username, display_name=username, roles=roles,
                           branches=list(Branch.objects.filter(code__in=branches)))

    return make


@pytest.fixture
def reference_data(db):
    """The portfolio's branches and products without its policies (built by the factories)."""
    hq = BranchFactory(code="HQ", name="总公司", province="", city="")
    gd = BranchFactory(code="GD", name="广东分公司", parent=hq, province="广东省", city="")
    BranchFactory(code="GD-GZ", name="广州中心支公司", parent=gd, province="广东省", city="广州市")
    BranchFactory(code="BJ", name="北京分公司", parent=hq, province="北京市", city="北京市")
    ProductFactory(code="WL20", name="终身寿险", kind="life", grace_days=60)
    ProductFactory(code="H30", name="医疗保险", kind="health", grace_days=30)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """With --dist loadgroup (bin/test) xdist gives every test of a group (xdist_group) to one worker
    by suffixing its node id with the group's name. Under pytest 9.2 that suffix is silently lost
    (the node id became a structured value): every worker then built the demo for itself and the
    suite took minutes longer. Such a test fails before its fixtures are set up."""
    if (item.config.getoption("loadgroup", default=False) and item.get_closest_marker("xdist_group")
            and "@" not in item.nodeid):
        pytest.fail("xdist_group is ignored by this pytest and pytest-xdist pair: install the versions "
                    "requirements.lock names", pytrace=False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and a copy of it taken before any test runs: a transactional
    test (the real Celery worker's) empties the test database when it ends, data migrations' rows
    (the default collection plan, the matching rules, the message templates) included. Tests that
    need the database as migrations left it (the demo's build) start from the copy,
    `<test database>_pristine`."""
    from django.db import connection, connections

    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
        pristine = f"{name}_pristine"
        connections.close_all()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{pristine}"')
            cursor.execute(f'CREATE DATABASE "{pristine}" TEMPLATE "{name}"')
    yield
    with django_db_blocker.unblock():
        connections.close_all()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{pristine}"')


# the browser fixtures, defined once for the whole session (tests/e2e and the demo's role tour)
from tests.e2e.browser_fixtures import browser, login, new_page, page  # noqa: E402, F401
