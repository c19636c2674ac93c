import datetime as dt
from decimal import Decimal

import pytest

from audit.models import Operation
from billing.models import Installment
from billing.services.schedules import installments_extend
from conftest import AS_OF, BJ_POLICY, GZ_POLICY, policies_csv
from policies.services.imports import policies_import

pytestmark = pytest.mark.django_db


def _schedule(policy_no):
    return list(Installment.objects.filter(policy__policy_no=policy_no).order_by("sequence")
                .values_list("sequence", "due_date", "grace_end", "amount_due", "status"))


def test_month_end_clipping_is_computed_from_the_issue_date(portfolio):
    # GZ: issued 2020-01-31, monthly, paid to 2026-11-30; horizon = 2026-11-25 + 13 months = 2027-12-25.
    installments_extend(as_of=AS_OF)
    due_dates = [row[1] for row in _schedule("8860000000000001")]
    assert due_dates == [
        dt.date(2026, 11, 30), dt.date(2026, 12, 31), dt.date(2027, 1, 31), dt.date(2027, 2, 28),
        dt.date(2027, 3, 31), dt.date(2027, 4, 30), dt.date(2027, 5, 31), dt.date(2027, 6, 30),
        dt.date(2027, 7, 31), dt.date(2027, 8, 31), dt.date(2027, 9, 30), dt.date(2027, 10, 31),
        dt.date(2027, 11, 30),
    ]
    first = _schedule("8860000000000001")[0]
    # k = 82: 2020-01-31 + 82 months; grace 60 days inclusive -> 2027-01-29
    assert first == (82, dt.date(2026, 11, 30), dt.date(2027, 1, 29), Decimal("300.00"), "scheduled")


def test_leap_day_annual_policy_is_due_28_february_and_overdue_before_the_business_date(portfolio):
    # BJ: issued 2024-02-29, annual, 30 days' grace (H30), paid to 2026-02-28.
    installments_extend(as_of=AS_OF)
    assert _schedule("8860000000000002") == [
        (2, dt.date(2026, 2, 28), dt.date(2026, 3, 30), Decimal("1200.00"), "overdue"),
        (3, dt.date(2027, 2, 28), dt.date(2027, 3, 30), Decimal("1200.00"), "scheduled"),
    ]


def test_nothing_is_due_on_or_after_the_end_of_the_premium_term(reference_data):
    # quarterly, 10 years from 2017-03-15: k = 1..39, the last due 2026-12-15; 2027-03-15 is the term's end.
    row = (GZ_POLICY.replace("2020-01-31,monthly,20", "2017-03-15,quarterly,10")
           .replace("2026-11-30,in_force", "2026-09-15,in_force"))
    policies_import(files=[("p.csv", policies_csv(row))], as_of=AS_OF)
    installments_extend(as_of=AS_OF)
    assert [(r[0], r[1], r[4]) for r in _schedule("8860000000000001")] == [
        (38, dt.date(2026, 9, 15), "overdue"), (39, dt.date(2026, 12, 15), "scheduled")]


def test_a_due_date_equal_to_the_business_date_is_due(reference_data):
    row = GZ_POLICY.replace("2020-01-31,monthly", "2020-01-25,monthly").replace("2026-11-30,in_force",
                                                                                   "2026-11-25,in_force")
    policies_import(files=[("p.csv", policies_csv(row))], as_of=AS_OF)
    installments_extend(as_of=AS_OF)
    assert _schedule("8860000000000001")[0][1:] == (dt.date(2026, 11, 25), dt.date(2027, 1, 24),
                                                    Decimal("300.00"), "due")


def test_extending_is_idempotent_and_moves_the_horizon(portfolio):
    first = installments_extend(as_of=AS_OF)
    assert first == 13 + 2
    assert installments_extend(as_of=AS_OF) == 0
    # a month later the horizon is 2027-12-25 + 1 month -> 2028-01-25: GZ gains 2027-12-31
    assert installments_extend(as_of=dt.date(2026, 12, 25)) == 1
    assert _schedule("8860000000000001")[-1][1] == dt.date(2027, 12, 31)
    assert Operation.objects.filter(action="installments_extend").count() == 2  # one per chunk with rows


