"""Business dates. Domain code receives `as_of` explicitly; only the edges (commands, views,
beat) ask what today is, and always in Asia/Shanghai."""

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def business_today() -> dt.date:
    return dt.datetime.now(tz=SHANGHAI).date()


def parse_date(value: str) -> dt.date:
    """Strict YYYY-MM-DD; raises ValueError with a readable message."""
    value = (value or "").strip()
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a date in YYYY-MM-DD form: {value!r}") from None


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus `months`, clipped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))
