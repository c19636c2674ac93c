"""KPI facts (DESIGN.md section 3, KPIs; issue 15). Written only by the nightly kpi_snapshot step
(reporting.services.snapshot), set-based per chunk of policy ids; read by reporting.selectors.

Every fact row carries `id_lo`, the first policy id of the chunk that wrote it: a chunk's rows are
its own partial sums, replaced as a whole when the chunk recomputes a day, so the step is
idempotent and restartable chunk by chunk. Readers sum over id_lo.
"""

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.events import StatementUpdateEvent, trail_meta
from core.references import references_triggers

SLICE_FIELDS = ("branch", "product", "payment_method", "sales_channel", "agent")

# The facts' references to the policies' dimensions, checked once per statement (core.references)
# instead of by foreign-key constraints row by row: a first night's snapshot chunk 9.3 s -> 8.1 s
# (bench/RESULTS.md part 19).
DIMENSIONS = {"branch_id": "policies_branch", "product_id": "policies_product"}
DIMENSIONS_AGENT = {**DIMENSIONS, "agent_id": "policies_agent"}


class PolicySlice(models.Model):
    """A policy's slice values (branch, product, payment method, sales channel, agent) over a span
    of days: facts of day D use the row valid on D, so a policy that moved branch in March still
    counts in its old branch for February. The first row of a policy is valid from the beginning
    (0001-01-01): history before the first snapshot takes the values first seen."""

    policy = models.ForeignKey("policies.Policy", on_delete=models.CASCADE,
                               related_name="+", db_index=False, db_constraint=False)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)  # exclusive; NULL: still valid
    branch = models.ForeignKey("policies.Branch", on_delete=models.PROTECT,
                               related_name="+", db_index=False, db_constraint=False)
    product = models.ForeignKey("policies.Product", on_delete=models.PROTECT,
                               related_name="+", db_index=False, db_constraint=False)
    payment_method = models.CharField(max_length=16)
    sales_channel = models.CharField(max_length=16)
    agent = models.ForeignKey("policies.Agent", null=True, on_delete=models.PROTECT,
                               related_name="+", db_index=False, db_constraint=False)

    class Meta:
        # the slice valid on a day: WHERE policy_id = ? AND valid_from <= day (the latest such row)
        constraints = [models.UniqueConstraint(fields=["policy", "valid_from"], name="policy_slice_unique_from")]
        triggers = references_triggers({"policy_id": "policies_policy", **DIMENSIONS_AGENT})


class PersistencyTerms(models.Model):
    """The terms a policy's persistency facts were last computed with (what PERSISTENCY_SQL reads of
    the policy). The next night recomputes a policy's (cohort, policy month) pairs only when these
    moved, not on every write of the policy: a lapse, a new agent or a payment leaves them as they
    were (bench/RESULTS.md part 17). Kept by the snapshot step in the chunk's transaction."""

    policy = models.OneToOneField("policies.Policy", primary_key=True, on_delete=models.CASCADE, related_name="+",
                                  db_constraint=False)
    issue_date = models.DateField()
    frequency = models.CharField(max_length=12)
    premium_term_years = models.PositiveSmallIntegerField()
    modal_premium = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        triggers = references_triggers({"policy_id": "policies_policy"})


class _Slice(models.Model):
    id_lo = models.BigIntegerField()
    branch = models.ForeignKey("policies.Branch", on_delete=models.PROTECT,
                               related_name="+", db_index=False, db_constraint=False)
    product = models.ForeignKey("policies.Product", on_delete=models.PROTECT,
                               related_name="+", db_index=False, db_constraint=False)
    payment_method = models.CharField(max_length=16)
    sales_channel = models.CharField(max_length=16)
    agent = models.ForeignKey("policies.Agent", null=True, on_delete=models.PROTECT,
                               related_name="+", db_index=False, db_constraint=False)
    computed_at = models.DateTimeField()

    class Meta:
        abstract = True


class _Figures(models.Model):
    premium_due = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # money allocated to those installments valued on or before each one's grace end, as known
    # on the night that computed the row
    premium_received = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    installments_due = models.IntegerField(default=0)
    installments_paid = models.IntegerField(default=0)  # fully paid in time
    policies_due = models.IntegerField(default=0)  # policies with an installment due that day
    policies_lapsed = models.IntegerField(default=0)
    policies_reinstated = models.IntegerField(default=0)
    # provisional (outreach contacts and renewals cases are being reworked): policies whose
    # customer needed contact that day (a planned contact or a case opened) and policies reached
    contacts_needed = models.IntegerField(default=0)
    contacts_reached = models.IntegerField(default=0)

    class Meta:
        abstract = True


