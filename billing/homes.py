"""Finance's home: today's imports, what waits in suspense, matches waiting for a second person,
and the reconciliation of the business date (core.homes, registered in BillingConfig.ready)."""

from django.utils.translation import gettext_lazy as _

from billing.selectors import finance_day_summary
from core.dates import business_today
from core.homes import home_register


def _finance(request) -> dict:
    return finance_day_summary(user=request.user, today=business_today())


def homes_register() -> None:
    home_register(role="finance", precedence=40, label=_("Today's money"), template="billing/home.html",
                  context=_finance)
