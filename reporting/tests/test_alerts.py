"""A planted drop: in December one bank's debits mostly failed (issue 15). The snapshot's facts
are built from real debit lines; the night's alert step names that bank first."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import DebitLine, Installment
from billing.services.schedules import installments_extend, policy_id_chunks
from billing.tests.factories import DebitBatchFactory, DebitLineFactory
from conftest import AS_OF
from core.models import Alert
from policies.models import Policy
from reporting.services.alerts import ALERT_KIND, kpi_alerts
from reporting.services.snapshot import kpi_snapshot

pytestmark = pytest.mark.django_db
ICBC, CCB = "中国工商银行", "中国建设银行"


def _batch(day: dt.date, outcomes: list[tuple[str, str, str]]) -> None:
    """outcomes: (bank, status, reason) per line, all on the Guangzhou policy's first installment."""
    policy = Policy.objects.get(policy_no="8860000000000001")
    installment = Installment.objects.filter(policy=policy).order_by("sequence").first()
    batch = DebitBatchFactory(collection_date=day, status="closed")
    DebitLine.objects.bulk_create([
        DebitLineFactory.build(batch=batch, installment=installment, policy=policy, amount=Decimal("300.00"),
                               bank_name=bank, status=status, reason=reason)
        for bank, status, reason in outcomes])


@pytest.fixture
def planted_drop(portfolio):
    installments_extend(as_of=AS_OF)
    # November: every line paid. December: ICBC still pays; CCB fails 4 of 5 (insufficient funds)
    _batch(dt.date(2026, 11, 16), [(ICBC, "paid", "")] * 5 + [(CCB, "paid", "")] * 5)
    _batch(dt.date(2026, 12, 15), [(ICBC, "paid", "")] * 5 + [(CCB, "paid", "")]
           + [(CCB, "failed", "insufficient_funds")] * 4)
    for lo, hi in policy_id_chunks():
        kpi_snapshot(dt.date(2027, 1, 5), lo, hi)


def test_a_drop_of_one_banks_debits_raises_an_alert_naming_that_bank(planted_drop, make_user):
    assert kpi_alerts(dt.date(2027, 1, 5), 0, 2**62) == 1
    alert = Alert.objects.get(kind=ALERT_KIND)
    details = alert.details
    # 10 of 10 paid in November, 6 of 10 in December: 40 points down. CCB's share of December's
    # answered lines is 5/10 and its rate fell from 1.0 to 0.2: (1.0 - 0.2) x 5/10 = 40.0 points
    assert (details["metric"], details["comparison"], details["previous"]["rate"], details["current"]["rate"]) == (
        "payment_success_rate", "month", "1.0000", "0.6000")
    assert details["contributors"][0] == {"dimension": "bank", "value": CCB, "label": CCB, "points": "40.0",
                                          "failed": 4, "reason": "insufficient_funds"}
    assert all(c["value"] != ICBC for c in details["contributors"])  # ICBC did not move
    # the night after raises nothing new: the same alert is counted again
    kpi_alerts(dt.date(2027, 1, 5), 0, 2**62)
    assert Alert.objects.filter(kind=ALERT_KIND).count() == 1

    client = Client()
    client.force_login(make_user("manager", ["manager"], ["HQ"]))
    response = client.get("/")
    [paragraph] = response.context["alerts"]
    assert CCB in paragraph["text"] and "40.0" in paragraph["text"]
    assert paragraph["links"][0]["url"].startswith("/reporting/drill/?metric=payment_success_rate")
    assert CCB in response.content.decode()
    # the drill-down behind it: the four failed CCB lines and the paid one
    drill = client.get(paragraph["links"][0]["url"])
    assert drill.context["count"] == 5


def test_no_alert_without_a_drop(portfolio):
    installments_extend(as_of=AS_OF)
    _batch(dt.date(2026, 11, 16), [(ICBC, "paid", "")] * 4 + [(ICBC, "failed", "insufficient_funds")])
    _batch(dt.date(2026, 12, 15), [(ICBC, "paid", "")] * 4 + [(ICBC, "failed", "insufficient_funds")])
    for lo, hi in policy_id_chunks():
        kpi_snapshot(dt.date(2027, 1, 5), lo, hi)
    assert kpi_alerts(dt.date(2027, 1, 5), 0, 2**62) == 0