class _DebitFigures(models.Model):
    """Auto-debit lines of a collection day, by bank and failure reason (blank when paid or pending)."""

    bank_name = models.CharField(max_length=64)
    reason = models.CharField(max_length=20)
    lines_sent = models.IntegerField(default=0)
    lines_paid = models.IntegerField(default=0)
    lines_failed = models.IntegerField(default=0)
    amount_sent = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    amount_paid = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        abstract = True


class _PersistencyFigures(models.Model):
    cohort = models.DateField()  # first day of the issue month
    month_n = models.PositiveSmallIntegerField()
    derived = models.BooleanField(default=False)
    policies_due = models.IntegerField(default=0)
    policies_persisting = models.IntegerField(default=0)
    premium_due = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    premium_received = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        abstract = True


class DailyFact(_Slice, _Figures):
    """Keyed by the day the money is due (the lapse's, the reinstatement's effective day)."""

    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["day", "id_lo", "branch", "product", "payment_method", "sales_channel", "agent"],
            name="daily_fact_unique_grain", nulls_distinct=False)]
        triggers = references_triggers(DIMENSIONS_AGENT)
        # the chunk's rows of a set of days (the step), and the period's rows (the selectors)
        indexes = [models.Index(fields=["id_lo", "day"], name="daily_fact_chunk_day")]


class MonthlyFact(_Slice, _Figures):
    """The daily facts summed by month of the day (the first of the month)."""

    month = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["month", "id_lo", "branch", "product", "payment_method", "sales_channel", "agent"],
            name="monthly_fact_unique_grain", nulls_distinct=False)]
        triggers = references_triggers(DIMENSIONS_AGENT)
        indexes = [models.Index(fields=["id_lo", "month"], name="monthly_fact_chunk_month")]


class DebitFact(_Slice, _DebitFigures):
    """Auto-debit lines by collection date, bank and failure reason (blank when paid or pending)."""

    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["day", "id_lo", "branch", "product", "payment_method", "sales_channel", "agent", "bank_name",
                    "reason"], name="debit_fact_unique_grain", nulls_distinct=False)]
        triggers = references_triggers(DIMENSIONS_AGENT)
        indexes = [models.Index(fields=["id_lo", "day"], name="debit_fact_chunk_day")]


class PersistencyFact(_Slice, _PersistencyFigures):
    """Policy month N (13, 25, 37, 49, 61) of the policies issued in a month (the cohort): the one
    installment due at issue + (N - 1) months, due and received in time, by count and premium.
    `derived`: the installment predates the policy's first import, so it is taken as paid from
    the feed's paid-to date (earlier history lives in the core system)."""


    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["cohort", "month_n", "derived", "id_lo", "branch", "product", "payment_method", "sales_channel",
                    "agent"], name="persistency_fact_unique_grain", nulls_distinct=False)]
        triggers = references_triggers(DIMENSIONS_AGENT)
        # a chunk's rows of some (cohort, policy month) pairs: the nightly step recomputes those only
        indexes = [models.Index(fields=["id_lo", "month_n", "cohort"], name="persistency_fact_chunk_pair")]


class _Slice4(models.Model):
    """The dashboard's grain: no agent and no chunk. The compact tables below hold the sums of the
    chunks' fact rows over id_lo and agent, kept by the snapshot step itself (each chunk adds the
    difference it made, services.snapshot.COMPACTS), so a month's dashboard reads a few thousand
    rows instead of every agent's in every chunk (bench/RESULTS.md part 12)."""

    branch = models.ForeignKey("policies.Branch", on_delete=models.PROTECT,
                               related_name="+", db_index=False, db_constraint=False)
    product = models.ForeignKey("policies.Product", on_delete=models.PROTECT,
                               related_name="+", db_index=False, db_constraint=False)
    payment_method = models.CharField(max_length=16)
    sales_channel = models.CharField(max_length=16)

    class Meta:
        abstract = True


class SliceDayFact(_Slice4, _Figures):
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "branch", "product", "payment_method", "sales_channel"],
                                               name="slice_day_fact_unique")]
        triggers = references_triggers(DIMENSIONS)


class SliceMonthFact(_Slice4, _Figures):
    month = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["month", "branch", "product", "payment_method", "sales_channel"], name="slice_month_fact_unique")]
        triggers = references_triggers(DIMENSIONS)


class SliceDebitFact(_Slice4, _DebitFigures):
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["day", "branch", "product", "payment_method", "sales_channel", "bank_name", "reason"],
            name="slice_debit_fact_unique")]
        triggers = references_triggers(DIMENSIONS)


