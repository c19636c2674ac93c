"""The manager's home: the dashboard (core.homes, registered in ReportingConfig.ready)."""

from django.utils.translation import gettext_lazy as _

from core.homes import home_register


def _dashboard(request) -> dict:
    from reporting.views import dashboard_context

    return dashboard_context(request)


def homes_register() -> None:
    home_register(role="manager", precedence=80, label=_("Dashboard"), template="reporting/dashboard.html",
                  context=_dashboard)
