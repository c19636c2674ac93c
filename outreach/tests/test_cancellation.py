"""Pending contacts are cancelled the moment they are pointless (a hold or moratorium approved, a
deferral, a lapse or termination), in the same transaction; what a gateway has is not sent again,
and contacts left in `sending` by a crashed dispatcher are resolved without sending twice."""

import datetime as dt

import pytest

from outreach.models import PlannedContact
from outreach.services.cancellation import contacts_cancel_ended
from outreach.services.dispatch import contacts_dispatch, contacts_sending_resolve
from outreach.tests.conftest import BJ, GZ, at, plan
from policies.models import Branch, Policy, PolicyStatus
from renewals.models import Hold, Moratorium
from renewals.services.holds import hold_request, moratorium_request, suspension_decide
from renewals.services.steps import STEP_FUNCTIONS, STEPS

pytestmark = pytest.mark.django_db
SMS = {"code": "T+1", "channel": "sms"}


def _states(policy_no=GZ):
    return sorted(PlannedContact.objects.filter(policy__policy_no=policy_no)
                  .values_list("stage_code", "status", "reason"))


@pytest.fixture
def people(make_user):
    return make_user("tl_a", ["team_lead"], ["GD"]), make_user("tl_b", ["team_lead"], ["GD"])


def test_an_approved_hold_cancels_the_pending_contacts_dated_inside_it(gz, people, settings):
    settings.OUTREACH_WEEKLY_CAP = 10
    plan({"step_id": 1, "code": "T+1", "date": dt.date(2026, 12, 1)},
         {"step_id": 2, "code": "T+7", "date": dt.date(2026, 12, 7)},
         {"step_id": 3, "code": "T+2", "date": dt.date(2026, 12, 2)})
    PlannedContact.objects.filter(step_id=3).update(status="sending")  # with the gateway already
    maker, checker = people
    hold = hold_request(policy=gz, start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 5), reason="住院", actor=maker)
    assert _states()[0][1] == "planned"  # requested only: nothing changes
    suspension_decide(suspension=hold, approve=True, actor=checker)
    assert _states() == [("T+1", "cancelled", "on_hold"), ("T+2", "sending", ""), ("T+7", "planned", "")]


def test_a_rejected_hold_cancels_nothing(gz, people):
    plan(SMS)
    maker, checker = people
    hold = hold_request(policy=gz, start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 5), reason="住院", actor=maker)
    suspension_decide(suspension=Hold.objects.get(pk=hold.pk), approve=False, actor=checker)
    assert _states() == [("T+1", "planned", "")]


def test_a_moratorium_cancels_the_contacts_of_the_policies_it_covers_only(gz, people, make_user):
    from billing.models import Installment

    seq = Installment.objects.filter(policy__policy_no=BJ).order_by("sequence").values_list("sequence", flat=True)[0]
    plan(SMS, {**SMS, "policy_no": BJ, "sequence": seq})
    maker, checker = people
    moratorium = moratorium_request(name="台风", start=dt.date(2026, 11, 28), end=dt.date(2026, 12, 10),
                                    reason="台风灾区", actor=maker, city="广州市")
    suspension_decide(suspension=Moratorium.objects.get(pk=moratorium.pk), approve=True, actor=checker)
    assert _states(GZ) == [("T+1", "cancelled", "on_hold")]
    assert _states(BJ) == [("T+1", "planned", "")]
    assert Branch.objects.get(code="BJ").city != "广州市"


def test_the_night_step_is_registered_after_termination():
    names = [name for name, _f, _c in STEPS]
    assert names.index("contacts_cancel") == names.index("terminate") + 1
    assert STEP_FUNCTIONS["contacts_cancel"] is contacts_cancel_ended


def test_a_lapse_suppresses_the_reminders_before_it_and_keeps_the_lapse_notice(gz):
    plan({"step_id": 1, "code": "T+45", "date": dt.date(2027, 1, 14)},
         {"step_id": 2, "code": "G+1", "date": dt.date(2027, 1, 30)})
    Policy.objects.filter(pk=gz.pk).update(status=PolicyStatus.LAPSED, lapse_date=dt.date(2027, 1, 30))
    assert contacts_cancel_ended(dt.date(2027, 1, 30), gz.pk, gz.pk) == 1
    assert _states() == [("G+1", "planned", ""), ("T+45", "suppressed", "lapsed")]
    assert contacts_cancel_ended(dt.date(2027, 1, 30), gz.pk, gz.pk) == 0  # idempotent


@pytest.mark.parametrize(("status", "reason"), [(PolicyStatus.TERMINATED, "ended"), (PolicyStatus.DEFERRED, "deferred"),
                                                (PolicyStatus.SURRENDERED, "ended")])
def test_a_policy_that_stopped_paying_has_its_contacts_suppressed(gz, status, reason):
    plan(SMS)
    Policy.objects.filter(pk=gz.pk).update(status=status)
    assert contacts_cancel_ended(dt.date(2026, 12, 1), gz.pk - 1, gz.pk + 1) == 1
    assert _states() == [("T+1", "suppressed", reason)]


