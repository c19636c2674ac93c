import datetime as dt
from decimal import Decimal

import pghistory
import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.masking import mask_account
from audit.events import StatementUpdateEvent, trail_meta
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
    # where the next night's step looks for what its chunks did not see (core.horizon.HORIZON_SQL):
    # the start of the oldest transaction open when the step began, and the oldest transaction id
    # it may not have seen
    horizon = models.DateTimeField(null=True, blank=True)
    seen_xid = models.BigIntegerField(null=True, blank=True)
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
    def label(self) -> str:
        """What the step does, in the user's language (its code when it has no label)."""
        from renewals.services.steps import STEP_LABELS

        return str(STEP_LABELS.get(self.step, self.step))

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


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("application", policy=True))
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
    """A row of the due list: each in-force policy with its oldest open installment, as of the last
    night (renewals_due_list, kept by the nightly due_lists step; renewals/migrations/0021)."""

    policy = models.OneToOneField(Policy, primary_key=True, on_delete=models.DO_NOTHING, related_name="+")
    installment_id = models.BigIntegerField()
    sequence = models.IntegerField()
    due_date = models.DateField()
    grace_end = models.DateField()
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


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("planstep"))
class PlanStep(models.Model):
    class Anchor(models.TextChoices):
        DUE = "due", _("Due date (T)")
        GRACE_END = "grace_end", _("End of grace (G)")
        # the policy's lapse date (R): steps for a lapsed policy still inside its reinstatement window
        LAPSE = "lapse", _("Lapse date (R)")
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
    # the scoring app's lapse-risk score (scoring_policyscore, 0..1, the approved model's latest night):
    # a policy without a score (no approved model, not in force) never meets a threshold
    min_lapse_risk = models.DecimalField(
        _("Lapse risk at least"), max_digits=6, decimal_places=5, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("Between 0 and 1, e.g. 0.30: the step runs only for policies whose lapse-risk score is at "
                    "least this. Empty: every policy, scored or not."))
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
        if self.anchor == self.Anchor.LAPSE and self.offset_days < 0:
            # the lapse date is known only once the policy has lapsed: nothing can be dated before it
            errors["offset_days"] = str(_("A step dated from the lapse cannot come before it."))
        if errors:
            raise ValidationError(errors)


class PolicyPlan(models.Model):
    """A clerk's override of the plan of one policy."""

    policy = models.OneToOneField(Policy, on_delete=models.CASCADE, related_name="collection_plan_override")
    plan = models.ForeignKey(CollectionPlan, on_delete=models.PROTECT)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now=True)


# PlannedContact moved to outreach (outreach.models.PlannedContact): renewals plans through it.


class WorkTeam(models.Model):
    """What the workbench knows of a team (accounts.Team holds its lead and members): the branches
    it serves, its working hours and its kind. A renewal team works its branches' cases; a
    department (sales, underwriting, claims, finance, IT) answers hand-offs."""

    class Kind(models.TextChoices):
        RENEWAL = "renewal", _("Renewal team")
        SALES = "sales", _("Sales (servicing agents)")
        UNDERWRITING = "underwriting", _("Underwriting")
        CLAIMS = "claims", _("Claims")
        FINANCE = "finance", _("Finance")
        IT = "it", _("IT")

    team = models.OneToOneField("accounts.Team", verbose_name=_("Team"), on_delete=models.CASCADE,
                                related_name="work")
    kind = models.CharField(_("Kind"), max_length=16, choices=Kind.choices, default=Kind.RENEWAL)
    branches = models.ManyToManyField("policies.Branch", verbose_name=_("Branches"), blank=True,
                                      related_name="work_teams")
    work_start = models.TimeField(_("Working hours from"), default=dt.time(9, 0))
    work_end = models.TimeField(_("Working hours to"), default=dt.time(18, 0))

    class Meta:
        verbose_name = _("Work team")
        verbose_name_plural = _("Work teams")

    def __str__(self) -> str:
        return str(self.team)


