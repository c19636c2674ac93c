"""Addresses of the drill-down: the policies behind a figure, with the figure's period and slice."""

import datetime as dt
from urllib.parse import urlencode

from django.urls import reverse


def drill_url(metric: str, date_from: dt.date, date_to: dt.date, **filters) -> str:
    query = {"metric": metric, "from": date_from.isoformat(), "to": date_to.isoformat(),
             **{k: v for k, v in filters.items() if v}}
    return reverse("reporting:drill") + "?" + urlencode(query)
