from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from policies.models import Policy


class ModelVersion(models.Model):
    """One trained lapse-risk model: what it learnt, on which split, how well it did. A version
    scores the portfolio only once an administrator has approved it (the latest approved one)."""

    class Kind(models.TextChoices):
        LOGISTIC = "logistic", _("Logistic regression")
        GRADIENT_BOOSTING = "gradient_boosting", _("Gradient boosting")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        RETIRED = "retired", _("Retired")

    version = models.PositiveIntegerField(_("Version"), unique=True)
    kind = models.CharField(_("Model"), max_length=20, choices=Kind.choices, default=Kind.LOGISTIC)
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    source = models.CharField(_("Training data"), max_length=16, default="history")  # history | panel
    train_from = models.DateField(_("Training from"))
    train_until = models.DateField(_("Training until"))
    test_from = models.DateField(_("Test from"))
    test_until = models.DateField(_("Test until"))
    horizon_days = models.PositiveSmallIntegerField(_("Horizon (days)"), default=90)
    seed = models.IntegerField(_("Seed"), default=1)
    # the logistic regression in the standardised feature space: score = sigmoid(intercept +
    # sum(coef_j * (x_j - mean_j) / scale_j)); also kept beside a gradient-boosting model, whose
    # explanations it gives
    features = models.JSONField(_("Features"), default=list)
    means = models.JSONField(default=list)
    scales = models.JSONField(default=list)
    coefficients = models.JSONField(default=list)
    intercept = models.FloatField(default=0.0)
    model_blob = models.BinaryField(null=True, blank=True)  # a gradient-boosting model (joblib), else empty
    metrics = models.JSONField(_("Metrics"), default=dict)
    # a SHA-256 of the training rows: the same data and seed give the same version's numbers
    data_fingerprint = models.CharField(max_length=64, blank=True)
    trained_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Lapse-risk model version")
        verbose_name_plural = _("Lapse-risk model versions")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"


class PolicyScore(models.Model):
    """The latest score of each in-force policy (the nightly step's upsert): the table renewals'
    workbench and reporting join on policy_id."""

    policy = models.OneToOneField(Policy, primary_key=True, on_delete=models.CASCADE, related_name="+")
    score = models.DecimalField(_("Lapse risk"), max_digits=6, decimal_places=5)
    model_version = models.PositiveIntegerField(_("Model version"))
    # the three largest contributions: [{"feature": code, "value": raw value, "contribution": logit}]
    explanations = models.JSONField(_("Explanations"), default=list)
    scored_on = models.DateField(_("Scored on"))

    class Meta:
        verbose_name = _("Lapse-risk score")
        verbose_name_plural = _("Lapse-risk scores")
        # No index but the primary key: every row is rewritten each night, and with only the key
        # indexed (and room left on each page: fillfactor 50, migration 0002) the rewrite is a HOT
        # update that touches no index. Readers join on policy_id; the deciles come from the snapshot.


class FeatureSnapshot(models.Model):
    """The features of each scored policy as they were on the night (from the first night with an
    approved model on): what the next model trains on, and the drift page's feature means."""

    as_of = models.DateField()
    # no foreign-key constraint: checking a million new rows a night against policies_policy cost
    # a third of the step (policies are never deleted: their other references protect them)
    policy = models.ForeignKey(Policy, on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                               db_constraint=False)
    raw = ArrayField(models.FloatField())  # scoring.features.RAW_COLUMNS, in order
    score = models.FloatField()
    model_version = models.PositiveIntegerField()

    class Meta:
        # night first: a night's rows go to the right edge of the index, in id order (the policy
        # first scattered them over the whole index); it also serves WHERE as_of = night (the
        # drift page, the deciles) and the retention's as_of < cutoff
        constraints = [models.UniqueConstraint(fields=["as_of", "policy"], name="featuresnapshot_day_policy")]
