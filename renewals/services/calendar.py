"""The working calendar (DESIGN.md section 3 via issue 14): Monday to Friday, less the public
holidays, plus the weekend days worked in exchange (调休), as data (CalendarDay). Years without
data (CalendarYear lists those with) count plain weekdays: every answer says whether it had to.

A case's deadline is the end of grace minus a safety margin in working days: the margin-th
working day strictly before the grace end (grace end Monday, margin 2: the Thursday before), due by
the close of the team's working hours that day. A hand-off's answer is due a number of working
days after it was asked, counted in the answering team's hours (working_deadline): asked outside
them, the clock starts at the next working period."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from renewals.models import CalendarDay, CalendarYear

# working days between the deadline and the end of grace, per case type (settings
# WORKBENCH_DEADLINE_MARGINS overrides some or all)
DEFAULT_MARGINS = {"overdue_follow_up": 2, "failed_debit": 2, "promise_follow_up": 2, "contact_repair": 2,
                   "application": 2}
# a hand-off's answer is due this many working days after it was asked
DEFAULT_HANDOFF_SLA_DAYS = 2


def deadline_margin(case_type: str) -> int:
    margins = {**DEFAULT_MARGINS, **getattr(settings, "WORKBENCH_DEADLINE_MARGINS", {})}
    return int(margins.get(case_type, 2))


def handoff_sla_days() -> int:
    return int(getattr(settings, "WORKBENCH_HANDOFF_SLA_DAYS", DEFAULT_HANDOFF_SLA_DAYS))


@dataclass
class WorkingCalendar:
    """The calendar between two dates, loaded once: answers in memory."""

    start: dt.date
    end: dt.date
    holidays: frozenset
    workdays: frozenset
    years: frozenset

    @classmethod
    def load(cls, start: dt.date, end: dt.date) -> "WorkingCalendar":
        days = CalendarDay.objects.filter(day__gte=start, day__lte=end).values_list("day", "kind")
        holidays = frozenset(d for d, kind in days if kind == CalendarDay.Kind.HOLIDAY)
        workdays = frozenset(d for d, kind in days if kind == CalendarDay.Kind.WORKDAY)
        years = frozenset(CalendarYear.objects.filter(year__gte=start.year, year__lte=end.year)
                          .values_list("year", flat=True))
        return cls(start, end, holidays, workdays, years)

    def is_working(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def known(self, day: dt.date) -> bool:
        """Whether the day's year has calendar data (else a plain weekday count)."""
        return day.year in self.years

    def minus_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day strictly before `day` (n >= 1); `day` itself when n is 0."""
        current, left = day, n
        while left > 0:
            current -= dt.timedelta(days=1)
            if self.is_working(current):
                left -= 1
        return current

    def plus_working_days(self, day: dt.date, n: int) -> dt.date:
        current, left = day, n
        while left > 0:
            current += dt.timedelta(days=1)
            if self.is_working(current):
                left -= 1
        return current

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: 0 on the day itself, negative once end is past."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for k in range(1, (end - start).days + 1) if self.is_working(start + dt.timedelta(days=k)))


@dataclass(frozen=True)
class WorkingHours:
    """A team's working hours, the same on every working day (WorkTeam.work_start / work_end)."""

    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(18, 0)

    @classmethod
    def of(cls, team) -> "WorkingHours":
        return cls(team.work_start, team.work_end) if team is not None else cls()


def working_moment(calendar: WorkingCalendar, at: dt.datetime, hours: WorkingHours) -> dt.datetime:
    """`at` when it falls in a working period (a working day, from the start of hours up to but
    not including their end), else the start of the next working period: before the start of a
    working day, that day's start; after its end, or on a day off, the next working day's start.
    Local time (Asia/Shanghai): the hours are the team's wall-clock hours."""
    local = timezone.localtime(at)
    day, clock = local.date(), local.time()
    if calendar.is_working(day) and hours.start <= clock < hours.end:
        return local
    if not (calendar.is_working(day) and clock < hours.start):
        day = calendar.plus_working_days(day, 1)
    return timezone.make_aware(dt.datetime.combine(day, hours.start), timezone.get_current_timezone())


def working_deadline(calendar: WorkingCalendar, at: dt.datetime, working_days: int, hours: WorkingHours
                     ) -> dt.datetime:
    """A deadline `working_days` working days after `at`, counted in the team's hours: the clock
    starts at the next working period when `at` is outside it (a question asked on Friday evening
    starts on Monday morning, or on the adjusted working Saturday), and the deadline is the same
    wall-clock time on the n-th working day after."""
    start = working_moment(calendar, at, hours)
    day = calendar.plus_working_days(start.date(), working_days)
    return timezone.make_aware(dt.datetime.combine(day, start.time().replace(tzinfo=None)),
                               timezone.get_current_timezone())


def working_calendar(*, around: dt.date, before_days: int = 120, after_days: int = 500) -> WorkingCalendar:
    return WorkingCalendar.load(around - dt.timedelta(days=before_days), around + dt.timedelta(days=after_days))


@dataclass(frozen=True)
class Deadline:
    day: dt.date
    estimated: bool  # counted on plain weekdays: the year has no calendar data


def case_deadline(*, grace_end: dt.date, case_type: str, calendar: WorkingCalendar | None = None) -> Deadline:
    calendar = calendar or working_calendar(around=grace_end)
    day = calendar.minus_working_days(grace_end, deadline_margin(case_type))
    return Deadline(day=day, estimated=not (calendar.known(day) and calendar.known(grace_end)))


def calendar_last_year() -> int | None:
    return CalendarYear.objects.order_by("-year").values_list("year", flat=True).first()
