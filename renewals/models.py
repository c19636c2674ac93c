import pghistory
import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.masking import mask_account
from audit.events import policy_reference_meta
from billing.models import DebitLine
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
    # what the step did besides its chunks, e.g. {"analyzed": ["billing_installment"], "analyze_seconds": 1.2}
    details = models.JSONField(_("Details"), default=dict, blank=True)

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
    transaction: after a crash the chunk is simply done again, never twice.

    `attempts` counts committed attempts (1 once done); `failures` counts attempts that raised,
    recorded after their transaction rolled back, with the last one's `error`. A chunk with
    NIGHTLY_CHUNK_MAX_ATTEMPTS failures is not tried again until the run is resumed."""

    step = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="chunk_runs")
    id_from = models.BigIntegerField()
    id_to = models.BigIntegerField()
    done = models.BooleanField(default=False)
    rows = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    failures = models.PositiveSmallIntegerField(_("Failed attempts"), default=0)
    error = models.TextField(_("Last error"), blank=True)
    failed_at = models.DateTimeField(_("Last failed"), null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["step", "id_from"], name="chunk_run_unique")]
        indexes = [models.Index(fields=["step", "done"], name="chunk_run_step_done")]

    def __str__(self) -> str:
        return f"{self.step} {self.id_from}-{self.id_to}"


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), pghistory.UpdateEvent("update"),
                  meta=policy_reference_meta("application_event_policy"))
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

    def summary(self) -> str:
        """What the application asks for, in the user's language (for the approver)."""
        details = self.details or {}
        parts = []
        if self.effective_date:
            parts.append(_("from %(date)s") % {"date": self.effective_date.isoformat()})
        if self.kind == self.Kind.DEFERRAL and details.get("end"):
            parts.append(_("until %(date)s") % {"date": details["end"]})
        if self.kind == self.Kind.REDUCED_PAID_UP and details.get("sum_assured"):
            parts.append(_("sum assured %(amount)s") % {"amount": details["sum_assured"]})
        if self.kind == self.Kind.PLAN_CHANGE:
            labels = {"frequency": Policy.Frequency, "payment_method": Policy.PaymentMethod}
            names = {"frequency": _("frequency"), "modal_premium": _("premium"), "payment_method": _("payment method"),
                     "bank_name": _("bank"), "bank_account": _("bank account"),
                     "bank_account_name": _("account name")}
            for field, name in names.items():
                if details.get(field):
                    value = details[field]
                    if field in labels:
                        value = labels[field](value).label
                    if field == "bank_account":  # personal data stays masked for the approver too
                        value = mask_account(value)
                    parts.append(f"{name}: {value}")
        return "；".join(str(p) for p in parts)


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


class CollectionPlan(models.Model):
    """A list of timed steps (DESIGN.md section 3, Collection plans): the policy's own plan, else
    its product's, else the default."""

    name = models.CharField(_("Name"), max_length=64, unique=True)
    is_default = models.BooleanField(_("Default plan"), default=False)
    products = models.ManyToManyField("policies.Product", verbose_name=_("Products"), blank=True,
                                      related_name="collection_plans")
    active = models.BooleanField(_("Active"), default=True)

    class Meta:
        verbose_name = _("Collection plan")
        verbose_name_plural = _("Collection plans")
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="one_default_plan")]

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), pghistory.UpdateEvent("update"))
class PlanStep(models.Model):
    class Anchor(models.TextChoices):
        DUE = "due", _("Due date (T)")
        GRACE_END = "grace_end", _("End of grace (G)")
        DAILY = "daily", _("Every night while the condition holds")

    class Action(models.TextChoices):
        REMINDER = "reminder", _("Reminder")
        ROBOT_CALL = "robot_call", _("Robot call")
        DEBIT = "debit", _("Auto-debit")
        OPEN_CASE = "open_case", _("Open a case")

    plan = models.ForeignKey(CollectionPlan, on_delete=models.CASCADE, related_name="steps")
    code = models.CharField(_("Step"), max_length=16)  # T-60, T+3, G-5 ...
    anchor = models.CharField(_("Anchor"), max_length=10, choices=Anchor.choices)
    offset_days = models.SmallIntegerField(_("Offset (days)"), default=0)
    action = models.CharField(_("Action"), max_length=12, choices=Action.choices)
    channel = models.CharField(_("Channel"), max_length=8, blank=True,
                               help_text=_("Empty: the customer's preferred channel."))
    case_type = models.CharField(_("Case type"), max_length=24, blank=True)
    urgent = models.BooleanField(_("Urgent"), default=False)
    escalation = models.PositiveSmallIntegerField(_("Escalation level"), default=0)
    # conditions (empty: any)
    payment_method = models.CharField(_("Payment method"), max_length=16, blank=True)
    debit_failure_reasons = models.CharField(
        _("Last debit failure reasons"), max_length=128, blank=True,
        help_text=_("Comma-separated: insufficient_funds, account_frozen, account_closed, name_mismatch, ..."))
    segments = models.CharField(
        _("Segments"), max_length=128, blank=True,
        help_text=_("Comma-separated: standard, high_value, vip. Empty: any segment."))
    overdue_reasons = models.CharField(
        _("Overdue reasons"), max_length=256, blank=True,
        help_text=_("Comma-separated: forgot, financial_difficulty, account_problem, dispute, considering_surrender, "
                    "unreachable, other. Counts only a reason recorded on or after the oldest unpaid due date."))
    min_unpaid_count = models.PositiveSmallIntegerField(_("At least this many unpaid installments"), default=0)
    min_amount = models.DecimalField(_("At least this amount unpaid"), max_digits=14, decimal_places=2, default=0)
    active = models.BooleanField(_("Active"), default=True)

    class Meta:
        verbose_name = _("Plan step")
        verbose_name_plural = _("Plan steps")
        ordering = ["plan", "anchor", "offset_days", "id"]

    def __str__(self) -> str:
        return f"{self.plan} {self.code} {self.action}"

    def clean(self) -> None:
        """Each comma-separated condition holds known values only (a typo would silently never match)."""
        known = {"segments": Policy.Segment.values, "overdue_reasons": Policy.OverdueReason.values,
                 "debit_failure_reasons": DebitLine.Reason.values}
        errors = {}
        for field, values in known.items():
            unknown = [v for v in (x.strip() for x in getattr(self, field).split(",")) if v and v not in values]
            if unknown:
                errors[field] = _("Unknown: %(values)s. Known: %(known)s.") % {
                    "values": ", ".join(unknown), "known": ", ".join(values)}
            else:
                setattr(self, field, ",".join(x.strip() for x in getattr(self, field).split(",") if x.strip()))
        if errors:
            raise ValidationError(errors)


