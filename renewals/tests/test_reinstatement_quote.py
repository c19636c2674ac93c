import datetime as dt
from decimal import Decimal

import pytest

from policies.models import Policy
from renewals.services.pipeline import nightly_run
from renewals.services.reinstatement import reinstatement_quote

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"


@pytest.fixture
def lapsed_gz(portfolio):
    nightly_run(as_of=dt.date(2026, 11, 25))
    nightly_run(as_of=dt.date(2027, 1, 30))  # GZ lapses on 2027-01-30
    return Policy.objects.get(policy_no=GZ)


def test_quote_on_three_installments_with_interest_rounded_per_installment(lapsed_gz):
    # 4.5% a year, actual/365, 300.00 each: 300 x 0.045 = 13.50 a year
    #   due 2026-11-30, 89 days to 2027-02-27: 13.50 x 89 / 365 = 3.2918 -> 3.29
    #   due 2026-12-31, 58 days:               13.50 x 58 / 365 = 2.1452 -> 2.15
    #   due 2027-01-31, 27 days:               13.50 x 27 / 365 = 0.9986 -> 1.00
    quote = reinstatement_quote(policy=lapsed_gz, on=dt.date(2027, 2, 27))
    assert [(line.due_date, line.amount_due, line.interest) for line in quote.lines] == [
        (dt.date(2026, 11, 30), Decimal("300.00"), Decimal("3.29")),
        (dt.date(2026, 12, 31), Decimal("300.00"), Decimal("2.15")),
        (dt.date(2027, 1, 31), Decimal("300.00"), Decimal("1.00")),
    ]
    assert quote.total == Decimal("906.44")


def test_quote_api_and_the_window(lapsed_gz, make_user, client):
    client.force_login(make_user("clerk_q", ["clerk"], ["GD-GZ"]))
    body = client.get(f"/api/v1/policies/{GZ}/reinstatement-quote/?on=2027-02-27").json()
    assert body == {"policy_no": GZ, "on": "2027-02-27", "total": "906.44", "installments": [
        {"due_date": "2026-11-30", "amount_due": "300.00", "interest": "3.29"},
        {"due_date": "2026-12-31", "amount_due": "300.00", "interest": "2.15"},
        {"due_date": "2027-01-31", "amount_due": "300.00", "interest": "1.00"}]}
    # the window is lapse date + 2 years - 1 day: 2029-01-29 is the last day
    late = client.get(f"/api/v1/policies/{GZ}/reinstatement-quote/?on=2029-01-30")
    assert late.status_code == 400 and "on" in late.json()["errors"]
    assert client.get(f"/api/v1/policies/{GZ}/reinstatement-quote/?on=2019-01-01").status_code == 404
