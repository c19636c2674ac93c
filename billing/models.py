import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from policies.models import Policy


@pghistory.track(
    # Money changes row by row; derived status moves (scheduled -> due -> overdue) are counted
    # per nightly step and chunk instead (DESIGN.md section 4).
    pghistory.UpdateEvent("money", condition=pghistory.AnyChange("amount_paid", "amount_due")),
)
class Installment(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        DUE = "due", _("Due")
        OVERDUE = "overdue", _("Overdue")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        WAIVED = "waived", _("Waived")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = ("scheduled", "due", "overdue", "partially_paid")

    policy = models.ForeignKey(Policy, verbose_name=_("Policy"), on_delete=models.PROTECT, related_name="installments")
    sequence = models.PositiveIntegerField(_("Installment"))  # k: due at issue + k x (12 / frequency) months
    due_date = models.DateField(_("Due date"))
    grace_end = models.DateField(_("Grace ends"))  # inclusive; moved later by holds and moratoria
    amount_due = models.DecimalField(_("Amount due"), max_digits=14, decimal_places=2)
    amount_paid = models.DecimalField(_("Amount paid"), max_digits=14, decimal_places=2, default=0)
    status = models.CharField(_("Status"), max_length=16, choices=Status.choices)
    # the value date of the money that completed it: paid in time when <= grace_end
    paid_value_date = models.DateField(_("Paid (value date)"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Installment")
        verbose_name_plural = _("Installments")
        constraints = [
            models.UniqueConstraint(fields=["policy", "sequence"], name="installment_unique_sequence"),
            # two workers allocating at once can never take an installment past its amount
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=F("amount_due")), name="installment_paid_within_due"
            ),
            models.CheckConstraint(condition=Q(amount_due__gt=0), name="installment_amount_positive"),
        ]
        indexes = [
            # due lists and the nightly status update: WHERE due_date BETWEEN .. AND status IN (open)
            models.Index(fields=["due_date", "status"], name="installment_due_status"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id}#{self.sequence}"
