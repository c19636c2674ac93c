import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from audit.events import StatementUpdateEvent, trail_meta
from core.references import references_triggers
from policies.models import Policy


@pghistory.track(
    # Money changes row by row; derived status moves (scheduled -> due -> overdue) are counted
    # per nightly step and chunk instead (DESIGN.md section 4).
    StatementUpdateEvent("money", condition=pghistory.AnyChange("amount_paid", "amount_due")),
    meta=trail_meta("installment", policy=True),
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

    # no index of its own: installment_unique_sequence (policy, sequence) serves look-ups by policy.
    # No foreign-key constraint either: Meta.triggers check the reference once per statement.
    policy = models.ForeignKey(Policy, verbose_name=_("Policy"), on_delete=models.PROTECT, related_name="installments",
                               db_index=False, db_constraint=False)
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
            # due lists and debit batches: WHERE due_date BETWEEN ... No index holds the status, the
            # amount paid or the paid value date, and the table keeps 10% of each page free
            # (fillfactor 90, migration 0010): allocations and the nightly status moves then
            # update rows in place (HOT), writing no index entry. The policy after the date gives a
            # drill-down's page (ORDER BY due_date, policy_id LIMIT 50) without sorting a day's rows.
            models.Index(fields=["due_date", "policy"], name="installment_due_date_policy"),
        ]
        # the policy reference, checked per statement (core.references): the first night after a
        # migration inserts 13.7 million installments, the constraint's row-by-row check took 3 s of
        # each 9 s chunk of 689,000 rows (bench/RESULTS.md part 19)
        triggers = references_triggers({"policy_id": "policies_policy"})

    def __str__(self) -> str:
        return f"{self.policy_id}#{self.sequence}"


