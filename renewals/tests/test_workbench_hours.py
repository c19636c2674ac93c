"""A team's working hours in deadlines (issue 14): a moment outside the hours moves to the start of
the next working period, and a hand-off's answer is due n working days later at the same time.

The 2026 calendar (chinesecalendar): Sun 20 Sep worked; Mid-autumn Fri 25 - Sun 27 Sep off;
National Day Thu 1 - Wed 7 Oct off (Sat 3, Sun 4 among them); Sat 10 Oct worked. Hours 09:00-18:00
unless said. Times are Asia/Shanghai.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from renewals.models import CaseHistory
from renewals.services.calendar import WorkingHours, working_calendar, working_deadline, working_moment
from renewals.services.cases import case_handoff
from renewals.tests import test_workbench_cases as _cases
from renewals.tests.factories import WorkTeamFactory

pytestmark = pytest.mark.django_db
# the calendar and the Guangzhou overdue case of test_workbench_cases
calendar_data, overdue_case = _cases.calendar_data, _cases.overdue_case
SH = ZoneInfo("Asia/Shanghai")
NINE_TO_SIX = WorkingHours(dt.time(9, 0), dt.time(18, 0))


def at(y, m, d, hh, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.mark.parametrize(("asked", "moment"), [
    # inside the hours: unchanged
    (at(2026, 9, 24, 16, 30), at(2026, 9, 24, 16, 30)),
    # 18:00 is the end: outside; Fri 25 - Sun 27 are the Mid-autumn holiday -> Mon 28 Sep 09:00
    (at(2026, 9, 24, 18, 0), at(2026, 9, 28, 9, 0)),
    # an ordinary Saturday -> the adjusted working Sunday 20 Sep, 09:00
    (at(2026, 9, 19, 11, 0), at(2026, 9, 20, 9, 0)),
    # before the hours on the adjusted working Saturday 10 Oct: that day's start
    (at(2026, 10, 10, 8, 0), at(2026, 10, 10, 9, 0)),
    # Wednesday evening before National Day: the next working period is Thu 8 Oct 09:00
    (at(2026, 9, 30, 19, 0), at(2026, 10, 8, 9, 0)),
])
def test_a_moment_outside_the_hours_moves_to_the_next_working_period(calendar_data, asked, moment):
    calendar = working_calendar(around=dt.date(2026, 10, 1))
    assert working_moment(calendar, asked, NINE_TO_SIX) == moment


@pytest.mark.parametrize(("asked", "hours", "due"), [
    # in the hours, Thursday before the Mid-autumn long weekend: Mon 28 is 1, Tue 29 is 2
    (at(2026, 9, 24, 16, 30), NINE_TO_SIX, at(2026, 9, 29, 16, 30)),
    # asked on the holiday Friday: the clock starts Mon 28 09:00; Tue 29 is 1, Wed 30 is 2
    (at(2026, 9, 25, 10, 0), NINE_TO_SIX, at(2026, 9, 30, 9, 0)),
    # asked on Wednesday evening before National Day: starts Thu 8 Oct 09:00; Fri 9 is 1, the
    # adjusted working Saturday 10 Oct is 2 (without the hours it would have been Fri 9 Oct)
    (at(2026, 9, 30, 19, 0), NINE_TO_SIX, at(2026, 10, 10, 9, 0)),
    # before the hours on the worked Saturday: starts Sat 10 Oct 09:00; Mon 12 is 1, Tue 13 is 2
    (at(2026, 10, 10, 8, 0), NINE_TO_SIX, at(2026, 10, 13, 9, 0)),
    # a team working 08:30-17:00: Thursday 17:15 is after its hours -> Mon 28 Sep 08:30; Tue 29 is 1, Wed 30 is 2
    (at(2026, 9, 24, 17, 15), WorkingHours(dt.time(8, 30), dt.time(17, 0)), at(2026, 9, 30, 8, 30)),
    # the same moment for a 09:00-18:00 team is inside its hours: Mon 28 is 1, Tue 29 is 2
    (at(2026, 9, 24, 17, 15), NINE_TO_SIX, at(2026, 9, 29, 17, 15)),
])
def test_two_working_days_in_the_teams_hours(calendar_data, asked, hours, due):
    calendar = working_calendar(around=dt.date(2026, 10, 1))
    assert working_deadline(calendar, asked, 2, hours) == due


def test_a_handoff_asked_after_hours_is_due_in_the_departments_hours(overdue_case, make_user):
    """Underwriting works 08:30-17:00; a clerk asks on Wed 30 Sep 2026 at 17:30 (the business date):
    their clock starts Thu 8 Oct 08:30 after National Day, and the answer is due on the adjusted
    working Saturday, 10 Oct 08:30."""
    underwriting = WorkTeamFactory(team__name="核保部", kind="underwriting", work_start=dt.time(8, 30),
                                   work_end=dt.time(17, 0), branches=["HQ"])
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    handoff = case_handoff(case=overdue_case, department="underwriting", question="健康告知请核保", actor=clerk,
                           as_of=dt.date(2026, 9, 30), now=at(2026, 9, 30, 17, 30))
    assert (handoff.team, handoff.deadline) == (underwriting, dt.date(2026, 10, 10))
    opened = CaseHistory.objects.get(case=handoff, kind="opened")
    assert opened.details["due_at"] == "2026-10-10T08:30:00+08:00"
