import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import ExtractDay
from django.utils.translation import gettext_lazy as _

from audit.events import StatementUpdateEvent, trail_meta


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                 meta=trail_meta("branch"))
class Branch(models.Model):
    code = models.CharField(_("Branch code"), max_length=32, unique=True)
    name = models.CharField(_("Branch name"), max_length=128)
    parent = models.ForeignKey(
        "self", verbose_name=_("Parent branch"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    province = models.CharField(_("Province"), max_length=32, blank=True)
    city = models.CharField(_("City"), max_length=32, blank=True)
    # "/HQ/GD/GZ/": a branch covers every branch whose path starts with its own.
    path = models.CharField(max_length=512, editable=False, default="")
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("Staff"), related_name="branches", blank=True
    )

    class Meta:
        verbose_name = _("Branch")
        verbose_name_plural = _("Branch")
        ordering = ["path"]
        # branch scoping: path LIKE '/HQ/GD/%'
        indexes = [models.Index(fields=["path"], name="branch_path_like", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                 meta=trail_meta("agent"))
class Agent(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        LEFT = "left", _("Left")

    code = models.CharField(_("Agent code"), max_length=32, unique=True)
    name = models.CharField(_("Name"), max_length=64, blank=True)
    status = models.CharField(_("Status"), max_length=8, choices=Status.choices, default=Status.ACTIVE)
    branch = models.ForeignKey(Branch, verbose_name=_("Branch"), null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("Agent")
        verbose_name_plural = _("Agent")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.name else self.code


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                 meta=trail_meta("product"))
class Product(models.Model):
    class Kind(models.TextChoices):
        LIFE = "life", _("Life")
        CRITICAL_ILLNESS = "critical_illness", _("Critical illness")
        HEALTH = "health", _("Health")
        ANNUITY = "annuity", _("Annuity")
        ACCIDENT = "accident", _("Accident")

    code = models.CharField(_("Product code"), max_length=32, unique=True)
    name = models.CharField(_("Product name"), max_length=128)
    kind = models.CharField(_("Product kind"), max_length=20, choices=Kind.choices)
    grace_days = models.PositiveSmallIntegerField(_("Grace period (days)"), default=60)
    reinstatement_years = models.PositiveSmallIntegerField(_("Reinstatement window (years)"), default=2)
    reinstatement_interest_rate = models.DecimalField(
        _("Reinstatement interest rate (yearly, simple)"), max_digits=7, decimal_places=5, default="0.04500"
    )

    class Meta:
        verbose_name = _("Product")
        verbose_name_plural = _("Product")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone call")
    WECHAT = "wechat", _("WeChat")
    APP = "app", _("App push")
    EMAIL = "email", _("E-mail")
    COUNTER = "counter", _("Counter")


@pghistory.track(StatementUpdateEvent("update"), pghistory.ManualEvent("reveal"),
                 meta=trail_meta("customer", manual=("reveal",)))
class Customer(models.Model):
    class IdType(models.TextChoices):
        RESIDENT_ID = "resident_id", _("Resident ID card")
        PASSPORT = "passport", _("Passport")
        OTHER = "other", _("Other")

    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    name = models.CharField(_("Name"), max_length=64)
    id_type = models.CharField(_("ID type"), max_length=16, choices=IdType.choices, default=IdType.RESIDENT_ID)
    id_no = models.CharField(_("ID number"), max_length=32)
    birth_date = models.DateField(_("Birth date"), null=True, blank=True)
    gender = models.CharField(_("Gender"), max_length=1, choices=Gender.choices, blank=True)
    phone = models.CharField(_("Mobile phone"), max_length=11, blank=True)
    email = models.EmailField(_("E-mail"), blank=True)
    address = models.CharField(_("Address"), max_length=256, blank=True)
    preferred_channel = models.CharField(_("Preferred channel"), max_length=8, choices=Channel.choices, blank=True)
    language = models.CharField(_("Language"), max_length=8, default="zh-hans")
    opt_outs = ArrayField(
        models.CharField(max_length=8, choices=Channel.choices), verbose_name=_("Opted-out channels"), default=list, blank=True
    )
    # {"sms": "valid" | "failed", "phone": ...}: a failed mobile with no other working channel
    # sends the customer to contact repair (DESIGN.md section 3, Orphans).
    contact_validity = models.JSONField(_("Channel validity"), default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Customer")
        verbose_name_plural = _("Customer")
        constraints = [models.UniqueConstraint(fields=["id_type", "id_no"], name="customer_unique_id")]
        indexes = [
            # policy search by name (exact or prefix) and by phone
            models.Index(fields=["name"], name="customer_name_like", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["phone"], name="customer_phone"),
        ]

    def __str__(self) -> str:
        return self.name


class PolicyStatus(models.TextChoices):
    IN_FORCE = "in_force", _("In force")
    DEFERRED = "deferred", _("Deferred")
    LAPSED = "lapsed", _("Lapsed")
    TERMINATED = "terminated", _("Terminated")
    PAID_UP = "paid_up", _("Paid up")
    REDUCED_PAID_UP = "reduced_paid_up", _("Reduced paid-up")
    SURRENDERED = "surrendered", _("Surrendered")
    MATURED = "matured", _("Matured")


@pghistory.track(
    StatementUpdateEvent("update"),
    pghistory.ManualEvent("reveal"),
    pghistory.ManualEvent("access_denied"),
    meta=trail_meta("policy", manual=("reveal", "access_denied")),
)
class Policy(models.Model):
    class Frequency(models.TextChoices):
        ANNUAL = "annual", _("Annual")
        SEMIANNUAL = "semiannual", _("Semiannual")
        QUARTERLY = "quarterly", _("Quarterly")
        MONTHLY = "monthly", _("Monthly")

    class PaymentMethod(models.TextChoices):
        AUTO_DEBIT = "auto_debit", _("Auto-debit")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        ONLINE = "online", _("Online payment")
        COUNTER = "counter", _("Counter")

    class Segment(models.TextChoices):
        STANDARD = "standard", _("Standard")
        HIGH_VALUE = "high_value", _("High value")
        VIP = "vip", _("VIP")

    class SalesChannel(models.TextChoices):
        AGENCY = "agency", _("Agency")
        BANCASSURANCE = "bancassurance", _("Bancassurance")
        TELEMARKETING = "telemarketing", _("Telemarketing")
        ONLINE = "online", _("Online")
        GROUP = "group", _("Group")

    class OverdueReason(models.TextChoices):
        FORGOT = "forgot", _("Forgot to pay")
        FINANCIAL_DIFFICULTY = "financial_difficulty", _("Financial difficulty")
        ACCOUNT_PROBLEM = "account_problem", _("Bank account problem")
        DISPUTE = "dispute", _("Disputes the policy or the premium")
        CONSIDERING_SURRENDER = "considering_surrender", _("Considering surrender")
        UNREACHABLE = "unreachable", _("Cannot be reached")
        OTHER = "other", _("Other")

    Status = PolicyStatus

    policy_no = models.CharField(_("Policy number"), max_length=32, unique=True)
    product = models.ForeignKey(Product, verbose_name=_("Product"), on_delete=models.PROTECT)
    # No single-column index on branch, holder or insured: policy_branch_status, policy_holder and
    # policy_insured (Meta) serve them, and every policy update (non-HOT: status is indexed) writes
    # an entry in each index the table has (bench/RESULTS.md part 21).
    branch = models.ForeignKey(Branch, verbose_name=_("Branch"), on_delete=models.PROTECT, db_index=False)
    agent = models.ForeignKey(Agent, verbose_name=_("Servicing agent"), null=True, blank=True, on_delete=models.PROTECT)
    holder = models.ForeignKey(Customer, verbose_name=_("Policyholder"), on_delete=models.PROTECT,
                               related_name="held_policies", db_index=False)
    insured = models.ForeignKey(
        Customer, verbose_name=_("Insured"), on_delete=models.PROTECT, related_name="insured_policies", db_index=False
    )
    issue_date = models.DateField(_("Effective date"))
    frequency = models.CharField(_("Payment frequency"), max_length=12, choices=Frequency.choices)
    premium_term_years = models.PositiveSmallIntegerField(_("Premium term (years)"))
    modal_premium = models.DecimalField(_("Modal premium"), max_digits=14, decimal_places=2)
    sum_assured = models.DecimalField(_("Sum assured"), max_digits=14, decimal_places=2)
    payment_method = models.CharField(_("Payment method"), max_length=16, choices=PaymentMethod.choices)
    bank_name = models.CharField(_("Bank"), max_length=64, blank=True)
    bank_account = models.CharField(_("Bank account"), max_length=34, blank=True)
    bank_account_name = models.CharField(_("Account name"), max_length=64, blank=True)
    paid_to_date = models.DateField(_("Paid to date"))
    # The feed's paid_to_date when it differs from ours after the first import: listed in the
    # consistency report, never applied (DESIGN.md section 3, Sources of truth).
    feed_paid_to_date = models.DateField(_("Core system's paid-to date"), null=True, blank=True)
    status = models.CharField(_("Policy status"), max_length=16, choices=PolicyStatus.choices, default=PolicyStatus.IN_FORCE)
    lapse_date = models.DateField(_("Lapse date"), null=True, blank=True)
    # The feed's status when it differs from ours after the first import and is not an outcome
    # the core system owns (policies.lifecycle.FEED_OWNED): listed in the consistency report,
    # never applied (policy-feed.md, "Who owns the status"). Kept on the policy, like
    # feed_paid_to_date, rather than in a table of its own: the report needs only the feed's
    # current disagreement (one per policy), the import's one set-based UPDATE sets or clears it
    # with the row's other fields, and the trail already keeps every earlier value.
    # feed_status_since: the business date of the import that first said it (a re-sent file
    # keeps it, so sending the same file twice changes nothing).
    feed_status = models.CharField(_("Core system's status"), max_length=16, choices=PolicyStatus.choices,
                                   blank=True, default="", db_default="")
    feed_status_since = models.DateField(_("Core system's status since"), null=True, blank=True)
    # The channel that sold the policy, from the feed: a reporting slice (DESIGN.md section 3, KPIs).
    sales_channel = models.CharField(_("Sales channel"), max_length=16, choices=SalesChannel.choices,
                                     default=SalesChannel.AGENCY, db_default=SalesChannel.AGENCY)
    # Ours, not the feed's (db_default: the feed's set-based inserts leave them out). Collection
    # plan steps can be conditioned on them (DESIGN.md section 3, Collection plans).
    segment = models.CharField(_("Segment"), max_length=16, choices=Segment.choices, default=Segment.STANDARD,
                               db_default=Segment.STANDARD)
    overdue_reason = models.CharField(_("Overdue reason"), max_length=24, choices=OverdueReason.choices, blank=True,
                                      default="", db_default="")
    overdue_reason_on = models.DateField(_("Overdue reason recorded on"), null=True, blank=True)
    # The schedule's anchor (billing.services.schedules): installment s >= anchor_sequence is due at
    # issue_date + anchor_months + (s - anchor_sequence) x (12 / frequency) months. 0 and 0 until a
    # payment plan change moves the policy to another frequency from one of its due dates.
    schedule_anchor_sequence = models.PositiveIntegerField(default=0, db_default=0)
    schedule_anchor_months = models.PositiveIntegerField(default=0, db_default=0)
    # The business date of the import (feed, demo, API) that created the policy: our history of it
    # starts there, earlier history lives in the core system (DESIGN.md section 3), so its KPI facts
    # start there too (reporting.services.snapshot). Empty for policies made otherwise (no limit).
    first_imported_on = models.DateField(_("First imported on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Policy")
        verbose_name_plural = _("Policy")
        indexes = [
            models.Index(fields=["holder"], name="policy_holder"),
            models.Index(fields=["insured"], name="policy_insured"),
            models.Index(fields=["branch", "status"], name="policy_branch_status"),
            # matching by the payer's account registered on a policy
            models.Index(fields=["bank_account"], name="policy_bank_account", condition=~models.Q(bank_account="")),
            # the consistency report (selectors.policy_consistency_list): the few policies on
            # which the feed disagrees with us, by policy number, without reading the others
            models.Index(fields=["policy_no"], name="policy_feed_differs",
                         condition=models.Q(feed_paid_to_date__isnull=False) | ~models.Q(feed_status="")),
            # the night's readers of the policies written since their last run (the KPI snapshot's
            # slices, terms and new policies; the due list): a normal night's few thousand, found
            # here instead of in every row of each chunk (bench/RESULTS.md part 26). Every write of a
            # policy sets updated_at, so no update of a policy is HOT any longer; the night's status
            # changes were not (the status is in policy_branch_status).
            models.Index(fields=["updated_at"], name="policy_updated_at"),
            # the night's termination: the lapsed policies by lapse date, of which only those whose
            # reinstatement window can have ended are read (renewals.services.steps.ENDING_POLICIES)
            models.Index(fields=["lapse_date"], name="policy_lapsed_on",
                         condition=models.Q(status=PolicyStatus.LAPSED.value)),
            # the night's schedule extension: the policies whose due dates can fall on the new
            # horizon's day, by their issue day (billing.services.schedules.WINDOW_CANDIDATES)
            models.Index(ExtractDay("issue_date"), name="policy_issue_day"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(modal_premium__gt=0), name="policy_premium_positive"),
            models.CheckConstraint(
                condition=~models.Q(status="lapsed") | models.Q(lapse_date__isnull=False),
                name="policy_lapsed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.policy_no


class ScheduleChange(models.Model):
    """A policy that is new, or whose schedule's terms changed, since the night last extended the
    schedules: written by triggers on policies_policy (migration 0015), whoever writes the policy.
    The terms are what decides which installments exist: the issue date, the frequency, the premium
    term, the schedule's anchor, and a status that starts owing premiums again (lifecycle.PAYING).
    The night's extension reads a chunk's rows and deletes them in one statement; every other
    policy's schedule is complete through the last night's horizon, so the night looks only at those
    with a due date between that horizon and tonight's (billing.services.schedules).

    Append-only, a row per change (no key on the policy): a change committed while the night's
    chunk runs adds a row its DELETE did not see, which the next night reads, and a writer never
    waits for the night's lock on an earlier row of the same policy."""

    policy_id = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return str(self.policy_id)


@pghistory.track(StatementUpdateEvent("void"), meta=trail_meta("statuschange", policy=True))
class PolicyStatusChange(models.Model):
    """The status history: one row per status taken, with the date its rule gives.

    Status on day D = the latest non-void row with effective_date <= D. A reversed lapse is
    voided (voided_at, voided_by, void_reason), never deleted: the trigger refuses DELETE.
    """

    class Source(models.TextChoices):
        FEED = "feed", _("Core system")
        NIGHTLY = "nightly", _("Nightly run")
        USER = "user", _("Manual")
        API = "api", _("API")

    # looked up by policy through status_change_on_date (Meta), whose first column it is
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="status_changes", db_index=False)
    status = models.CharField(_("Status"), max_length=16, choices=PolicyStatus.choices)
    effective_date = models.DateField(_("Effective date"))
    recorded_at = models.DateTimeField(_("Recorded at"), auto_now_add=True)
    source = models.CharField(_("Source"), max_length=8, choices=Source.choices)
    rule = models.CharField(_("Rule"), max_length=64, blank=True)
    reason = models.CharField(_("Reason"), max_length=256, blank=True)
    voided_at = models.DateTimeField(_("Voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("Voided by"), null=True, blank=True, on_delete=models.PROTECT
    )
    void_reason = models.CharField(_("Void reason"), max_length=256, blank=True)

    class Meta:
        verbose_name = _("Status history")
        verbose_name_plural = _("Status history")
        # status on a date: WHERE policy_id = ? AND effective_date <= ? ORDER BY effective_date DESC, id DESC
        # and the lapses (reinstatements) of a period, in date order: the KPI drill-downs
        indexes = [
            models.Index(fields=["policy", "effective_date", "id"], name="status_change_on_date"),
            models.Index(fields=["status", "effective_date", "policy"], name="status_change_status_day",
                         condition=models.Q(voided_at__isnull=True)),
            # what was recorded or voided since a time (the KPI snapshot's changed days): read through
            # these, not the status history of every policy of a chunk (bench/RESULTS.md part 25). Rows
            # are appended in time order and a void is rare: both grow at their right edge only.
            models.Index(fields=["recorded_at"], name="status_change_recorded"),
            models.Index(fields=["voided_at"], name="status_change_voided", condition=models.Q(voided_at__isnull=False)),
        ]
        triggers = [pgtrigger.Protect(name="no_delete", operation=pgtrigger.Delete)]


class PolicyImport(models.Model):
    """The kept report of one import_policies file (from the command or the upload page)."""

    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    as_of = models.DateField(_("Business date"))
    file_name = models.CharField(_("File"), max_length=256)
    kind = models.CharField(_("Kind"), max_length=16)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("Policy import report")
        verbose_name_plural = _("Policy import report")
        ordering = ["-created_at"]
