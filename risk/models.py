"""Risk rules as versioned data, the flags they raise, their review, and the claims that some rules
read (DESIGN.md section 3, risk flags; issue 17)."""

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audit.events import StatementUpdateEvent, trail_meta
from policies.models import Customer, Policy


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


# the queue's order: high first
SEVERITY_RANK = {Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("rule"))
class Rule(models.Model):
    """One version of a rule. Editing a rule writes a new version (a draft until switched on); the
    flags keep naming the version that raised them. `key` is the rule across its versions."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    key = models.SlugField(_("Rule"), max_length=64)
    version = models.PositiveIntegerField(_("Version"), default=1)
    state = models.CharField(_("State"), max_length=8, choices=State.choices, default=State.DRAFT)
    kind = models.CharField(_("Kind"), max_length=32)  # risk.kinds registry
    name = models.CharField(_("Name"), max_length=128)
    params = models.JSONField(_("Parameters"), default=dict, blank=True)
    threshold = models.DecimalField(_("Threshold"), max_digits=14, decimal_places=2)
    severity = models.CharField(_("Severity"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    # empty: every product, every branch (a branch covers its descendants)
    products = ArrayField(models.CharField(max_length=32), verbose_name=_("Products"), default=list, blank=True)
    branches = ArrayField(models.CharField(max_length=32), verbose_name=_("Branches"), default=list, blank=True)
    active_from = models.DateField(_("Active from"), null=True, blank=True)
    active_to = models.DateField(_("Active until"), null=True, blank=True)
    change_reason = models.CharField(_("Reason for the change"), max_length=256, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Risk rule")
        verbose_name_plural = _("Risk rules")
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="risk_rule_unique_version"),
            # one version of a rule is switched on at a time
            models.UniqueConstraint(fields=["key"], condition=Q(state="active"), name="risk_rule_one_active"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("allowedpayer"))
class AllowedPayer(models.Model):
    """A known legitimate payer of a customer's premiums (a parent, a spouse, an employer): the
    third-party payer rule passes them."""

    class Relation(models.TextChoices):
        PARENT = "parent", _("Parent")
        SPOUSE = "spouse", _("Spouse")
        CHILD = "child", _("Child")
        EMPLOYER = "employer", _("Employer")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="allowed_payers")
    payer_name = models.CharField(_("Payer name"), max_length=128, blank=True)
    payer_account = models.CharField(_("Payer account"), max_length=64, blank=True)
    relation = models.CharField(_("Relation"), max_length=8, choices=Relation.choices)
    note = models.CharField(_("Note"), max_length=256, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Allowed payer")
        verbose_name_plural = _("Allowed payers")
        constraints = [
            models.UniqueConstraint(fields=["customer", "payer_name", "payer_account"], name="allowed_payer_unique"),
            models.CheckConstraint(condition=~Q(payer_name="") | ~Q(payer_account=""), name="allowed_payer_named"),
        ]


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("claim"))
class Claim(models.Model):
    """A claim as the claims system tells us (API) or a claims handler enters it."""

    class Kind(models.TextChoices):
        DEATH = "death", _("Death")
        CRITICAL_ILLNESS = "critical_illness", _("Critical illness")
        MEDICAL = "medical", _("Medical")
        ACCIDENT = "accident", _("Accident")
        DISABILITY = "disability", _("Disability")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        REPORTED = "reported", _("Reported")
        UNDER_REVIEW = "under_review", _("Under review")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        PAID = "paid", _("Paid")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Source(models.TextChoices):
        API = "api", _("Claims system")
        MANUAL = "manual", _("Entered by hand")

    policy = models.ForeignKey(Policy, verbose_name=_("Policy"), on_delete=models.PROTECT, related_name="claims")
    claim_no = models.CharField(_("Claim number"), max_length=32, unique=True)
    loss_date = models.DateField(_("Loss date"))
    reported_date = models.DateField(_("Reported date"))
    kind = models.CharField(_("Claim kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("Claim status"), max_length=16, choices=Status.choices, default=Status.REPORTED)
    source = models.CharField(_("Source"), max_length=8, choices=Source.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Claim")
        verbose_name_plural = _("Claims")
        ordering = ["-reported_date", "-id"]
        indexes = [models.Index(fields=["policy", "loss_date"], name="claim_policy_loss")]

    def __str__(self) -> str:
        return self.claim_no


class ContactBaseline(models.Model):
    """A customer's contact details as they were before their first change: the values the policy
    import wrote (the import writes no history row, and the trail's update rows hold the values
    after each change). Written by the database trigger risk_contact_baseline on policies_customer
    (migration 0003), once per customer, in the changing statement's transaction; the contact-change
    rule compares a customer's first trail row with it."""

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="+",
                                    db_constraint=False)
    phone = models.CharField(max_length=11, blank=True)
    email = models.CharField(max_length=254, blank=True)
    address = models.CharField(max_length=256, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Contact details before the first change")
        verbose_name_plural = _("Contact details before the first change")
        triggers = [pgtrigger.Protect(name="contact_baseline_append_only",
                                      operation=pgtrigger.Update | pgtrigger.Delete)]


class SubjectType(models.TextChoices):
    POLICY = "policy", _("Policy")
    CUSTOMER = "customer", _("Customer")
    ACCOUNT = "account", _("Payer account")


@pghistory.track(StatementUpdateEvent("review", condition=pghistory.AnyChange("status", "claimed_by")),
                  meta=trail_meta("flag"))
class Flag(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        SNOOZED = "snoozed", _("Snoozed")
        ESCALATED = "escalated", _("Escalated to compliance")
        CLEARED = "cleared", _("Cleared (false positive)")
        CONFIRMED = "confirmed", _("Confirmed")

    # still waiting for an outcome: one of these per rule and subject at most
    LIVE_STATUSES = ("open", "snoozed", "escalated")

    rule = models.ForeignKey(Rule, verbose_name=_("Rule version"), on_delete=models.PROTECT, related_name="flags")
    # no index of its own: the unique indexes below start with it. A rule_key-only index made the
    # night's previous-flag look-up (risk.services.evaluation.INSERT_FLAGS) scan every index entry of
    # the rule, the statement's own new rows included, for each row it inserts: on the first night
    # after a migration (an empty, unanalysed risk_flag) 2.6 ms x 23,000 flags a chunk (bench part 16)
    rule_key = models.SlugField(max_length=64, db_index=False)
    kind = models.CharField(_("Kind"), max_length=32)
    severity = models.CharField(_("Severity"), max_length=8, choices=Severity.choices)
    subject_type = models.CharField(_("Subject"), max_length=8, choices=SubjectType.choices)
    # the policy's or customer's id, or the payer account (or "name:<payer>" for cash without one)
    subject_key = models.CharField(max_length=96)
    # every policy behind the flag: a reviewer sees it when any of them is in their branches
    policy_ids = ArrayField(models.BigIntegerField(), default=list)
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.PROTECT, related_name="risk_flags",
                               db_index=False)
    # what the evidence is made of (payment ids, installment sequence...): the same pattern is
    # raised once; a new one after an outcome is a new flag pointing to the old
    fingerprint = models.CharField(max_length=256)
    evidence = models.JSONField(default=dict)
    sentence_params = models.JSONField(default=dict)
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    raised_on = models.DateField(_("Raised on"))
    raised_at = models.DateTimeField(auto_now_add=True)
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("Previous flag"))
    snoozed_until = models.DateField(_("Snoozed until"), null=True, blank=True)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", db_index=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_on = models.DateField(null=True, blank=True)
    outcome_reason = models.CharField(_("Reason"), max_length=512, blank=True)

    class Meta:
        verbose_name = _("Risk flag")
        verbose_name_plural = _("Risk flags")
        constraints = [
            models.UniqueConstraint(fields=["rule_key", "subject_type", "subject_key"],
                                    condition=Q(status__in=["open", "snoozed", "escalated"]),
                                    name="risk_flag_one_live_per_subject"),
            models.UniqueConstraint(fields=["rule_key", "subject_type", "subject_key", "fingerprint"],
                                    name="risk_flag_once_per_pattern"),
        ]
        indexes = [
            # the queue: WHERE status IN (...) ORDER BY severity rank, raised_on
            models.Index(fields=["status", "raised_on"], name="risk_flag_queue"),
            # branch scope: policy_ids && ARRAY[...]
            GinIndex(fields=["policy_ids"], name="risk_flag_policy_ids"),
            models.Index(fields=["policy"], name="risk_flag_policy", condition=Q(policy__isnull=False)),
            # the night's look-up of a chunk's live flags of a rule (risk.kinds.UNFLAGGED): both of its
            # conditions in one index, so that no plan reads the rule's live flags of every chunk by
            # risk_flag_one_live_per_subject (bench/RESULTS.md part 19)
            models.Index(fields=["policy", "rule_key"], name="risk_flag_live_policy",
                         condition=Q(policy__isnull=False, status__in=["open", "snoozed", "escalated"])),
        ]

    def __str__(self) -> str:
        return f"{self.rule_key}:{self.subject_type}:{self.subject_key}"


