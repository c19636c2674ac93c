from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from policies.models import Customer, Policy


class PlannedContact(models.Model):
    """The outbox: one reminder or robot call per installment, plan step and channel, for the
    policy's whole life (the uniqueness is the dedupe key: a step run twice adds nothing). A
    contact decided not to send stays as a suppressed row, so the timeline shows why.

    The step is kept as plain values (its id and code): outreach sits left of renewals and never
    points into it; plan steps are deactivated, not deleted, so the id keeps its meaning."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        WAITING_WINDOW = "waiting_window", _("Waiting for a window")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        BOUNCED = "bounced", _("Bounced")
        CANCELLED = "cancelled", _("Cancelled")
        SUPPRESSED = "suppressed", _("Suppressed")

    class Reason(models.TextChoices):
        NONE = "", _("None")
        OPTED_OUT = "opted_out", _("Opted out")
        CAPPED = "capped", _("Weekly cap reached")
        NO_CHANNEL = "no_channel", _("No working channel")
        PAID = "paid", _("Paid")
        DECEASED = "deceased", _("Deceased")
        INSTALLMENT_CANCELLED = "installment_cancelled", _("Installment cancelled")
        OVER_CAP_URGENT = "over_cap_urgent", _("Urgent: over the weekly cap by one")
        ON_HOLD = "on_hold", _("Collection on hold")
        DEFERRED = "deferred", _("Premiums deferred")
        LAPSED = "lapsed", _("Policy lapsed")
        ENDED = "ended", _("Policy no longer paying")
        INTERRUPTED = "interrupted", _("Interrupted during hand-over")
        PROMISED = "promised", _("Promise to pay: moved past the promised date")
        CLAIM = "claim", _("Death or claim reported: no more contact")
        CALL_WINDOW = "call_window", _("Robot calls only in overdue days 1-30")
        BUNDLED = "bundled", _("Sent in one message with another policy")

    # not yet handed to a gateway: these may still be cancelled or moved
    PENDING_STATUSES = (Status.PLANNED, Status.WAITING_WINDOW)
    # the same as SQL, in the form of the partial indexes' predicate (so the planner can use them)
    PENDING_SQL_IN = "IN ('planned', 'waiting_window')"
    # counted against the customer's weekly cap
    COUNTED_STATUSES = (Status.PLANNED, Status.WAITING_WINDOW, Status.SENDING, Status.SENT, Status.DELIVERED)

    # no single-column indexes: planned_contact_policy leads with the policy, planned_contact_once
    # with the installment (one index fewer to write for every contact planned)
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="planned_contacts", db_index=False)
    installment = models.ForeignKey("billing.Installment", on_delete=models.CASCADE, related_name="+",
                                    db_index=False)
    step_id = models.BigIntegerField(_("Plan step id"))
    stage_code = models.CharField(_("Step"), max_length=16, blank=True)  # T-7, G-5 ...
    channel = models.CharField(_("Channel"), max_length=8)
    kind = models.CharField(_("Kind"), max_length=12)  # reminder or robot_call
    urgent = models.BooleanField(default=False)
    planned_at = models.DateTimeField(_("Planned for"))
    # the date the plan's step fell on (planned_at moves with windows and retries)
    step_date = models.DateField(_("Step date"), null=True, blank=True)
    status = models.CharField(_("Status"), max_length=16, choices=Status.choices, default=Status.PLANNED)
    reason = models.CharField(_("Reason"), max_length=24, choices=Reason.choices, blank=True, default="")
    address = models.CharField(_("Address"), max_length=254, blank=True)  # as sent
    template_version = models.ForeignKey("outreach.MessageTemplate", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+", verbose_name=_("Template version"),
                                         db_index=False)  # versions are never deleted: no lookup by it
    provider_ref = models.CharField(_("Provider reference"), max_length=64, blank=True)
    # written (and committed) before the hand-over: the request's idempotency key with the provider
    # (SMS: the batch's OutId, kept until sent; e-mail: the contact's own key). A contact left in
    # `sending` by a crashed dispatcher is resolved with it, never sent twice.
    idempotency_key = models.CharField(_("Idempotency key"), max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(_("Attempts"), default=0)
    error = models.CharField(_("Error"), max_length=256, blank=True)
    sent_at = models.DateTimeField(_("Sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("Delivered"), null=True, blank=True)
    # grouped at dispatch: this contact went in the message of that one (a customer's several
    # policies due in the same week, one message per channel); null for the message's own contact
    bundle_lead = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    db_index=False, verbose_name=_("Sent in the message of"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Planned contact")
        verbose_name_plural = _("Planned contacts")
        constraints = [models.UniqueConstraint(fields=["installment", "step_id", "channel"],
                                               name="planned_contact_once")]
        indexes = [
            # the dispatcher's claim: pending contacts due now, oldest first (partial: a cancelled,
            # suppressed or sent row leaves it, and is not written into it)
            models.Index(fields=["planned_at"], name="planned_contact_pending_due",
                         condition=models.Q(status__in=["planned", "waiting_window"])),
            # delivery receipts find their contacts by the provider's BizId
            models.Index(fields=["provider_ref"], name="planned_contact_provider_ref",
                         condition=~models.Q(provider_ref="")),
            # the timeline of a policy and the cancellation by policy on a money event
            models.Index(fields=["policy", "planned_at"], name="planned_contact_policy"),
            # cancelling by policy (hold, moratorium, lapse, money): only the few pending rows
            models.Index(fields=["policy"], name="planned_contact_pending",
                         condition=models.Q(status__in=["planned", "waiting_window"])),
            # the sweep of contacts left in `sending`
            models.Index(fields=["updated_at"], name="planned_contact_sending",
                         condition=models.Q(status="sending")),
            # the month's messages per channel (the budgets): handed-over contacts only
            models.Index(fields=["sent_at"], name="planned_contact_sent_at", condition=models.Q(sent_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} {self.stage_code} {self.channel} {self.status}"


class ContactWindow(models.Model):
    """The customer's time zone and preferred hours; without a row: Asia/Shanghai, 08:00-21:00."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="contact_window")
    time_zone = models.CharField(_("Time zone"), max_length=40, default="Asia/Shanghai")
    start = models.TimeField(_("Not before"), null=True, blank=True)
    end = models.TimeField(_("Not after"), null=True, blank=True)

    class Meta:
        verbose_name = _("Contact window")
        verbose_name_plural = _("Contact windows")