class StatementImport(models.Model):
    """One imported file and its kept report (interfaces.md import_statement)."""

    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    file_name = models.CharField(_("File"), max_length=256)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    format = models.CharField(_("Format"), max_length=16)
    account_no = models.CharField(_("Receiving account"), max_length=64)
    lines = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    duplicate = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("Statement import")
        verbose_name_plural = _("Statement imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("payment"))
class Payment(models.Model):
    """One money movement: a statement line, a bill row, a debit result, a webhook, a subsidy."""

    class Source(models.TextChoices):
        BANK = "bank", _("Bank statement")
        ALIPAY = "alipay", _("Alipay")
        WECHATPAY = "wechatpay", _("WeChat Pay")
        DEBIT = "debit", _("Auto-debit")
        COUNTER = "counter", _("Counter")
        SUBSIDY = "subsidy", _("Hardship subsidy")
        WEBHOOK = "webhook", _("Payment platform")

    class Direction(models.TextChoices):
        CREDIT = "credit", _("Credit")
        DEBIT = "debit", _("Debit")

    class Status(models.TextChoices):
        SUSPENSE = "suspense", _("Suspense")  # nothing matched yet
        PROPOSED = "proposed", _("Proposed")  # a rule proposed a match for a person to confirm
        MATCHED = "matched", _("Matched")  # assigned to one or more policies
        REFUNDED = "refunded", _("Refunded")
        KEPT = "kept", _("Kept")  # finance decided to keep it in suspense on purpose
        IGNORED = "ignored", _("Not a premium")  # debits and movements that are not premium money

    class ReasonCode(models.TextChoices):
        NO_REFERENCE = "no_reference", _("No reference found")
        SEVERAL_POLICIES_REFERENCED = "several_policies_referenced", _("Reference names several policies")
        AMOUNT_FITS_NO_INSTALLMENT = "amount_fits_no_installment", _("Amount fits no open installment")
        PAYER_ACCOUNT_SEVERAL_POLICIES = "payer_account_several_policies", _("Payer account on several policies")
        PAYER_NAME_SEVERAL_POLICIES = "payer_name_several_policies", _("Payer name on several policies")
        CONFLICTING_REFERENCE = "conflicting_reference", _("Conflicting reference")
        FOREIGN_CURRENCY = "foreign_currency", _("Foreign currency")
        OVERPAYMENT_NOTHING_DUE = "overpayment_nothing_due", _("Over-payment, nothing left due")
        OVERPAYMENT_BEYOND_12_MONTHS = "overpayment_beyond_12_months", _("Over-payment beyond 12 months")
        MANUAL_REJECT = "manual_reject", _("Match rejected by a person")
        NOT_MONEY_RECEIVED = "not_money_received", _("Not money received")

    source = models.CharField(_("Source"), max_length=12, choices=Source.choices)
    statement_import = models.ForeignKey(StatementImport, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="payments", db_constraint=False)
    line_no = models.PositiveIntegerField(_("Line"), default=0)
    account_no = models.CharField(_("Receiving account"), max_length=64)
    # the line's identity with the account: the bank's reference, else a hash of its content
    identity = models.CharField(max_length=128)
    value_date = models.DateField(_("Value date"))
    booking_date = models.DateField(_("Booking date"), null=True, blank=True)
    direction = models.CharField(_("Direction"), max_length=6, choices=Direction.choices)
    amount = models.DecimalField(_("Amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("Currency"), max_length=3, default="CNY")
    payer_name = models.CharField(_("Payer name"), max_length=128, blank=True)
    payer_account = models.CharField(_("Payer account"), max_length=64, blank=True)
    reference = models.CharField(_("Reference"), max_length=128, blank=True)
    remittance = models.TextField(_("Remittance text"), blank=True)
    reversal = models.BooleanField(_("Reversal"), default=False)
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.SUSPENSE)
    # why the line is (or went back) in suspense, as a code with its parameters (billing.reasons
    # renders the sentence in the reader's language); status_reason keeps what a person typed
    reason_code = models.CharField(_("Reason"), max_length=40, choices=ReasonCode.choices, blank=True)
    reason_params = models.JSONField(_("Reason details"), default=dict, blank=True)
    status_reason = models.CharField(_("Note"), max_length=256, blank=True)
    # where a refund went (the payer's own account unless finance names another): the risk rule
    # "refund to an account other than the one that paid" reads it
    refund_account = models.CharField(_("Refunded to account"), max_length=64, blank=True, default="",
                                      db_default="")
    refunded_on = models.DateField(_("Refunded on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Payment")
        verbose_name_plural = _("Payments")
        constraints = [
            models.UniqueConstraint(fields=["account_no", "identity"], name="payment_unique_line"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [
            # the suspense page: WHERE status IN (suspense, proposed) ORDER BY value_date
            models.Index(fields=["status", "value_date"], name="payment_status_value_date"),
            # the reconciliation: a day's (or the dashboard's week's) lines, whatever their status
            models.Index(fields=["value_date"], name="payment_value_date"),
        ]
        # A statement inserts its payments, their assignments and allocations by the hundred
        # thousand: their references to rows of the same statement (and to users, the import, a
        # charge) are checked per statement (core.references), not by foreign-key constraints
        # whose row-by-row checks ran at commit (bench/RESULTS.md part 21). The references to a
        # policy or an installment stay constraints (Assignment.policy).
        triggers = references_triggers({"statement_import_id": "billing_statementimport"})

    def __str__(self) -> str:
        return f"{self.value_date} {self.amount} {self.currency}"

    @property
    def reason_text(self) -> str:
        """The reason as a sentence in the active language (billing.reasons)."""
        from billing.reasons import reason_text

        return reason_text(code=self.reason_code, params=self.reason_params, note=self.status_reason)


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("assignment", policy=True))
class Assignment(models.Model):
    """Part (or all) of a payment assigned to a policy: by a matching rule or by a person.
    What is assigned and not yet allocated to installments is the policy's credit."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")
        REVERSED = "reversed", _("Reversed")

    # the payment and the users are checked per statement (Meta.triggers, as Payment's)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="assignments", db_constraint=False)
    # indexed by assignment_policy_status (policy, status); checked per statement (Meta.triggers):
    # every writer locks the policy FOR UPDATE before it inserts an assignment (payment_assign, the
    # bulk matchers, the debit answers), so the check's FOR KEY SHARE finds its own stronger lock and
    # two matchers of one policy never hold a share each while waiting for the other's update lock.
    # A constraint checked at commit, it looked each policy up row by row: 0.7 s of a 100,000-line
    # statement (bench/RESULTS.md part 28).
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="assignments", db_index=False,
                               db_constraint=False)
    amount = models.DecimalField(_("Amount"), max_digits=14, decimal_places=2)
    status = models.CharField(_("Status"), max_length=16, choices=Status.choices)
    rule = models.CharField(_("Matched by"), max_length=64, blank=True)
    # set on manual matches only: partial indexes (Meta) hold just those rows
    matched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", db_index=False, db_constraint=False)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", db_index=False, db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Assignment")
        verbose_name_plural = _("Assignments")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="assignment_amount_positive")]
        indexes = [
            models.Index(fields=["policy", "status"], name="assignment_policy_status"),
            models.Index(fields=["matched_by"], name="assignment_matched_by", condition=Q(matched_by__isnull=False)),
            models.Index(fields=["approved_by"], name="assignment_approved_by", condition=Q(approved_by__isnull=False)),
        ]
        triggers = references_triggers({"payment_id": "billing_payment", "policy_id": "policies_policy",
                                        "matched_by_id": "accounts_user", "approved_by_id": "accounts_user"},
                                       vouchable=True)

    def __str__(self) -> str:
        return f"{self.payment_id} -> {self.policy_id}: {self.amount}"


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("money"),
                  meta=trail_meta("charge", policy=True))
class Charge(models.Model):
    """Money owed on a policy besides premiums: the interest of a reinstatement. Allocation pays
    it after the installments due on or before its date, before later ones."""

    class Kind(models.TextChoices):
        REINSTATEMENT_INTEREST = "reinstatement_interest", _("Reinstatement interest")

    policy = models.ForeignKey(Policy, verbose_name=_("Policy"), on_delete=models.PROTECT, related_name="charges")
    kind = models.CharField(_("Kind"), max_length=24, choices=Kind.choices)
    due_date = models.DateField(_("Due date"))
    amount = models.DecimalField(_("Amount"), max_digits=14, decimal_places=2)
    amount_paid = models.DecimalField(_("Amount paid"), max_digits=14, decimal_places=2, default=0)
    cancelled = models.BooleanField(_("Cancelled"), default=False)
    reference = models.CharField(_("Reference"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Charge")
        verbose_name_plural = _("Charges")
        constraints = [
            models.CheckConstraint(condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=F("amount")),
                                   name="charge_paid_within_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("reverse"),
                  meta=trail_meta("allocation"))
class Allocation(models.Model):
    """Money of an assignment applied to an installment (核销). Never deleted: a reversal sets
    reversed_at and reopens the installment."""

    # the assignment, the installment and the charge are checked per statement (Meta.triggers, as
    # Payment's). The services update the installment before they allocate to it, so the bulk paths
    # (a statement's booking, debit results: their transaction's top level) find a version their
    # transaction wrote and take no lock (core.references; the per-line matcher allocates in a
    # savepoint, whose versions are locked as before). As a deferred constraint it locked each
    # installment at commit (bench/RESULTS.md part 22). The assignment's policy stays a constraint.
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="allocations",
                                   db_constraint=False)
    installment = models.ForeignKey(Installment, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="allocations", db_constraint=False)
    # set on reinstatement interest only: a partial index (Meta) holds just those rows
    charge = models.ForeignKey(Charge, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations",
                               db_index=False, db_constraint=False)
    amount = models.DecimalField(_("Amount"), max_digits=14, decimal_places=2)
    value_date = models.DateField(_("Value date"))
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(_("Reversed at"), null=True, blank=True)
    reversal_reason = models.CharField(_("Reversal reason"), max_length=256, blank=True)

    class Meta:
        verbose_name = _("Allocation")
        verbose_name_plural = _("Allocations")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            # an allocation pays an installment or a charge, never both
            models.CheckConstraint(condition=Q(installment__isnull=True) ^ Q(charge__isnull=True),
                                   name="allocation_one_target"),
        ]
        indexes = [models.Index(fields=["charge"], name="allocation_charge", condition=Q(charge__isnull=False))]
        triggers = [pgtrigger.Protect(name="no_delete", operation=pgtrigger.Delete),
                    *references_triggers({"assignment_id": "billing_assignment", "installment_id": "billing_installment",
                                          "charge_id": "billing_charge"}, vouchable=True)]

    def __str__(self) -> str:
        return f"{self.installment_id}: {self.amount}"


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("matchingrule"))
class MatchingRule(models.Model):
    """One step of matching, as data (DESIGN.md section 3, Matching): applied in position order;
    the first rule that finds a policy and passes its amount check decides."""

    class Kind(models.TextChoices):
        REFERENCE = "reference", _("Policy number in the remittance text or reference")
        PAYER_ACCOUNT = "payer_account", _("Payer's account registered on a policy")
        PAYER_NAME = "payer_name", _("Payer's name is the policyholder's")

    class Action(models.TextChoices):
        AUTO = "auto", _("Book automatically")
        PROPOSE = "propose", _("Propose for a person to confirm")

    position = models.PositiveSmallIntegerField(_("Order"), default=10)
    name = models.CharField(_("Name"), max_length=64)
    active = models.BooleanField(_("Active"), default=True)
    kind = models.CharField(_("Condition"), max_length=16, choices=Kind.choices)
    pattern = models.CharField(
        _("Regular expression"), max_length=256, blank=True,
        help_text=_("For the policy-number condition: the first group is the policy number."),
    )
    amount_tolerance = models.DecimalField(
        _("Amount tolerance"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("Largest difference from what is due; empty: any amount."),
    )
    window_days = models.PositiveSmallIntegerField(
        _("Search window (days)"), default=90,
        help_text=_("Installments due up to this many days after the value date count as due."),
    )
    action = models.CharField(_("Action"), max_length=8, choices=Action.choices, default=Action.AUTO)
    # DESIGN.md section 3 and issue 9: money naming one policy is that policy's, whatever its amount
    accepts_partial = models.BooleanField(
        _("Accepts other amounts"), default=False,
        help_text=_("For the policy-number and payer-account conditions, when they find exactly one policy that "
                    "still pays premiums: an amount below what is due is booked as a partial payment of the "
                    "oldest open installment; an amount above it pays the next installments up to what falls "
                    "due in the 12 months from the value date, and the rest goes back to suspense for a "
                    "refund."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Matching rule")
        verbose_name_plural = _("Matching rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class DebitBatch(models.Model):
    """Auto-debit lines sent to the bank for one collection date (银行批扣)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Created")
        EXPORTED = "exported", _("Sent to the bank")
        CLOSED = "closed", _("Results imported")

    created_at = models.DateTimeField(auto_now_add=True)
    collection_date = models.DateField(_("Collection date"))
    reference = models.CharField(_("Batch reference"), max_length=35, unique=True)
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    line_count = models.PositiveIntegerField(_("Lines"), default=0)
    total = models.DecimalField(_("Total"), max_digits=16, decimal_places=2, default=0)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("Debit batch")
        verbose_name_plural = _("Debit batches")
        ordering = ["-collection_date", "-id"]

    def __str__(self) -> str:
        return self.reference


@pghistory.track(StatementUpdateEvent("result"), meta=trail_meta("debitline", policy=True))
class DebitLine(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting the bank")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    class Reason(models.TextChoices):
        INSUFFICIENT_FUNDS = "insufficient_funds", _("Insufficient funds")
        ACCOUNT_FROZEN = "account_frozen", _("Account frozen")
        ACCOUNT_CLOSED = "account_closed", _("Account closed")
        NAME_MISMATCH = "name_mismatch", _("Account name mismatch")
        INVALID_ACCOUNT = "invalid_account", _("Invalid account")
        OTHER = "other", _("Other")

    batch = models.ForeignKey(DebitBatch, on_delete=models.PROTECT, related_name="lines")
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="debit_lines")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="debit_lines")
    end_to_end_id = models.CharField(_("End-to-end id"), max_length=35, unique=True)
    amount = models.DecimalField(_("Amount"), max_digits=14, decimal_places=2)
    bank_name = models.CharField(_("Bank"), max_length=64)
    bank_account = models.CharField(_("Bank account"), max_length=34)
    bank_account_name = models.CharField(_("Account name"), max_length=64)
    attempt = models.PositiveSmallIntegerField(_("Attempt"), default=1)
    status = models.CharField(_("Status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("Failure reason"), max_length=20, choices=Reason.choices, blank=True)
    reason_code = models.CharField(_("Bank's code"), max_length=8, blank=True)
    reason_text = models.CharField(_("Bank's text"), max_length=256, blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="debit_lines")
    result_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Debit line")
        verbose_name_plural = _("Debit lines")
        constraints = [
            # an installment is never in two batches awaiting the bank at once
            models.UniqueConstraint(fields=["installment"], condition=Q(status="pending"),
                                    name="debit_line_one_pending_per_installment"),
        ]
        indexes = [models.Index(fields=["policy", "status"], name="debit_line_policy_status")]

    def __str__(self) -> str:
        return self.end_to_end_id


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                  meta=trail_meta("csvtemplate"))
class CsvTemplate(models.Model):
    """A bank's CSV column mapping, saved by finance: {our field: the bank's header}. The
    built-in templates `generic` and `cn-online-banking` are not rows (formats/bank-statement-csv.md)."""

    name = models.SlugField(_("Template name"), max_length=64, unique=True)
    bank_name = models.CharField(_("Bank"), max_length=64, blank=True)
    mapping = models.JSONField(_("Column mapping"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("CSV template")
        verbose_name_plural = _("CSV templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent("create"), meta=trail_meta("counterpayment"))
class CounterPayment(models.Model):
    """Money taken at a branch counter, entered by finance from the receipt: its payment line
    (source counter) says the amount; this says how it was paid, so cash is known."""

    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        CARD = "card", _("Bank card")

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="counter")
    method = models.CharField(_("Paid by"), max_length=4, choices=Method.choices)
    receipt_no = models.CharField(_("Receipt number"), max_length=32, unique=True)
    payer_id_no = models.CharField(_("Payer's ID number"), max_length=32, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Counter payment")
        verbose_name_plural = _("Counter payments")
        # the monthly large-cash list: WHERE method = cash, joined to the payment's value date
        indexes = [models.Index(fields=["method"], name="counter_payment_method")]

    def __str__(self) -> str:
        return self.receipt_no


class PlatformOrder(models.Model):
    """An order handed to Alipay or WeChat Pay for one policy (a payment link's hand-over). The
    platform's notification names it by out_trade_no; the money it reports becomes a Payment once
    (by the platform's trade number) assigned to this policy. `reference` is the caller's opaque
    key (outreach's payment link), so the caller can ask whether its order was paid."""

    class Platform(models.TextChoices):
        ALIPAY = "alipay", _("Alipay")
        WECHATPAY = "wechatpay", _("WeChat Pay")

    class Status(models.TextChoices):
        CREATED = "created", _("Awaiting payment")
        PAID = "paid", _("Paid")
        CLOSED = "closed", _("Closed")

    out_trade_no = models.CharField(_("Order number"), max_length=32, unique=True)
    platform = models.CharField(_("Platform"), max_length=12, choices=Platform.choices)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="platform_orders", db_index=False)
    amount = models.DecimalField(_("Amount"), max_digits=14, decimal_places=2)
    # the link's reference (paylink:<code>): the link page asks whether its order was paid
    reference = models.CharField(_("Reference"), max_length=64)
    status = models.CharField(_("Status"), max_length=8, choices=Status.choices, default=Status.CREATED)
    expires_at = models.DateTimeField(_("Expires at"))
    trade_no = models.CharField(_("Platform trade number"), max_length=64, blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    paid_at = models.DateTimeField(_("Paid at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Platform order")
        verbose_name_plural = _("Platform orders")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="platform_order_amount_positive")]
        indexes = [
            # the link page: WHERE reference = ... (paid? an open order to reuse?)
            models.Index(fields=["reference", "status"], name="platform_order_reference"),
            # the policy page's money panel and PROTECT checks on policy deletion
            models.Index(fields=["policy"], name="platform_order_policy"),
        ]

    def __str__(self) -> str:
        return self.out_trade_no
