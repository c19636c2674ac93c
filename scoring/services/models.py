"""Model versions: trained on a time split, stored with their metrics, used once approved."""

import datetime as dt
import hashlib
import io
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import operation_record
from core.errors import ApplicationError
from scoring import features as F
from scoring.metrics import score_metrics
from scoring.models import ModelVersion

GB_MARGIN = 0.02  # gradient boosting replaces the regression only when it is this much better (AUC)


@dataclass
class Dataset:
    """Labelled rows: one per policy in force on a snapshot date."""

    as_of: np.ndarray  # datetime64[D]
    policy_ids: np.ndarray
    raw: np.ndarray  # RAW_COLUMNS
    y: np.ndarray
    true_p: np.ndarray | None = None  # the behaviour model's propensity (synthetic panels only)

    def where(self, mask: np.ndarray) -> "Dataset":
        return Dataset(self.as_of[mask], self.policy_ids[mask], self.raw[mask], self.y[mask],
                       None if self.true_p is None else self.true_p[mask])

    def __len__(self) -> int:
        return len(self.y)


def snapshot_dates(*, first: dt.date, last: dt.date, step_days: int) -> list[dt.date]:
    dates, day = [], first
    while day <= last:
        dates.append(day)
        day += dt.timedelta(days=step_days)
    return dates


def dataset_from_history(*, dates: list[dt.date], id_from: int = 0, id_to: int = 2**62,
                         known_until: dt.date | None = None) -> Dataset:
    """Rows from the product's own history: the features each policy had on each date (dated
    facts only) and whether it lapsed in the 90 days after it (or by known_until, if earlier)."""
    parts = []
    for day in dates:
        ids, raw = F.raw_facts(as_of=day, id_from=id_from, id_to=id_to)
        if len(ids):
            parts.append((np.full(len(ids), np.datetime64(day, "D")), ids, raw,
                          F.lapse_labels(as_of=day, policy_ids=ids, known_until=known_until)))
    if not parts:
        return Dataset(np.zeros(0, "datetime64[D]"), np.zeros(0, np.int64), np.zeros((0, len(F.RAW_COLUMNS))),
                       np.zeros(0, np.int8))
    return Dataset(*(np.concatenate([p[k] for p in parts]) for k in range(4)))


def time_split(data: Dataset, *, train_until: dt.date, test_from: dt.date, test_until: dt.date | None = None,
               allow_overlap: bool = False) -> tuple[Dataset, Dataset]:
    """Earlier dates train, later dates test. Without allow_overlap a training row's label window
    (its date + 90 days) ends on or before the first test date: nothing the test period reveals
    reaches the training labels."""
    if train_until >= test_from:
        raise ApplicationError(_("The training period must end before the test period starts."))
    if not allow_overlap and train_until + dt.timedelta(days=F.HORIZON_DAYS) > test_from:
        raise ApplicationError(_("A training row's 90-day outcome would reach into the test period: "
                                 "train until %(day)s at the latest, or allow the overlap.")
                               % {"day": (test_from - dt.timedelta(days=F.HORIZON_DAYS)).isoformat()})
    train = data.where(data.as_of <= np.datetime64(train_until, "D"))
    test_mask = data.as_of >= np.datetime64(test_from, "D")
    if test_until is not None:
        test_mask &= data.as_of <= np.datetime64(test_until, "D")
    return train, data.where(test_mask)


def _fit_logistic(x: np.ndarray, y: np.ndarray, seed: int):
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    # one thread: BLAS's and OpenMP's spinning threads on a busy machine cost several times the work
    with threadpool_limits(limits=1):
        model.fit((x - means) / scales, y)
    return means, scales, model.coef_[0], float(model.intercept_[0])