def test_the_rebuild_command_gives_the_same_facts(planted_drop):
    import io

    from django.core.management import call_command

    from reporting.models import DebitFact

    before = sorted(DebitFact.objects.values_list("day", "bank_name", "reason", "lines_sent", "lines_paid"))
    out = io.StringIO()
    call_command("kpi_rebuild", "--as-of", "2027-01-05", "--json", stdout=out)
    assert '"as_of": "2027-01-05"' in out.getvalue()
    assert sorted(DebitFact.objects.values_list("day", "bank_name", "reason", "lines_sent", "lines_paid")) == before


def _open_week_alerts():
    return list(Alert.objects.filter(kind=ALERT_KIND, key__startswith="payment_success_rate:week:",
                                     acknowledged_at__isnull=True))


def test_a_week_over_week_drop_is_one_alert_updated_while_it_lasts_and_closed_when_it_ends(portfolio):
    # given: every day of December one ICBC line and one CCB line; CCB's fail on the 15th to the
    # 18th (insufficient funds), every other line is paid
    installments_extend(as_of=AS_OF)
    failing = {dt.date(2026, 12, d) for d in (15, 16, 17, 18)}
    for d in range(1, 32):
        day = dt.date(2026, 12, d)
        ccb = (CCB, "failed", "insufficient_funds") if day in failing else (CCB, "paid", "")
        _batch(day, [(ICBC, "paid", ""), ccb])
    for lo, hi in policy_id_chunks():
        kpi_snapshot(dt.date(2027, 1, 5), lo, hi)

    # when: the nights of 9 December to 2 January check their last 7 days against the 7 before
    nights = {}
    for offset in range(25):
        night = dt.date(2026, 12, 9) + dt.timedelta(days=offset)
        kpi_alerts(night, 0, 2**62)
        nights[night] = [(a.key, a.occurrences, a.details["current"]["rate"]) for a in _open_week_alerts()]

    # then: nothing before the 16th (14 of 14 lines paid in both weeks)
    assert all(nights[dt.date(2026, 12, d)] == [] for d in range(9, 16))
    # the 16th: 9-15 Dec 13 of 14 paid (0.9286) against 2-8 Dec 14 of 14: 7.14 points, one alert
    key = "payment_success_rate:week:all:2026-12-09"
    assert nights[dt.date(2026, 12, 16)] == [(key, 1, "0.9286")]
    # the same alert every night of the drop, updated: the 19th, 12-18 Dec 10 of 14 (0.7143);
    # the 23rd, 16-22 Dec 11 of 14 (0.7857) against 9-15 Dec 13 of 14 (0.9286): 14.29 points
    assert nights[dt.date(2026, 12, 19)] == [(key, 4, "0.7143")]
    assert nights[dt.date(2026, 12, 23)] == [(key, 8, "0.7857")]
    # the 24th: 17-23 Dec 12 of 14 against 10-16 Dec 12 of 14: no drop, the alert is closed
    assert all(nights[dt.date(2026, 12, d)] == [] for d in range(24, 32))
    assert nights[dt.date(2027, 1, 2)] == []
    [alert] = Alert.objects.filter(kind=ALERT_KIND, key__startswith="payment_success_rate:week:")
    assert (alert.occurrences, alert.details["since"], alert.details["as_of"], alert.details["ended_on"]) == (
        8, "2026-12-16", "2026-12-23", "2026-12-24")
    assert alert.details["contributors"][0]["value"] == CCB


def test_an_open_drop_is_one_banner_on_the_dashboard(portfolio, make_user):
    installments_extend(as_of=AS_OF)
    for d in range(1, 20):
        day = dt.date(2026, 12, d)
        _batch(day, [(ICBC, "paid", ""), (CCB, "failed", "insufficient_funds") if d >= 15 else (CCB, "paid", "")])
    for lo, hi in policy_id_chunks():
        kpi_snapshot(dt.date(2027, 1, 5), lo, hi)
    for d in (16, 17, 18, 19):
        kpi_alerts(dt.date(2026, 12, d), 0, 2**62)
    client = Client()
    client.force_login(make_user("manager", ["manager"], ["HQ"]))
    alerts = client.get("/").context["alerts"]
    week = [a for a in alerts if a["alert"].key.startswith("payment_success_rate:week:")]
    assert len(week) == 1
    assert "2026-12-16" in week[0]["text"]  # since the first night of the drop
