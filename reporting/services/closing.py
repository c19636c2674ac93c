"""Closing a month (issue 15): its figures are frozen as reported; what changes afterwards shows as
a restatement beside them."""

import calendar
import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.errors import ApplicationError
from reporting.models import MonthClose
from reporting.selectors import data_as_of, kpi_json, kpi_table


def month_close(*, month: dt.date, actor=None) -> MonthClose:
    """Freeze the month's figures as reported now (the command, run by an administrator)."""
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    as_of = data_as_of()
    if as_of is None or as_of <= last:
        raise ApplicationError(_("a month can be closed only after its last day has been snapshotted"))
    figures = {"all": kpi_json(kpi_table(date_from=first, date_to=last))[0],
               "branch": kpi_json(kpi_table(date_from=first, date_to=last, by="branch"))}
    try:
        with transaction.atomic():
            return MonthClose.objects.create(month=first, as_of=as_of, closed_by=actor, figures=figures)
    except IntegrityError:
        raise ApplicationError(_("this month is already closed")) from None


def month_closed_figures(*, date_from: dt.date, date_to: dt.date) -> MonthClose | None:
    """The closed month the period is exactly, if any."""
    last = date_from.replace(day=calendar.monthrange(date_from.year, date_from.month)[1])
    if date_from.day != 1 or date_to != last:
        return None
    return MonthClose.objects.filter(month=date_from).first()