class SlicePersistencyFact(_Slice4, _PersistencyFigures):

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["cohort", "month_n", "derived", "branch", "product", "payment_method", "sales_channel"],
            name="slice_persistency_fact_unique")]
        triggers = references_triggers(DIMENSIONS)


class SnapshotRun(models.Model):
    """One chunk's snapshot of one night: the data-as-of date of every figure, and the mark from
    which the next night looks for changes to past days (restatements)."""

    as_of = models.DateField()
    id_lo = models.BigIntegerField()
    id_hi = models.BigIntegerField()
    computed_at = models.DateTimeField()
    # where the next night looks for changes from (services.snapshot.HORIZON_SQL); NULL on runs
    # recorded before it was kept (computed_at less an hour then)
    horizon = models.DateTimeField(null=True)
    # the oldest transaction id the chunk may not have seen (a 64-bit xid8: services.snapshot.HORIZON_SQL):
    # rows the next night finds stamped inside the clock margin before the horizon by an older
    # transaction were seen (services.snapshot.written_since); NULL on runs recorded before it was kept
    seen_xid = models.BigIntegerField(null=True)
    days = models.IntegerField(default=0)  # days recomputed, the night's own included
    day_list = ArrayField(models.DateField(), default=list)  # those days: the night's rollup reads them
    # the chunk's floor (services.snapshot.CHUNK_FLOOR_SQL) as this run used it: the next night takes it
    # with the new policies' instead of reading every policy of the chunk; NULL on runs before it was kept
    floor = models.DateField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["as_of", "id_lo"], name="snapshot_run_unique")]


class Restatement(models.Model):
    """A past day whose figures changed after they were first reported: what changed and why."""

    as_of = models.DateField(_("Restated on"))
    day = models.DateField(_("Day restated"))
    id_lo = models.BigIntegerField()
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    # counts by cause: money_imported (allocations booked since the last snapshot), reversals,
    # lapses_voided, status_changes, debit_results
    causes = models.JSONField(default=dict)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["as_of", "day", "id_lo"], name="restatement_unique")]
        indexes = [models.Index(fields=["-as_of", "day"], name="restatement_recent")]


class ReportSubscription(models.Model):
    """A user's e-mailed report: the dashboard (with the filters of the view they saved) for the
    month just ended, on the 1st, or the week just ended, on Mondays; within their branches."""

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", _("Monthly, on the 1st")
        WEEKLY = "weekly", _("Weekly, on Mondays")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscriptions")
    frequency = models.CharField(_("Frequency"), max_length=8, choices=Frequency.choices)
    filters = models.JSONField(_("Filters"), default=dict, blank=True)
    active = models.BooleanField(default=True)
    last_sent_on = models.DateField(null=True, blank=True)  # the business date of the last sending
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Report subscription")
        verbose_name_plural = _("Report subscriptions")


class MonthClose(models.Model):
    """A closed month: its figures as reported on closing (the kpi JSON, the whole portfolio and
    by branch). Later changes to its days still restate the facts; the dashboard shows the figures
    as reported beside the current ones."""

    month = models.DateField(_("Month"), unique=True)  # its first day
    as_of = models.DateField(_("Data as of"))
    closed_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    figures = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("Closed month")
        verbose_name_plural = _("Closed months")


@pghistory.track(pghistory.InsertEvent("create", level=pgtrigger.Statement), StatementUpdateEvent("update"),
                 meta=trail_meta("kpi_target"))
class KpiTarget(models.Model):
    """A manager's target for one KPI of one branch (and the branches under it) over a month, a
    quarter or a year; the dashboard sets the actual against the narrowest target whose period
    holds the period shown. Every change is in the trail (who, when, before, after)."""

    class Period(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")
        YEAR = "year", _("Year")

    metric = models.CharField(_("KPI"), max_length=32)  # a reporting.metrics code
    branch = models.ForeignKey("policies.Branch", verbose_name=_("Branch"), on_delete=models.PROTECT,
                               related_name="+")
    period = models.CharField(_("Period"), max_length=8, choices=Period.choices)
    period_start = models.DateField(_("Period from"))
    period_end = models.DateField(_("Period to"))
    target = models.DecimalField(_("Target"), max_digits=5, decimal_places=4)  # a rate, 0.9500 = 95%
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("Set by"), on_delete=models.PROTECT,
                               related_name="+")
    set_at = models.DateTimeField(_("Set at"))

    class Meta:
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        constraints = [models.UniqueConstraint(fields=["metric", "branch", "period_start", "period_end"],
                                               name="kpi_target_unique")]
        # the targets whose period holds the period shown: period_start <= from AND period_end >= to
        indexes = [models.Index(fields=["period_start", "period_end"], name="kpi_target_period")]