def logistic_scores(x: np.ndarray, means, scales, coefficients, intercept: float) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, contributions): contribution_j = coef_j x (x_j - mean_j) / scale_j."""
    contributions = (x - np.asarray(means)) / np.asarray(scales) * np.asarray(coefficients)
    logit = intercept + contributions.sum(axis=1)
    return 1.0 / (1.0 + np.exp(-logit)), contributions


def model_train(*, train: Dataset, test: Dataset, seed: int = 1, source: str = "history", actor=None,
                train_from: dt.date, train_until: dt.date, test_from: dt.date, test_until: dt.date,
                allow_overlap: bool = False, try_boosting: bool = True, notes: dict | None = None) -> ModelVersion:
    """Fit the logistic regression (and gradient boosting beside it), measure both on the test
    rows, keep the regression unless boosting beats it by GB_MARGIN AUC, store a new version
    (a draft until approved)."""
    if len(train) == 0 or len(test) == 0:
        raise ApplicationError(_("No rows to train or to test on: check the dates."))
    if train.y.sum() == 0 or train.y.sum() == len(train):
        raise ApplicationError(_("The training rows hold no lapse (or nothing else): nothing to learn."))
    x_train, x_test = F.feature_matrix(train.raw), F.feature_matrix(test.raw)
    means, scales, coefficients, intercept = _fit_logistic(x_train, train.y, seed)
    p_lr, _contributions = logistic_scores(x_test, means, scales, coefficients, intercept)
    metrics = {"logistic": score_metrics(test.y, p_lr), "train_rows": len(train), "train_lapses": int(train.y.sum()),
               "overlap_allowed": allow_overlap, **(notes or {})}
    kind, blob, p_best = ModelVersion.Kind.LOGISTIC, None, p_lr
    if try_boosting:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits

        booster = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, random_state=seed)
        with threadpool_limits(limits=1):
            booster.fit(x_train, train.y)
        p_gb = booster.predict_proba(x_test)[:, 1]
        metrics["gradient_boosting"] = score_metrics(test.y, p_gb)
        gb_auc, lr_auc = metrics["gradient_boosting"]["roc_auc"], metrics["logistic"]["roc_auc"]
        if gb_auc is not None and lr_auc is not None and gb_auc >= lr_auc + GB_MARGIN:
            import joblib

            buffer = io.BytesIO()
            joblib.dump(booster, buffer)
            kind, blob, p_best = ModelVersion.Kind.GRADIENT_BOOSTING, buffer.getvalue(), p_gb
    metrics["chosen"] = score_metrics(test.y, p_best)
    # the test scores' decile edges: the drift page compares tonight's scores with them
    metrics["score_edges"] = [round(float(q), 6) for q in np.quantile(p_best, np.linspace(0.1, 0.9, 9))]
    metrics["score_mean"] = round(float(p_best.mean()), 6)
    fingerprint = hashlib.sha256(np.ascontiguousarray(train.raw).tobytes() + train.y.tobytes()
                                 + str(seed).encode()).hexdigest()
    with transaction.atomic():
        number = (ModelVersion.objects.select_for_update().aggregate(m=Max("version"))["m"] or 0) + 1
        version = ModelVersion.objects.create(
            version=number, kind=kind, source=source, train_from=train_from, train_until=train_until,
            test_from=test_from, test_until=test_until, horizon_days=F.HORIZON_DAYS, seed=seed,
            features=list(F.FEATURES), means=[float(v) for v in means], scales=[float(v) for v in scales],
            coefficients=[float(v) for v in coefficients], intercept=intercept, model_blob=blob, metrics=metrics,
            data_fingerprint=fingerprint, trained_by=actor)
        operation_record(action="lapse_model_train", actor=actor, object_type="lapse_model",
                         object_ref=f"v{number}", details={"kind": kind, "roc_auc": metrics["chosen"]["roc_auc"],
                                                           "train_rows": len(train), "test_rows": len(test)})
    return version


def lapse_model_train(*, train_until: dt.date, test_from: dt.date, test_until: dt.date | None = None,
                      train_from: dt.date | None = None, step_days: int = 7, seed: int = 1,
                      allow_overlap: bool = False, actor=None, try_boosting: bool = True) -> ModelVersion:
    """A version trained on the product's own history: snapshot dates every step_days from
    train_from (default: a year before train_until) through test_until (default: the latest date
    whose 90 days have passed by the business date)."""
    from core.dates import business_today

    train_from = train_from or train_until - dt.timedelta(days=365)
    latest = business_today() - dt.timedelta(days=F.HORIZON_DAYS)
    test_until = min(test_until or latest, latest)
    if test_until < test_from:
        raise ApplicationError(_("The test period needs 90 days of outcome after it: it ends on %(day)s at the latest.")
                               % {"day": latest.isoformat()})
    dates = snapshot_dates(first=train_from, last=test_until, step_days=step_days)
    data = dataset_from_history(dates=dates)
    train, test = time_split(data, train_until=train_until, test_from=test_from, test_until=test_until,
                             allow_overlap=allow_overlap)
    return model_train(train=train, test=test, seed=seed, source="history", actor=actor, train_from=train_from,
                       train_until=train_until, test_from=test_from, test_until=test_until,
                       allow_overlap=allow_overlap, try_boosting=try_boosting)


def model_version_approve(*, version: ModelVersion, actor) -> ModelVersion:
    """An administrator approves a version: it scores from the next night on, the one approved
    before it is retired. Who trained a version does not approve it (maker-checker)."""
    if not actor.has_perm(perm("configure_system")):
        raise ApplicationError(_("Only an administrator approves a model version."), status=403)
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != ModelVersion.Status.DRAFT:
            raise ApplicationError(_("Only a version awaiting approval can be approved."))
        if version.trained_by_id is not None and version.trained_by_id == actor.pk:
            raise ApplicationError(_("The person who trained a version does not approve it."))
        ModelVersion.objects.filter(status=ModelVersion.Status.APPROVED).update(status=ModelVersion.Status.RETIRED)
        version.status, version.approved_by, version.approved_at = (ModelVersion.Status.APPROVED, actor,
                                                                   timezone.now())
        version.save(update_fields=["status", "approved_by", "approved_at"])
        operation_record(action="lapse_model_approve", actor=actor, object_type="lapse_model",
                         object_ref=f"v{version.version}", details={"roc_auc": version.metrics["chosen"]["roc_auc"]})
    return version