class MessageTemplate(models.Model):
    """One version of a message text per channel, kind and language; a new text is a new version
    (rows are never edited once used), so every send can name the version it used."""

    class Approval(models.TextChoices):
        NOT_NEEDED = "not_needed", _("Not needed")
        PENDING = "pending", _("Waiting for the provider")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    class Purpose(models.TextChoices):
        SERVICE = "service", _("Service notice")
        MARKETING = "marketing", _("Marketing")

    channel = models.CharField(_("Channel"), max_length=8)
    kind = models.CharField(_("Kind"), max_length=12, default="reminder")
    language = models.CharField(_("Language"), max_length=8, default="zh-hans")
    version = models.PositiveIntegerField(_("Version"))
    subject = models.CharField(_("Subject"), max_length=200, blank=True)
    body = models.TextField(_("Body"))
    # SMS: the provider's approved template code and sign name
    provider_template_code = models.CharField(_("Provider template code"), max_length=32, blank=True)
    sign_name = models.CharField(_("Sign name"), max_length=32, blank=True)
    # an SMS text is used only once the provider has approved its template code
    approval = models.CharField(_("Approval"), max_length=12, choices=Approval.choices, default=Approval.NOT_NEEDED)
    approval_note = models.CharField(_("Provider's answer"), max_length=256, blank=True)
    purpose = models.CharField(_("Purpose"), max_length=12, choices=Purpose.choices, default=Purpose.SERVICE)
    active = models.BooleanField(_("Active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Message template")
        verbose_name_plural = _("Message templates")
        constraints = [models.UniqueConstraint(fields=["channel", "kind", "language", "version"],
                                               name="message_template_version")]

    def __str__(self) -> str:
        return f"{self.channel}/{self.kind}/{self.language} v{self.version}"


class ContactLog(models.Model):
    """A contact made by a person (a clerk's call, a visit, a counter talk): counted in the
    customer's weekly cap with the outbox. The workbench's call form writes it through
    outreach.services.contact_log.contact_log_record."""

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        PROMISED = "promised", _("Promised to pay")
        REFUSED = "refused", _("Refused")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_logs")
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.CASCADE, related_name="contact_logs")
    channel = models.CharField(_("Channel"), max_length=8)
    address = models.CharField(_("Address"), max_length=254, blank=True)  # masked
    outcome = models.CharField(_("Outcome"), max_length=16, choices=Outcome.choices)
    note = models.CharField(_("Note"), max_length=512, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("By"))
    occurred_at = models.DateTimeField(_("When"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Contact log entry")
        verbose_name_plural = _("Contact log")
        # the weekly cap counts a customer's entries of a week
        indexes = [models.Index(fields=["customer", "occurred_at"], name="contact_log_customer")]


class ConsentChange(models.Model):
    """The trail of consent written by outreach's services (the customer record holds the current
    state): an opt-out by SMS reply or unsubscribe link, an opt-in or a change by a clerk. Shown on
    the policy's contact timeline."""

    class Source(models.TextChoices):
        SMS_REPLY = "sms_reply", _("SMS reply")
        EMAIL_LINK = "email_link", _("Unsubscribe link")
        CLERK = "clerk", _("Clerk")
        FEED = "feed", _("Core system")

    class Action(models.TextChoices):
        OPT_OUT = "opt_out", _("Opted out")
        OPT_IN = "opt_in", _("Opted in")
        PREFERENCE = "preference", _("Preference changed")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_changes")
    channel = models.CharField(_("Channel"), max_length=8)
    action = models.CharField(_("Action"), max_length=12, choices=Action.choices)
    source = models.CharField(_("Source"), max_length=12, choices=Source.choices)
    detail = models.CharField(_("Detail"), max_length=256, blank=True)  # the reply's text, masked address
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("By"))
    occurred_at = models.DateTimeField(_("When"))

    class Meta:
        verbose_name = _("Consent change")
        verbose_name_plural = _("Consent changes")
        indexes = [models.Index(fields=["customer", "occurred_at"], name="consent_change_customer")]


class PaymentLink(models.Model):
    """A link to pay one policy's premium on a phone (issue 16): /p/<code>/, no login. The code
    is the bearer secret (about 60 random bits, short enough to read out on a call); it expires,
    and once money came through it the page says so instead of asking again. The money side (the
    platform order and its notification) is billing's: the link's reference is paylink:<code>."""

    class Source(models.TextChoices):
        REMINDER = "reminder", _("Reminder")
        CLERK = "clerk", _("Clerk")

    code = models.CharField(_("Code"), max_length=16, unique=True)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="payment_links", db_index=False)
    source = models.CharField(_("Sent by"), max_length=8, choices=Source.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("Expires at"))

    class Meta:
        verbose_name = _("Payment link")
        verbose_name_plural = _("Payment links")
        # the live link of a policy (reused by reminders, shown on the policy page)
        indexes = [models.Index(fields=["policy", "expires_at"], name="payment_link_policy")]

    def __str__(self) -> str:
        return self.code


