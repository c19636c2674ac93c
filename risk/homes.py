"""The risk reviewer's home (core.homes, registered in RiskConfig.ready): open flags by rule and
severity, ageing, this month's outcomes, rules whose false-positive rate is high."""

from django.utils.translation import gettext_lazy as _

from core.dates import business_today
from core.homes import home_register
from risk.selectors import risk_summary


def _risk(request) -> dict:
    return {"summary": risk_summary(user=request.user, today=business_today())}


def homes_register() -> None:
    home_register(role="risk_reviewer", precedence=50, label=_("Risk review"), template="risk/home.html",
                  context=_risk)
