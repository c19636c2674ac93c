from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def model_update(*, instance: models.Model, fields: list[str], data: dict) -> tuple[models.Model, bool]:
    """Set `fields` from `data` where they differ and save only those columns.

    Returns the instance and whether anything changed (HackSoft's model_update, typed).
    """
    changed = [f for f in fields if f in data and getattr(instance, f) != data[f]]
    for name in changed:
        setattr(instance, name, data[name])
    if changed:
        if any(f.name == "updated_at" for f in instance._meta.fields):
            changed.append("updated_at")
        instance.full_clean(exclude=[f.name for f in instance._meta.fields if f.name not in changed])
        instance.save(update_fields=changed)
    return instance, bool(changed)


class Alert(models.Model):
    """Something an administrator must look at: a nightly run that stopped, a security event.
    Raised through core.alerts.alert_raise; one open (unacknowledged) alert per kind and key, so a
    fault that repeats counts occurrences instead of flooding the list."""

    class Severity(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        ERROR = "error", _("Error")
        CRITICAL = "critical", _("Critical")

    kind = models.CharField(_("Kind"), max_length=64)
    # what the alert is about within its kind (a business date and step, a username): the dedup key
    key = models.CharField(_("Alert key"), max_length=200, blank=True)
    severity = models.CharField(_("Severity"), max_length=10, choices=Severity.choices, default=Severity.ERROR)
    title = models.CharField(_("Title"), max_length=300)
    details = models.JSONField(_("Details"), default=dict, blank=True)
    occurrences = models.PositiveIntegerField(_("Occurrences"), default=1)
    created_at = models.DateTimeField(_("Raised"), auto_now_add=True)
    last_raised_at = models.DateTimeField(_("Last raised"), auto_now_add=True)
    acknowledged_at = models.DateTimeField(_("Acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("Acknowledged by"))

    class Meta:
        verbose_name = _("Alert")
        verbose_name_plural = _("Alerts")
        ordering = ["-last_raised_at"]
        constraints = [
            # one open alert per kind and key; also the index alert_raise finds it by
            models.UniqueConstraint(fields=["kind", "key"], condition=models.Q(acknowledged_at__isnull=True),
                                    name="alert_open_unique"),
        ]
        indexes = [
            # the open alerts, newest first (operations page, home page)
            models.Index(fields=["-last_raised_at"], condition=models.Q(acknowledged_at__isnull=True),
                         name="alert_open_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}".strip()