class CallResult(models.Model):
    """What a robot call gave, in our own schema (each voice adapter maps its provider's report
    onto it). One per provider call id: a report pushed twice is kept once."""

    class Outcome(models.TextChoices):
        NOT_REACHED = "not_reached", _("Not reached")
        REACHED = "reached", _("Reached")
        PROMISE = "promise", _("Promise to pay on a date")
        HARDSHIP = "hardship", _("Hardship")
        DISSATISFIED = "dissatisfied", _("Dissatisfied")
        WRONG_NUMBER = "wrong_number", _("Wrong number")

    contact = models.ForeignKey(PlannedContact, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="call_results", db_index=False)
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="call_results", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    outcome = models.CharField(_("Outcome"), max_length=16, choices=Outcome.choices)
    promised_on = models.DateField(_("Promised to pay on"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("Duration (seconds)"), default=0)
    provider_id = models.CharField(_("Provider's call id"), max_length=64, unique=True)
    provider_status = models.CharField(_("Provider's status"), max_length=16, blank=True)
    keys = models.CharField(_("Keys pressed"), max_length=16, blank=True)
    occurred_at = models.DateTimeField(_("When"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Call result")
        verbose_name_plural = _("Call results")
        indexes = [
            # the timeline of a policy; the planner's look-up of a policy's latest promise
            models.Index(fields=["policy", "occurred_at"], name="call_result_policy"),
        ]


class ChannelIdentity(models.Model):
    """A customer's address on a channel that is not on the customer record: the WeChat
    official account's openid, the app's push client id."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="channel_identities",
                                 db_index=False)
    channel = models.CharField(_("Channel"), max_length=8)
    value = models.CharField(_("Address"), max_length=128)

    class Meta:
        verbose_name = _("Channel identity")
        verbose_name_plural = _("Channel identities")
        constraints = [models.UniqueConstraint(fields=["customer", "channel"], name="channel_identity_once")]


class ChannelBudget(models.Model):
    """What a message costs on a channel and what a month may spend on it; a warning shows once
    the month's spending reaches warn_percent of the budget."""

    channel = models.CharField(_("Channel"), max_length=8, unique=True)
    cost_per_message = models.DecimalField(_("Cost per message (CNY)"), max_digits=10, decimal_places=4, default=0)
    monthly_budget = models.DecimalField(_("Monthly budget (CNY)"), max_digits=14, decimal_places=2, default=0)
    warn_percent = models.PositiveSmallIntegerField(_("Warn at (percent of the budget)"), default=80)

    class Meta:
        verbose_name = _("Channel budget")
        verbose_name_plural = _("Channel budgets")

    def __str__(self) -> str:
        return self.channel


class DeliveryProof(models.Model):
    """The evidence that a lapse notice or a reinstatement invitation reached the customer: what
    was sent, to which (masked) address, when, and the provider's receipt and id. Kept for
    OUTREACH_PROOF_RETENTION_DAYS, then purged."""

    contact = models.OneToOneField(PlannedContact, on_delete=models.CASCADE, related_name="proof")
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="delivery_proofs", db_index=False)
    notice = models.CharField(_("Notice"), max_length=32)
    channel = models.CharField(_("Channel"), max_length=8)
    address = models.CharField(_("Address"), max_length=254)  # masked
    content = models.TextField(_("What was sent"))
    sent_at = models.DateTimeField(_("Sent"))
    delivered_at = models.DateTimeField(_("Delivered"), null=True, blank=True)
    provider_id = models.CharField(_("Provider's id"), max_length=64, blank=True)
    receipt = models.JSONField(_("Provider's receipt"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Delivery proof")
        verbose_name_plural = _("Delivery proofs")
        indexes = [
            # the policy page's panel and its export
            models.Index(fields=["policy", "sent_at"], name="delivery_proof_policy"),
            # the retention purge
            models.Index(fields=["sent_at"], name="delivery_proof_sent"),
        ]
