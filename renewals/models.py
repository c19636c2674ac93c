import pghistory
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from policies.models import Policy


class NightlyRun(models.Model):
    """The nightly pipeline for one business date: one row per date, claimed by whoever inserts
    it first, so two schedulers starting the same date do the work once."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    as_of = models.DateField(_("Business date"), unique=True)
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("Started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("Finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("Nightly run")
        verbose_name_plural = _("Nightly runs")
        ordering = ["-as_of"]

    def __str__(self) -> str:
        return self.as_of.isoformat()


class StepRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(NightlyRun, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    step = models.CharField(_("Step"), max_length=32)
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField(_("Started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("Finished"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("Rows"), default=0)
    chunks = models.PositiveIntegerField(_("Chunks"), default=0)
    errors = models.TextField(_("Errors"), blank=True)

    class Meta:
        verbose_name = _("Pipeline step")
        verbose_name_plural = _("Pipeline steps")
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="step_run_unique")]

    def __str__(self) -> str:
        return f"{self.run} {self.step}"

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ChunkRun(models.Model):
    """One chunk of policy ids of one step. Its work and its `done` mark commit in one
    transaction: after a crash the chunk is simply done again, never twice."""

    step = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="chunk_runs")
    id_from = models.BigIntegerField()
    id_to = models.BigIntegerField()
    done = models.BooleanField(default=False)
    rows = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["step", "id_from"], name="chunk_run_unique")]
        indexes = [models.Index(fields=["step", "done"], name="chunk_run_step_done")]

    def __str__(self) -> str:
        return f"{self.step} {self.id_from}-{self.id_to}"


@pghistory.track(pghistory.InsertEvent("create"), pghistory.UpdateEvent("update"))
class Application(models.Model):
    """A servicing application (reinstatement, deferral, reduced paid-up, payment plan change):
    asked by one person, approved by another (maker-checker), each step in the trail."""

    class Kind(models.TextChoices):
        REINSTATEMENT = "reinstatement", _("Reinstatement")
        DEFERRAL = "deferral", _("Premium deferral")
        REDUCED_PAID_UP = "reduced_paid_up", _("Reduced paid-up")
        PLAN_CHANGE = "plan_change", _("Payment plan change")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        REFERRED = "referred", _("Referred to underwriting")
        ACCEPTED = "accepted", _("Accepted by underwriting")
        DECLINED = "declined", _("Declined by underwriting")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        COMPLETED = "completed", _("Completed")
        EXPIRED = "expired", _("Expired")

    policy = models.ForeignKey(Policy, verbose_name=_("Policy"), on_delete=models.PROTECT, related_name="applications")
    kind = models.CharField(_("Kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    applied_on = models.DateField(_("Applied on"))
    effective_date = models.DateField(_("Effective from"), null=True, blank=True)
    details = models.JSONField(_("Details"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Application")
        verbose_name_plural = _("Applications")
        indexes = [models.Index(fields=["policy", "kind", "status"], name="application_policy_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.policy}"


class DueListEntry(models.Model):
    """A row of the renewals_due_list snapshot (a materialised view refreshed nightly)."""

    policy = models.OneToOneField(Policy, primary_key=True, on_delete=models.DO_NOTHING, related_name="+")
    installment_id = models.BigIntegerField()
    sequence = models.IntegerField()
    due_date = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    branch = models.ForeignKey("policies.Branch", on_delete=models.DO_NOTHING, related_name="+")
    product = models.ForeignKey("policies.Product", on_delete=models.DO_NOTHING, related_name="+")
    frequency = models.CharField(max_length=12)
    payment_method = models.CharField(max_length=16)
    agent = models.ForeignKey("policies.Agent", null=True, on_delete=models.DO_NOTHING, related_name="+")

    class Meta:
        managed = False
        db_table = "renewals_due_list"

    def __str__(self) -> str:
        return f"{self.policy_id} {self.due_date}"
