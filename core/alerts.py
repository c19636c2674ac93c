"""Alerts for the administrators (core.Alert): raised by any app, shown to administrators, written to
the log. An alert stays open until someone acknowledges it; raising the same kind and key again while
it is open counts another occurrence and keeps the latest details, so a fault that repeats every
night (or every minute) is one line on the page, not hundreds.

Kinds are dotted names owned by the app that raises them ("nightly.step_failed"); kinds under
"security." go to the `security` logger, the others to `core.alerts`.
"""

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ApplicationError
from core.models import Alert

LOG_LEVELS: dict[str, int] = {
    Alert.Severity.INFO: logging.INFO,
    Alert.Severity.WARNING: logging.WARNING,
    Alert.Severity.ERROR: logging.ERROR,
    Alert.Severity.CRITICAL: logging.CRITICAL,
}


def _logger(kind: str) -> logging.Logger:
    return logging.getLogger("security" if kind.startswith("security.") else "core.alerts")


def _alert_count_or_open(*, kind: str, key: str, title: str, severity: str, details: dict) -> Alert:
    with transaction.atomic():
        counted = Alert.objects.filter(kind=kind, key=key, acknowledged_at__isnull=True).update(
            occurrences=F("occurrences") + 1, last_raised_at=timezone.now(), title=title, severity=severity,
            details=details)
        if counted:
            return Alert.objects.get(kind=kind, key=key, acknowledged_at__isnull=True)
        return Alert.objects.create(kind=kind, key=key, title=title, severity=severity, details=details)


def alert_raise(*, kind: str, key: str = "", title: str, severity: str = Alert.Severity.ERROR,
                details: dict | None = None) -> Alert:
    """Open an alert, or count another occurrence of the open one with the same kind and key.
    Commits with the caller's transaction (call it outside one when the caller is about to fail)."""
    values: dict[str, Any] = {"kind": kind, "key": key, "title": title, "severity": severity, "details": details or {}}
    try:
        alert = _alert_count_or_open(**values)
    except IntegrityError:  # another process opened the same alert at the same moment: count on it
        alert = _alert_count_or_open(**values)
    _logger(kind).log(LOG_LEVELS.get(severity, logging.ERROR), "alert %s [%s] %s (occurrence %s): %s",
                      kind, key, title, alert.occurrences, alert.details)
    return alert


def alert_acknowledge(*, alert: Alert, user) -> Alert:
    """Close an alert: the next one of its kind and key opens a new alert."""
    if alert.acknowledged_at is not None:
        raise ApplicationError(_("This alert has already been acknowledged."))
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(acknowledged_at=timezone.now(),
                                                                           acknowledged_by=user)
    alert.refresh_from_db()
    _logger(alert.kind).info("alert %s [%s] acknowledged by %s", alert.kind, alert.key, user)
    return alert


def alerts_open(*, kinds: list[str] | None = None) -> QuerySet[Alert]:
    """Open alerts, latest first (index alert_open_recent)."""
    alerts = Alert.objects.filter(acknowledged_at__isnull=True).order_by("-last_raised_at")
    return alerts.filter(kind__in=kinds) if kinds else alerts
