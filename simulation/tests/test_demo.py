"""The built demo department (conftest: 400 policies, seed 1, the 90 business dates up to
2026-06-30), asked by querying what a newcomer should find in it."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Q
from django.test import Client

from accounts.models import User
from billing.models import Assignment, DebitLine, Payment
from policies.models import Policy
from renewals.models import Application, Case, DueListEntry, Hold, NightlyRun
from simulation.models import DemoBuild, DemoDay
from simulation.selectors import demo_digest, demo_digest_rows, demo_story
from simulation.services import demo_build
from simulation.tests.conftest import DAYS, END, POLICIES, SEED

START = END - dt.timedelta(days=DAYS - 1)  # 2026-04-02
# the mark makes pytest-django create the (empty) test database, the demo's starting point; the
# tests themselves run on copies of the built demo (conftest), outside any test transaction
# the built demo is a session fixture: its tests share one xdist worker (bin/test --dist loadgroup)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("demo")]


def _scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def test_every_business_date_of_the_span_ran_and_is_recorded(demo_db):
    build = DemoBuild.objects.get()
    assert (build.status, build.start, build.end, build.policies) == ("complete", START, END, POLICIES)
    assert list(NightlyRun.objects.order_by("as_of").values_list("as_of", flat=True)) == [
        START + dt.timedelta(days=n) for n in range(DAYS)]
    assert set(NightlyRun.objects.values_list("status", flat=True)) == {"finished"}
    assert DemoDay.objects.count() == DAYS
    # files come on working days only: 2026-04-04 is a Saturday
    assert not DemoDay.objects.get(day=dt.date(2026, 4, 4)).working_day
    assert DemoDay.objects.get(day=dt.date(2026, 4, 6)).working_day


def test_the_story_situations_exist(demo_db):
    story = demo_story()
    for situation in ("partial_payment", "lapse", "lapse_reversal", "in_grace", "failed_debit_case",
                      "failed_debit_new_account", "debit_retried", "deferral", "reinstatement", "moratorium"):
        assert story[situation]["count"] > 0, (situation, {k: v["count"] for k, v in story.items()})
    # a failed debit for good opens a case; the policy's customer then pays from a new account
    hard = DebitLine.objects.filter(status="failed", reason__in=["account_frozen", "account_closed",
                                                                 "invalid_account", "name_mismatch"])
    assert Case.objects.filter(type="failed_debit", policy__in=hard.values("policy")).exists()
    assert Payment.objects.filter(remittance__contains="新账户", status="matched").exists()
    # every failure reason the bank gives appears
    assert {"insufficient_funds", "account_frozen", "account_closed"} <= set(
        DebitLine.objects.filter(status="failed").values_list("reason", flat=True))


def test_suspense_holds_lines_with_their_reasons(demo_db):
    open_lines = Payment.objects.filter(direction="credit", status__in=["suspense", "proposed"])
    assert open_lines.exists()
    # finance refunded or kept strangers' money, each with the reason written down
    decided = Payment.objects.filter(status__in=["refunded", "kept"])
    assert decided.exists()
    assert not decided.filter(status_reason="").exists()


def test_applications_and_decisions_in_each_state(demo_db):
    states = set(Application.objects.values_list("kind", "status"))
    assert {("reinstatement", "completed"), ("deferral", "completed"), ("plan_change", "completed")} <= states
    assert any(status in ("submitted", "referred", "accepted", "approved") for _kind, status in states)  # waiting
    # said no to: a servicing application (the lead, with a reason), and a proposal of the matching
    # rules (finance), a hold (the lead) or a reinstatement (underwriting)
    assert any(kind != "reinstatement" and status == "rejected" for kind, status in states)
    assert (Assignment.objects.filter(status="rejected").exists() or Hold.objects.filter(status="rejected").exists()
            or ("reinstatement", "declined") in states)
    # finance confirmed the rules' proposals or matched money by hand
    assert Assignment.objects.filter(Q(matched_by__username="finance") | Q(approved_by__username="finance")).exists()


def test_every_in_force_policy_has_its_schedule(demo_db):
    assert Policy.objects.filter(status="in_force").exists()
    # its next installment after the last business date is there, unless its premium term has ended
    assert _scalar("""
        SELECT count(*) FROM policies_policy p
        WHERE p.status = 'in_force' AND NOT EXISTS (
            SELECT 1 FROM billing_installment i WHERE i.policy_id = p.id AND i.status <> 'cancelled'
              AND (i.due_date > %s OR i.sequence = (p.premium_term_years *
                   CASE p.frequency WHEN 'monthly' THEN 12 WHEN 'quarterly' THEN 4 WHEN 'semiannual' THEN 2
                                    ELSE 1 END) - 1))
    """, [END]) == 0


def test_the_trail_carries_the_business_date(demo_db):
    # a person's action on a date of the span: its trail context says which date
    dated = _scalar("SELECT count(*) FROM pghistory_context WHERE metadata ? 'business_date'")
    assert dated > 0
    first = _scalar("SELECT min(metadata->>'business_date') FROM pghistory_context WHERE metadata ? 'business_date'")
    assert START.isoformat() <= first <= END.isoformat()


@pytest.mark.parametrize("window", ["month", "quarter", "year"])
def test_the_due_lists_answer_with_rows_for_a_signed_in_clerk(demo_db, window):
    assert DueListEntry.objects.exists()
    client = Client()
    client.force_login(User.objects.get(username="clerk"))
    response = client.get("/renewals/due/", {"window": window})
    assert response.status_code == 200
    # the clerk sees Guangzhou's policies only; some of them are due in the window
    gz = list(Policy.objects.filter(branch__code="GD-GZ").values_list("policy_no", flat=True))
    assert any(number in response.content.decode() for number in gz)


def test_an_interrupted_build_continues_to_the_same_demo(fresh_db):
    """Rebuilding with the same seed, size and end date gives the same policies, money and
    statuses, also when the build was stopped half-way and continued."""
    half = START + dt.timedelta(days=DAYS // 2)
    build = demo_build(policies=POLICIES, seed=SEED, end=END, days=DAYS, until=half)
    assert build.status == "building" and build.days.count() == DAYS // 2 + 1
    # what may happen between two runs of bin/dev and must not change the demo: the autovacuum ran
    # (rows moved on disk, the planner's statistics and plans changed) and the sequences moved on
    # (every later row gets another id than in the build without a stop)
    with connection.cursor() as cursor:
        cursor.execute("SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences "
                       "WHERE schemaname = 'public' ORDER BY 1")
        for n, (sequence,) in enumerate(cursor.fetchall()):
            cursor.execute("SELECT setval(%s, nextval(%s) + %s)", [sequence, sequence, 1000 + 37 * n])
        cursor.execute("VACUUM ANALYZE")
    build = demo_build()  # the next bin/dev: no arguments, the build's own span
    assert build.status == "complete"
    rows = demo_digest_rows()
    # table by table, the rows that differ (the first few), before the digest itself
    differ = {table: ([r for r in rows[table] if r not in set(fresh_db.rows[table])][:5],
                      [r for r in fresh_db.rows[table] if r not in set(rows[table])][:5])
              for table in rows if rows[table] != fresh_db.rows[table]}
    assert differ == {}
    assert demo_digest() == fresh_db.digest


def test_lapsed_policies_are_invited_to_reinstate_the_day_after_with_proof(demo_db):
    from outreach.models import DeliveryProof, PlannedContact

    # the default plan's R+1: the day after the lapse date, for policies that lapsed inside the span
    invitations = PlannedContact.objects.filter(stage_code="R+1")
    assert invitations.exists()
    lapsed_in_span = Policy.objects.filter(lapse_date__gte=START, lapse_date__lt=END)
    assert all(c.step_date == c.policy.lapse_date + dt.timedelta(days=1)
               for c in invitations.select_related("policy") if c.policy.lapse_date is not None)
    assert set(invitations.values_list("policy_id", flat=True)) <= set(
        Policy.objects.filter(status_changes__status="lapsed").values_list("pk", flat=True))
    assert lapsed_in_span.filter(planned_contacts__stage_code="R+1").exists()
    # sent through the real path, and each one handed over is kept as delivery proof with the receipt
    sent = invitations.filter(sent_at__isnull=False, bundle_lead__isnull=True)
    assert sent.exists()
    proofs = DeliveryProof.objects.filter(notice="reinstatement_invitation")
    assert proofs.count() == invitations.filter(sent_at__isnull=False).count()
    assert proofs.filter(channel="sms", delivered_at__isnull=False).exists()
