"""The nightly step after the reports (issue 15): the dashboard of the month so far computed once
for each branch scope among the people who read it, so that the first manager of the morning
finds the figures ready (reporting.selectors.cached_figures keeps them until the next snapshot)."""

import datetime as dt
import logging

from django.db.models import Q

logger = logging.getLogger(__name__)


def dashboard_readers():
    from accounts.models import User

    has = Q(groups__permissions__codename="view_reports", groups__permissions__content_type__app_label="accounts")
    return User.objects.filter(has | Q(is_superuser=True), is_active=True).distinct().order_by("pk")


def kpi_warm(as_of: dt.date, id_from: int, id_to: int) -> int:
    """Unchunked. Returns the scopes computed: one reader of each, the month of the night so far.
    A night run to catch up a past date (a demo's history, a missed night) warms nothing: nobody
    reads its figures the next morning, and the next night's snapshot replaces them."""
    from core.dates import business_today
    from reporting.dashboard import dashboard_figures
    from reporting.selectors import _scope_key

    if as_of < business_today() - dt.timedelta(days=1):
        return 0

    seen: set[str] = set()
    for user in dashboard_readers():
        key = _scope_key(user)
        if key in seen:
            continue
        seen.add(key)
        try:
            dashboard_figures(user=user, date_from=as_of.replace(day=1), date_to=as_of, filters={})
        except Exception:  # a cache is a convenience: the night's result does not hang on it
            logger.warning("kpi_warm: the dashboard of %s could not be computed", key, exc_info=True)
    return len(seen)