def test_lapsed_policies_are_scheduled_and_paid_up_ones_are_not(reference_data):
    lapsed = BJ_POLICY.replace(",in_force,", ",lapsed,2026-03-31")
    paid_up = GZ_POLICY.replace(",in_force,", ",paid_up,")
    policies_import(files=[("p.csv", policies_csv(lapsed, paid_up))], as_of=AS_OF)
    installments_extend(as_of=AS_OF)
    assert len(_schedule("8860000000000002")) == 2
    assert _schedule("8860000000000001") == []


def test_a_schedule_is_extended_after_its_last_sequence_never_into_it(portfolio):
    # The statement inserts without ON CONFLICT: it must never write a sequence the policy has.
    # GZ (monthly from 2020-01-31, paid to 2026-11-30) has k = 82 and 85 written already, as a
    # frequency change or an earlier run may leave them; the night writes 86..94 (due 2027-03-31 ..
    # 2027-11-30, the horizon 2027-12-25), not 83 or 84, and raises nothing.
    from policies.models import Policy

    gz = Policy.objects.get(policy_no="8860000000000001")
    for sequence, due in ((82, dt.date(2026, 11, 30)), (85, dt.date(2027, 2, 28))):
        Installment.objects.create(policy=gz, sequence=sequence, due_date=due, grace_end=due + dt.timedelta(days=60),
                                   amount_due=Decimal("300.00"), status="scheduled")
    installments_extend(as_of=AS_OF)
    sequences = [row[0] for row in _schedule("8860000000000001")]
    assert sequences == [82, 85, *range(86, 95)]
    assert _schedule("8860000000000001")[2][1] == dt.date(2027, 3, 31)
    assert installments_extend(as_of=AS_OF) == 0


def _extend_night(as_of, previous):
    from billing.services.schedules import installments_extend_chunk

    return installments_extend_chunk(as_of=as_of, id_from=0, id_to=2**62, previous=previous).rows


def test_after_a_night_a_month_end_horizon_reaches_the_policies_due_on_later_days(portfolio):
    # GZ: monthly from 2020-01-31. Extended through the horizon of 2027-01-27 (2028-02-27): last due
    # 2028-01-31. The night of 2027-01-28 moves the horizon to 2028-02-28, not a month end in 2028:
    # nothing. The night of 2027-01-29 reaches 2028-02-29, the leap month's last day, on which fall
    # GZ's installment (issued on the 31st) and BJ's fourth anniversary (annual from 2024-02-29).
    installments_extend(as_of=dt.date(2027, 1, 27))
    assert _schedule("8860000000000001")[-1][1] == dt.date(2028, 1, 31)
    assert _schedule("8860000000000002")[-1][1] == dt.date(2027, 2, 28)
    assert _extend_night(dt.date(2027, 1, 28), previous=dt.date(2027, 1, 27)) == 0
    assert _extend_night(dt.date(2027, 1, 29), previous=dt.date(2027, 1, 28)) == 2
    assert _schedule("8860000000000001")[-1][:2] == (97, dt.date(2028, 2, 29))
    assert _schedule("8860000000000002")[-1][:2] == (4, dt.date(2028, 2, 29))


def test_after_a_night_a_changed_term_and_a_new_policy_are_extended_whatever_their_due_days(reference_data):
    from policies.models import Policy, ScheduleChange

    # quarterly for 10 years from 2017-03-15: the last due 2026-12-15 (k = 39)
    row = (GZ_POLICY.replace("2020-01-31,monthly,20", "2017-03-15,quarterly,10")
           .replace("2026-11-30,in_force", "2026-09-15,in_force"))
    policies_import(files=[("p.csv", policies_csv(row))], as_of=AS_OF)
    installments_extend(as_of=AS_OF)
    assert not ScheduleChange.objects.exists()  # the extension read the new policy's change and forgot it
    # the term made 11 years: k = 40..43 are due 2027-03-15 .. 2027-12-15, inside the horizon of
    # 2026-11-26 (2027-12-26), although the night's window (2027-12-26 only) holds no 15th
    Policy.objects.filter(policy_no="8860000000000001").update(premium_term_years=11)
    # a policy imported during the day: issued 2025-06-10, annual, paid to 2026-06-10: due 2026-06-10
    # (overdue) and 2027-06-10
    new = BJ_POLICY.replace("8860000000000002", "8860000000000003").replace(
        "2024-02-29,annual,10", "2025-06-10,annual,10").replace("2026-02-28,in_force", "2026-06-10,in_force")
    policies_import(files=[("p.csv", policies_csv(new))], as_of=dt.date(2026, 11, 26))
    assert _extend_night(dt.date(2026, 11, 26), previous=AS_OF) == 4 + 2
    assert [r[1] for r in _schedule("8860000000000001")][-4:] == [
        dt.date(2027, 3, 15), dt.date(2027, 6, 15), dt.date(2027, 9, 15), dt.date(2027, 12, 15)]
    assert [(r[1], r[4]) for r in _schedule("8860000000000003")] == [
        (dt.date(2026, 6, 10), "overdue"), (dt.date(2027, 6, 10), "scheduled")]
    assert not ScheduleChange.objects.exists()