class CalendarDay(models.Model):
    """A day that breaks the Monday-to-Friday rule: a public holiday on a weekday, or a weekend
    day worked in exchange (调休). Seeded from the chinesecalendar library; later years are
    entered by an admin, year by year (CalendarYear)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday")
        WORKDAY = "workday", _("Adjusted working day")

    day = models.DateField(_("Date"), unique=True)
    kind = models.CharField(_("Kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("Name"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("Calendar day")
        verbose_name_plural = _("Working calendar")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.get_kind_display()}"


class CalendarYear(models.Model):
    """A year whose holidays and adjusted working days are entered: past the last one the
    calendar counts weekdays and says so."""

    year = models.PositiveSmallIntegerField(_("Year"), unique=True)
    source = models.CharField(_("Source"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("Calendar year")
        verbose_name_plural = _("Calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


# the outcomes a case gets without a contact attempt (closed by itself, answered, recorded)
CASE_OUTCOME_LABELS = {
    "paid": _("Money allocated: nothing owed any more"),
    "policy_lapsed": _("The policy lapsed"),
    "policy_deferred": _("The policy is deferred"),
    "policy_ended": _("The policy ended"),
    "no_premium_due": _("No more premiums due"),
    "application_decided": _("The application was decided"),
    "answered": _("Answered"),
    "recorded": _("Recorded"),
    "deadline passed": _("Deadline passed"),
    "deadline passed: assigned to the team lead": _("Deadline passed: assigned to the team lead"),
    "rebalanced": _("Rebalanced by the team lead"),
    "collection plan step": _("Opened by the collection plan"),
    "claim expired": _("The previous claim expired"),
}
CASE_OPEN_STATUSES = ("open", "in_progress", "waiting_customer", "escalated")
# several at once per policy: a question to each department, every piece of feedback
CASE_MANY_TYPES = ("feedback", "handoff_sales", "handoff_underwriting", "handoff_claims", "handoff_finance",
                   "handoff_it")


def _sql_list(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


# the ON CONFLICT target of every INSERT of cases (the pipeline's, the contact-repair event's):
# the partial unique index one_open_case_per_policy_and_type, spelled as its predicate so
# PostgreSQL infers it (constants of this module, not input)
CASE_ON_CONFLICT = (f"ON CONFLICT (policy_id, type) WHERE (status IN ({_sql_list(CASE_OPEN_STATUSES)}) "
                    f"AND NOT (type IN ({_sql_list(CASE_MANY_TYPES)})))")


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("case", policy=True))
class Case(models.Model):
    """A piece of work: a clerk's (collection, contact repair, an application awaiting someone,
    feedback) or a department's (a hand-off). Claimed by one person at a time."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("case status", "Open")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING = "waiting_customer", _("Waiting for the customer")
        RESOLVED = "resolved", _("Resolved")
        ESCALATED = "escalated", _("Escalated")
        CANCELLED = "cancelled", _("Cancelled")

    class Type(models.TextChoices):
        OVERDUE = "overdue_follow_up", _("Overdue follow-up")
        FAILED_DEBIT = "failed_debit", _("Failed debit")
        CONTACT_REPAIR = "contact_repair", _("Contact repair")
        PROMISE = "promise_follow_up", _("Promise-to-pay follow-up")
        APPLICATION = "application", _("Application")
        FEEDBACK = "feedback", _("Customer feedback")
        HANDOFF_SALES = "handoff_sales", _("Hand-off to the servicing agent")
        HANDOFF_UNDERWRITING = "handoff_underwriting", _("Hand-off to underwriting")
        HANDOFF_CLAIMS = "handoff_claims", _("Hand-off to claims")
        HANDOFF_FINANCE = "handoff_finance", _("Hand-off to finance")
        HANDOFF_IT = "handoff_it", _("Hand-off to IT")
        # the default plan's T-20 step for customers whose lapse-risk score is high: a clerk calls
        # before the first reminder (nothing is owed yet, so it is not a collection case)
        LAPSE_RISK_CALL = "lapse_risk_call", _("Call a high lapse-risk customer")

    OPEN_STATUSES = CASE_OPEN_STATUSES
    MANY_TYPES = CASE_MANY_TYPES
    # the collection cases: their reason is money owed, gone when it is paid
    COLLECTION_TYPES = ("overdue_follow_up", "failed_debit", "promise_follow_up")

    policy = models.ForeignKey(Policy, verbose_name=_("Policy"), on_delete=models.PROTECT, related_name="cases")
    type = models.CharField(_("Type"), max_length=24, choices=Type.choices)
    status = models.CharField(_("Status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("Outcome"), max_length=24, blank=True)
    # the plan step's escalation level (urgent steps raise it); the priority below is a score
    escalation = models.PositiveSmallIntegerField(_("Escalation level"), default=0)
    priority = models.IntegerField(_("Priority"), default=0)
    priority_parts = models.JSONField(_("Priority parts"), default=dict, blank=True)
    deadline = models.DateField(_("Deadline"), null=True, blank=True)
    breached_on = models.DateField(_("Deadline breached on"), null=True, blank=True)
    team = models.ForeignKey(WorkTeam, verbose_name=_("Team"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="cases")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("Assigned to"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="assigned_cases")
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("Held by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="claimed_cases")
    claimed_at = models.DateTimeField(_("Last touched by the holder"), null=True, blank=True)
    next_action_on = models.DateField(_("Next action on"), null=True, blank=True)
    promised_on = models.DateField(_("Promised to pay on"), null=True, blank=True)
    parent = models.ForeignKey("self", verbose_name=_("From case"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    application = models.ForeignKey(Application, verbose_name=_("Application"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="cases")
    question = models.TextField(_("Question"), blank=True)
    answer = models.TextField(_("Answer"), blank=True)
    category = models.CharField(_("Category"), max_length=24, blank=True)  # a feedback's kind
    opened_by_step = models.ForeignKey(PlanStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    opened_on = models.DateField(_("Opened on"))
    resolved_at = models.DateTimeField(_("Resolved"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    class Meta:
        verbose_name = _("Case")
        verbose_name_plural = _("Cases")
        constraints = [models.UniqueConstraint(
            fields=["policy", "type"],
            condition=models.Q(status__in=CASE_OPEN_STATUSES) & ~models.Q(type__in=CASE_MANY_TYPES),
            name="one_open_case_per_policy_and_type")]
        indexes = [
            # the queues, most urgent first (keyset on priority, id) among open-ish cases
            models.Index(models.F("team"), models.F("priority").desc(), models.F("id"), name="case_queue_team",
                         condition=models.Q(status__in=CASE_OPEN_STATUSES)),
            models.Index(models.F("assignee"), models.F("priority").desc(), models.F("id"), name="case_queue_assignee",
                         condition=models.Q(status__in=CASE_OPEN_STATUSES)),
            # claim-next and the unassigned queue
            models.Index(models.F("priority").desc(), models.F("id"), name="case_queue_pool",
                         condition=models.Q(status__in=CASE_OPEN_STATUSES, assignee__isnull=True)),
            # the nightly refresh and the money event, by policy
            models.Index(fields=["policy", "status"], name="case_policy_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.policy}"

    @property
    def is_open(self) -> bool:
        return self.status in CASE_OPEN_STATUSES

    @property
    def is_handoff(self) -> bool:
        return self.type.startswith("handoff_")

    @property
    def outcome_label(self) -> str:
        return str(CASE_OUTCOME_LABELS.get(self.outcome) or ContactAttempt.Outcome(self.outcome).label
                   if self.outcome in ContactAttempt.Outcome.values or self.outcome in CASE_OUTCOME_LABELS
                   else self.outcome)


class CaseHistory(models.Model):
    """The case's history, as its page shows it: who did what, from which status to which, why."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        CLAIMED = "claimed", _("Claimed")
        RELEASED = "released", _("Released")
        ASSIGNED = "assigned", _("Assigned")
        CONTACT = "contact", _("Contact attempt")
        STATUS = "status", _("Status changed")
        CLOSED = "closed", _("Closed by itself")
        ESCALATED = "escalated", _("Escalated")
        HANDOFF = "handoff", _("Handed off")
        ANSWERED = "answered", _("Answered")
        REOPENED = "reopened", _("Reopened")
        NOTE = "note", _("Note")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(_("Kind"), max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("By"))
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    reason = models.CharField(_("Reason"), max_length=256, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("When"), default=timezone.now)

    class Meta:
        verbose_name = _("Case history entry")
        verbose_name_plural = _("Case history")
        ordering = ["case", "created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_history_case")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"

    @property
    def to_status_label(self) -> str:
        return str(Case.Status(self.to_status).label) if self.to_status in Case.Status.values else self.to_status

    @property
    def reason_label(self) -> str:
        """A contact's outcome or an automatic close's reason in words; free text as it is."""
        if self.reason in CASE_OUTCOME_LABELS:
            return str(CASE_OUTCOME_LABELS[self.reason])
        if self.reason in ContactAttempt.Outcome.values:
            return str(ContactAttempt.Outcome(self.reason).label)
        return self.reason


def case_attachment_path(instance, filename: str) -> str:
    return f"cases/{instance.case_id}/{filename}"


class CaseNote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("By"))
    text = models.TextField(_("Note"))
    attachment = models.FileField(_("Attachment"), upload_to=case_attachment_path, blank=True, max_length=255)
    created_at = models.DateTimeField(_("When"), auto_now_add=True)

    class Meta:
        verbose_name = _("Case note")
        verbose_name_plural = _("Case notes")
        ordering = ["case", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.created_at:%Y-%m-%d}"


class ContactAttempt(models.Model):
    """A clerk's contact attempt on a case, with more than outreach's contact log keeps (the log
    entry itself is outreach's: contact_log)."""

    class Reason(models.TextChoices):
        FORGOT = "forgot", _("Forgot")
        HARDSHIP = "hardship", _("Hardship")
        DISSATISFIED = "dissatisfied", _("Dissatisfied")
        WRONG_CONTACT = "wrong_contact", _("Wrong contact details")
        DECEASED = "deceased", _("Deceased")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        PROMISE = "promise", _("Promise to pay on a date")
        WANTS_DEFERRAL = "wants_deferral", _("Wants a deferral")
        WANTS_REDUCED_PAID_UP = "wants_reduced_paid_up", _("Wants reduced paid-up")
        WANTS_PLAN_CHANGE = "wants_plan_change", _("Wants a plan change")
        DISPUTE = "dispute", _("Dispute")
        REFUSES = "refuses", _("Refuses")
        WILL_PAY_NOW = "will_pay_now", _("Will pay now")
        NO_ANSWER = "no_answer", _("Not reached")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attempts")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="+")
    contact_log = models.ForeignKey("outreach.ContactLog", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    channel = models.CharField(_("Channel"), max_length=8)
    reached = models.BooleanField(_("Reached"))
    reason = models.CharField(_("Reason"), max_length=16, choices=Reason.choices, blank=True)
    outcome = models.CharField(_("Outcome"), max_length=24, choices=Outcome.choices)
    promised_on = models.DateField(_("Promised to pay on"), null=True, blank=True)
    next_action_on = models.DateField(_("Next action on"), null=True, blank=True)
    note = models.CharField(_("Note"), max_length=512, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("By"))
    occurred_at = models.DateTimeField(_("When"))

    class Meta:
        verbose_name = _("Contact attempt")
        verbose_name_plural = _("Contact attempts")
        # the lead's figures of a day: attempts by clerk and date
        indexes = [models.Index(fields=["actor", "occurred_at"], name="contact_attempt_actor")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.outcome}"


class CallScript(models.Model):
    """The call script of a customer group, in one language: team leads edit it as data."""

    class Audience(models.TextChoices):
        YOUNGER = "younger", _("Younger customers")
        OLDER = "older", _("Older customers")
        HARDSHIP = "hardship", _("Customers in hardship")

    audience = models.CharField(_("Customers"), max_length=12, choices=Audience.choices)
    language = models.CharField(_("Language"), max_length=8, default="zh-hans")
    text = models.TextField(_("Script"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Call script")
        verbose_name_plural = _("Call scripts")
        constraints = [models.UniqueConstraint(fields=["audience", "language"], name="call_script_unique")]

    def __str__(self) -> str:
        return f"{self.audience} {self.language}"


class ClerkAway(models.Model):
    """A clerk marked away by a team lead: nothing is assigned to them until they are back."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="away")
    since = models.DateTimeField(_("Away since"), default=timezone.now)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("Clerk away")
        verbose_name_plural = _("Clerks away")

    def __str__(self) -> str:
        return str(self.user)


class ApprovalStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("hold", policy=True))
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


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("moratorium"))
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