class Review(models.Model):
    """One action on a flag, with its reason (the trail has it too)."""

    class Action(models.TextChoices):
        CLAIM = "claim", _("Claimed")
        SNOOZE = "snooze", _("Snoozed")
        CLEAR = "clear", _("Cleared")
        CONFIRM = "confirm", _("Confirmed")
        ESCALATE = "escalate", _("Escalated")
        PACK = "pack", _("Evidence pack exported")

    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="reviews")
    action = models.CharField(_("Action"), max_length=10, choices=Action.choices)
    reason = models.CharField(_("Reason"), max_length=512, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    on = models.DateField(_("Business date"))
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Flag review")
        verbose_name_plural = _("Flag reviews")
        ordering = ["at", "id"]
        triggers = [pgtrigger.Protect(name="review_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]


class Candidate(models.Model):
    """The night's cross-policy hits (portfolio-wide aggregation, once per business date), written
    as flags chunk by chunk by their first policy. A work table: replaced on each run of its date."""

    as_of = models.DateField()
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+")
    subject_type = models.CharField(max_length=8)
    subject_key = models.CharField(max_length=96)
    anchor_policy_id = models.BigIntegerField(null=True)
    policy_ids = ArrayField(models.BigIntegerField(), default=list)
    fingerprint = models.CharField(max_length=256)
    evidence = models.JSONField(default=dict)
    sentence_params = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["as_of", "rule", "subject_type", "subject_key"],
                                               name="risk_candidate_unique")]
        # the chunk's hits: WHERE as_of = ? AND anchor_policy_id BETWEEN ? AND ?
        indexes = [models.Index(fields=["as_of", "anchor_policy_id"], name="risk_candidate_anchor")]
