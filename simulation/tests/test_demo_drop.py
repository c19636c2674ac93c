"""The demo's one explained drop (issue 15): a bank's system is down for the span's last week
(simulation.behaviour.bank_outage), its debit lines rejected; the night's KPI alert names it."""

import datetime as dt

import pytest

from billing.models import DebitLine
from core.models import Alert
from reporting.services.alerts import ALERT_KIND
from simulation.behaviour import OUTAGE_BANK
from simulation.tests.conftest import END

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("demo")]


def test_the_bank_outage_of_the_last_week_is_the_open_alert_s_first_cause(demo_db):
    week = (END - dt.timedelta(days=7), END - dt.timedelta(days=1))
    lines = DebitLine.objects.filter(batch__collection_date__range=week, bank_name=OUTAGE_BANK)
    # every line that bank received that week was rejected with its words for a system failure
    assert lines.exists()
    assert not lines.exclude(status=DebitLine.Status.FAILED).exists()
    assert set(lines.values_list("reason", flat=True)) == {DebitLine.Reason.OTHER}
    assert set(lines.values_list("reason_text", flat=True)) == {"银行系统故障，交易未处理"}
    # the other banks that week answered as their customers' plans say: some were collected
    assert DebitLine.objects.filter(batch__collection_date__range=week, status=DebitLine.Status.PAID).exists()

    alert = Alert.objects.get(kind=ALERT_KIND, key__startswith="payment_success_rate:week:",
                              acknowledged_at__isnull=True)
    details = alert.details
    assert details["current"]["to"] == (END - dt.timedelta(days=1)).isoformat()
    assert float(details["points"]) > 5
    first = details["contributors"][0]
    assert (first["dimension"], first["value"], first["reason"]) == ("bank", OUTAGE_BANK, DebitLine.Reason.OTHER)