def test_the_chunk_scope_is_respected(gz):
    plan(SMS)
    Policy.objects.filter(pk=gz.pk).update(status=PolicyStatus.TERMINATED)
    assert contacts_cancel_ended(dt.date(2026, 12, 1), gz.pk + 1, gz.pk + 1000) == 0
    assert _states() == [("T+1", "planned", "")]


def test_a_deferral_approved_during_the_day_stops_the_send(gz, sms_gateway, default_templates):
    plan(SMS)
    Policy.objects.filter(pk=gz.pk).update(status=PolicyStatus.DEFERRED)  # approved at 07:30
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 0))["sent"] == 0
    assert sms_gateway.messages == [] and _states() == [("T+1", "suppressed", "deferred")]


class Crash(Exception):
    """The worker dies right after the provider accepted the batch, before marking it sent."""


def _crash_after_handover(monkeypatch):
    from outreach.gateways import dysms

    real_send = dysms.send_batch

    def send_then_crash(**kwargs):
        real_send(**kwargs)
        raise Crash

    monkeypatch.setattr(dysms, "send_batch", send_then_crash)


def test_a_crashed_sms_dispatcher_is_resolved_without_sending_twice(gz, sms_gateway, default_templates, monkeypatch):
    from billing.models import Installment

    seq = Installment.objects.filter(policy__policy_no=BJ).order_by("sequence").values_list("sequence", flat=True)[0]
    plan(SMS, {**SMS, "policy_no": BJ, "sequence": seq})
    _crash_after_handover(monkeypatch)
    with pytest.raises(Crash):
        contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    monkeypatch.undo()
    assert len(sms_gateway.messages) == 2
    assert {c.status for c in PlannedContact.objects.all()} == {"sending"}
    assert all(PlannedContact.objects.values_list("idempotency_key", flat=True))
    # a dispatcher pass does not touch them; the sweep leaves a fresh batch alone (a live worker's)
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 1))["claimed"] == 0
    assert contacts_sending_resolve(now=dt.datetime.now(dt.UTC))["sms_confirmed"] == 0
    later = at(2030, 1, 7, 10, 0)  # well after the claim (real time), inside the day's window
    assert contacts_sending_resolve(now=later) == {"replanned": 0, "sms_confirmed": 2, "interrupted": 0}
    assert len(sms_gateway.messages) == 2  # asked again with the same OutId: not sent again
    assert set(PlannedContact.objects.values_list("status", "provider_ref")) == {
        ("sent", sms_gateway.messages[0]["biz_id"])}


def test_a_contact_claimed_but_never_handed_over_is_planned_again(gz, sms_gateway, default_templates):
    from outreach.services.dispatch import contacts_claim

    plan(SMS)
    contacts_claim(now=at(2026, 12, 1, 8, 0), channels=["sms"], limit=10)  # then the worker died
    later = at(2030, 1, 7, 10, 0)  # well after the claim (real time), inside the day's window
    assert contacts_sending_resolve(now=later)["replanned"] == 1
    assert contacts_dispatch(now=later)["sent"] == 1
    assert len(sms_gateway.messages) == 1


def test_a_crashed_email_hand_over_is_not_sent_again(gz, smtp_server, default_templates, monkeypatch):
    from django.core.mail import EmailMessage

    plan({"code": "T+1", "channel": "email"})

    real_send = EmailMessage.send

    def send_then_crash(self, fail_silently=False):
        real_send(self, fail_silently)
        raise Crash

    monkeypatch.setattr(EmailMessage, "send", send_then_crash)
    with pytest.raises(Crash):
        contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    monkeypatch.undo()
    later = at(2030, 1, 7, 10, 0)  # well after the claim (real time), inside the day's window
    assert contacts_sending_resolve(now=later)["interrupted"] == 1
    contacts_dispatch(now=later)
    assert len(smtp_server.messages) == 1
    assert _states() == [("T+1", "failed", "interrupted")]


def test_a_statement_s_cancel_compares_its_ids_as_bigint_so_postgresql_hashes_them():
    """A statement's money event cancels the reminders of its 20,000 policies. psycopg sends a list
    of ids below 2**31 as integer[]; against the bigint policy_id, integer[] makes the = ANY a
    cross-type comparison PostgreSQL does not hash, so each pending contact walked the whole list:
    1.0 s for 20,000 policies on the migration shape, 0.04 s as bigint[] (bench/RESULTS.md part 18)."""
    from django.db import connection

    from outreach.services.planning import CANCEL_SQL, PlannedContact

    sql = CANCEL_SQL.format(condition="true", pending_in=PlannedContact.PENDING_SQL_IN)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (VERBOSE) " + sql, {
            "cancelled": "cancelled", "reason": "paid", "pending": ["planned"],
            "policy_ids": list(range(1, 20_001)), "installment_ids": list(range(1, 11))})
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "policy_id = ANY ('{1,2,3" in plan and "installment_id = ANY ('{1,2,3" in plan, plan[:2000]
    assert "::integer[]" not in plan and plan.count("::bigint[]") >= 2, plan[:2000]
