"""Model versions: the time split, stored metrics, versioning, reproducibility, the approval gate."""

import datetime as dt

import numpy as np
import pytest

from audit.models import Operation
from core.errors import ApplicationError
from scoring.features import FEATURES, HORIZON_DAYS
from scoring.models import ModelVersion
from scoring.services.models import model_version_approve, time_split
from scoring.tests.conftest import TEST_FROM, TRAIN_UNTIL, small_panel, train_version

pytestmark = pytest.mark.django_db


def test_the_panel_holds_thousands_of_labelled_rows_with_their_true_propensity():
    data = small_panel()
    assert 3000 <= len(data) <= 6000
    assert 0.01 < data.y.mean() < 0.3
    assert data.true_p.min() >= 0 and data.true_p.max() <= 1
    # the truth ranks the lapses well above chance
    lapsed, kept = data.true_p[data.y == 1].mean(), data.true_p[data.y == 0].mean()
    assert lapsed > 2 * kept


def test_time_split_has_no_leakage():
    train, test = time_split(small_panel(), train_until=TRAIN_UNTIL, test_from=TEST_FROM)
    # every training row's 90-day outcome is over before the first test date
    assert train.as_of.max() + np.timedelta64(HORIZON_DAYS, "D") <= np.datetime64(TEST_FROM)
    assert test.as_of.min() >= np.datetime64(TEST_FROM)
    with pytest.raises(ApplicationError):
        time_split(small_panel(), train_until=dt.date(2025, 8, 1), test_from=TEST_FROM)
    with pytest.raises(ApplicationError):
        time_split(small_panel(), train_until=TEST_FROM, test_from=TEST_FROM, allow_overlap=True)
    overlapping, _test = time_split(small_panel(), train_until=dt.date(2025, 8, 1), test_from=TEST_FROM,
                                    allow_overlap=True)
    assert overlapping.as_of.max() < np.datetime64(TEST_FROM)


def test_a_version_stores_its_metrics_and_numbers_follow_each_other():
    first = train_version()
    second = train_version(try_boosting=True)
    assert (first.version, second.version) == (1, 2)
    assert first.status == ModelVersion.Status.DRAFT
    chosen = first.metrics["chosen"]
    assert set(chosen) >= {"roc_auc", "pr_auc", "top_decile_capture", "brier", "calibration", "rows"}
    assert 0.7 < chosen["roc_auc"] <= 1.0
    assert len(chosen["calibration"]) == 10
    assert first.features == FEATURES and len(first.coefficients) == len(FEATURES)
    # boosting is kept only when it beats the regression by 0.02 AUC on the same split
    gb, lr = second.metrics["gradient_boosting"]["roc_auc"], second.metrics["logistic"]["roc_auc"]
    assert second.kind == (ModelVersion.Kind.GRADIENT_BOOSTING if gb >= lr + 0.02 else ModelVersion.Kind.LOGISTIC)
    assert Operation.objects.filter(action="lapse_model_train").count() == 2


def test_the_same_rows_and_seed_give_the_same_model():
    first, again = train_version(seed=5), train_version(seed=5)
    assert again.data_fingerprint == first.data_fingerprint
    assert again.coefficients == pytest.approx(first.coefficients, abs=1e-9)
    assert again.metrics["chosen"]["roc_auc"] == first.metrics["chosen"]["roc_auc"]


def test_only_an_administrator_who_did_not_train_it_approves_a_version(make_user, admin):
    clerk = make_user("clerk_scoring", ["clerk"])
    trainer = make_user("admin_trainer", ["admin"])
    mine = train_version(actor=trainer)
    with pytest.raises(ApplicationError):
        model_version_approve(version=mine, actor=clerk)
    with pytest.raises(ApplicationError):
        model_version_approve(version=mine, actor=trainer)
    model_version_approve(version=mine, actor=admin)
    later = train_version()
    model_version_approve(version=later, actor=admin)
    mine.refresh_from_db()
    assert mine.status == ModelVersion.Status.RETIRED
    assert ModelVersion.objects.get(status=ModelVersion.Status.APPROVED) == later
    with pytest.raises(ApplicationError):
        model_version_approve(version=later, actor=admin)
    assert Operation.objects.filter(action="lapse_model_approve").count() == 2


def test_the_true_propensity_is_calibrated_on_the_panel():
    data = small_panel()
    # the behaviour model's own probability, updated with what each date shows: its mean is the
    # observed lapse rate (within sampling noise)
    assert abs(data.true_p.mean() - data.y.mean()) < 0.015


def test_the_command_trains_a_version_and_refuses_a_leaking_split():
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = StringIO()
    call_command("lapse_model_train_panel", "--train-until", "2025-06-30", "--test-from", "2025-09-28",
                 "--customers", "300", "--start", "2025-01-01", "--months", "13", "--no-boosting", stdout=out)
    assert out.getvalue().startswith("version 1 (logistic, awaiting approval)")
    assert ModelVersion.objects.get().source == "panel"
    with pytest.raises(CommandError):
        call_command("lapse_model_train_panel", "--train-until", "2025-08-30", "--test-from", "2025-09-28",
                     "--customers", "300", "--start", "2025-01-01")