class PolicyPlan(models.Model):
    """A clerk's override of the plan of one policy."""

    policy = models.OneToOneField(Policy, on_delete=models.CASCADE, related_name="collection_plan_override")
    plan = models.ForeignKey(CollectionPlan, on_delete=models.PROTECT)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now=True)


# PlannedContact moved to outreach (outreach.models.PlannedContact): renewals plans through it.


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), pghistory.UpdateEvent("update"),
                  meta=policy_reference_meta("case_event_policy"))
class Case(models.Model):
    """A piece of work for a clerk (the queues of a later issue grow from it)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Type(models.TextChoices):
        OVERDUE = "overdue_follow_up", _("Overdue follow-up")
        FAILED_DEBIT = "failed_debit", _("Failed debit")
        CONTACT_REPAIR = "contact_repair", _("Contact repair")

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="cases")
    type = models.CharField(_("Type"), max_length=24)
    status = models.CharField(_("Status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    priority = models.PositiveSmallIntegerField(_("Priority"), default=0)
    opened_by_step = models.ForeignKey(PlanStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_on = models.DateField(_("Opened on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Case")
        verbose_name_plural = _("Cases")
        constraints = [models.UniqueConstraint(fields=["policy", "type"], condition=models.Q(status="open"),
                                               name="one_open_case_per_policy_and_type")]

    def __str__(self) -> str:
        return f"{self.type} {self.policy}"


class ApprovalStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), pghistory.UpdateEvent("update"),
                  meta=policy_reference_meta("hold_event_policy"))
class Hold(models.Model):
    """Collection steps (reminders, debits, lapse) stop for one policy for a period."""

    policy = models.ForeignKey(Policy, verbose_name=_("Policy"), on_delete=models.PROTECT, related_name="holds")
    start = models.DateField(_("From"))
    end = models.DateField(_("To"))
    reason = models.CharField(_("Reason"), max_length=256)
    status = models.CharField(_("Status"), max_length=10, choices=ApprovalStatus.choices,
                              default=ApprovalStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Hold")
        verbose_name_plural = _("Holds")
        constraints = [models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="hold_period")]

    def __str__(self) -> str:
        return f"{self.policy} {self.start}..{self.end}"


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), pghistory.UpdateEvent("update"))
class Moratorium(models.Model):
    """The same for every policy matching criteria (a disaster area, a regulator's relief order)."""

    name = models.CharField(_("Name"), max_length=128)
    start = models.DateField(_("From"))
    end = models.DateField(_("To"))
    branch = models.ForeignKey("policies.Branch", verbose_name=_("Branch (and below)"), null=True, blank=True,
                               on_delete=models.PROTECT)
    province = models.CharField(_("Province"), max_length=32, blank=True)
    city = models.CharField(_("City"), max_length=32, blank=True)
    product = models.ForeignKey("policies.Product", verbose_name=_("Product"), null=True, blank=True,
                                on_delete=models.PROTECT)
    reason = models.CharField(_("Reason"), max_length=256)
    status = models.CharField(_("Status"), max_length=10, choices=ApprovalStatus.choices,
                              default=ApprovalStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Moratorium")
        verbose_name_plural = _("Moratoria")
        constraints = [models.CheckConstraint(condition=models.Q(end__gte=models.F("start")),
                                              name="moratorium_period")]

    def __str__(self) -> str:
        return self.name