def test_nights_that_read_only_their_window_leave_nothing_for_a_full_extension_to_add(reference_data):
    # 160 policies issued on the 28th to the 31st and the 1st, of every frequency, some with a
    # frequency change anchoring the schedule later, extended night after night across the horizons
    # of a leap February (as of 2026-12-20 .. 2027-02-05: horizons 2028-01-20 .. 2028-03-05). After
    # each night, extending every policy in full finds nothing missing.
    import calendar
    import random

    from policies.models import Policy
    from policies.tests.factories import PolicyFactory

    rng = random.Random(7)
    frequencies = ["monthly", "quarterly", "semiannual", "annual"]
    for n in range(160):
        issue = dt.date(2019 + n % 6, 1 + rng.randrange(12), 1)
        day = [28, 29, 30, 31, 1][n % 5]
        issue = issue.replace(day=min(day, calendar.monthrange(issue.year, issue.month)[1]))
        policy = PolicyFactory(issue_date=issue, frequency=frequencies[n % 4], premium_term_years=5 + n % 10,
                               paid_to_date=dt.date(2026, 10, 1) + dt.timedelta(days=rng.randrange(200)))
        if n % 7 == 0:  # anchored at a later sequence, 2 months after the issue month for a monthly one
            Policy.objects.filter(pk=policy.pk).update(schedule_anchor_sequence=3, schedule_anchor_months=2,
                                                       frequency="monthly")
    installments_extend(as_of=dt.date(2026, 12, 19))
    day = dt.date(2026, 12, 20)
    while day <= dt.date(2027, 2, 5):
        _extend_night(day, previous=day - dt.timedelta(days=1))
        assert installments_extend(as_of=day) == 0, day
        day += dt.timedelta(days=1)
    assert Installment.objects.filter(due_date=dt.date(2028, 2, 29)).exists()


def test_after_a_night_a_policy_with_no_due_date_in_the_window_and_no_change_is_not_read(portfolio):
    # What the window leaves out: GZ (due on the 30th/31st) when the horizon moves from 2027-12-25 to
    # 2027-12-26. Its last installment (2027-11-30) removed behind the schedule's back, as nothing
    # in the application does, stays missing that night; the full extension puts it back.
    installments_extend(as_of=AS_OF)
    Installment.objects.filter(policy__policy_no="8860000000000001", due_date=dt.date(2027, 11, 30)).delete()
    assert _extend_night(dt.date(2026, 11, 26), previous=AS_OF) == 0
    assert installments_extend(as_of=dt.date(2026, 11, 26)) == 1
    assert _schedule("8860000000000001")[-1][1] == dt.date(2027, 11, 30)


def test_the_window_s_issue_days_are_its_days_and_after_a_month_end_the_later_ones():
    from billing.services.schedules import horizon_window

    # horizons 2027-12-24 -> 2027-12-26: the 25th and the 26th
    assert horizon_window(previous=dt.date(2026, 11, 24), as_of=dt.date(2026, 11, 26))["window_issue_days"] == [25, 26]
    # 2028-02-28 -> 2028-02-29, the leap month's last day: due there are the policies issued on the 29th to the 31st
    window = horizon_window(previous=dt.date(2027, 1, 28), as_of=dt.date(2027, 1, 29))
    assert (window["window_day"], window["window_month_end"], window["window_issue_days"]) == ([29], [True], [29, 30, 31])
    # 2027-11-29 -> 2027-12-01 over the end of November: the 30th, the 31st (due on 30 November) and the 1st
    assert horizon_window(previous=dt.date(2026, 10, 29), as_of=dt.date(2026, 11, 1))["window_issue_days"] == [1, 30, 31]
