"""The banner every signed-in page shows: the business date and how last night went."""

from accounts.roles import perm
from core.dates import business_today
from renewals.selectors import business_date_last_run


def nightly_banner(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    _finished, latest = business_date_last_run()
    return {"banner": {"business_date": business_today(), "run": latest,
                       "operations": user.has_perm(perm("view_operations"))}}
