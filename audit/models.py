import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.events import trail_meta


@pghistory.track(pghistory.InsertEvent("operation", level=pgtrigger.Statement), meta=trail_meta("operation"))
class Operation(models.Model):
    """One entry for a bulk operation (an import file, a nightly step's chunk, a seed), with
    its counts: rows derived in bulk are recorded per step and chunk (DESIGN.md section 4).
    Row-level changes are recorded by the database triggers of django-pghistory."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    job = models.CharField(_("Job"), max_length=128, blank=True)
    action = models.CharField(_("Action"), max_length=64)
    object_type = models.CharField(_("Object type"), max_length=64, blank=True)
    object_ref = models.CharField(_("Object"), max_length=128, blank=True)
    reason = models.TextField(_("Reason"), blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("Bulk operation record")
        verbose_name_plural = _("Bulk operation record")
        triggers = [pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.action} {self.object_ref}"
