"""The nightly step's set-based path (binary COPY out and in, one upsert per table) and the
snapshot's retention, against hand-computed scores and explanations."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.db import transaction
from django.test import override_settings

from policies.models import Policy
from scoring import features as F
from scoring.models import FeatureSnapshot, ModelVersion, PolicyScore
from scoring.services.retention import snapshot_window, snapshots_prune
from scoring.services.scores import lapse_risk_score, raw_facts_stream
from scoring.tests.test_nightly import NIGHT, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _hand_made_version() -> ModelVersion:
    """A regression written by hand: means 0 and scales 1, so a contribution is coefficient x value.
    logit = -3 + 2.0 overdue + 1.0 debit_failed_last + 0.4 days_overdue (in months of 30 days)
            - 0.1 tenure_years."""
    coefficients = [0.0] * len(F.FEATURES)
    for name, value in (("overdue", 2.0), ("debit_failed_last", 1.0), ("days_overdue", 0.4), ("tenure_years", -0.1)):
        coefficients[F.FEATURES.index(name)] = value
    day = dt.date(2026, 1, 1)
    return ModelVersion.objects.create(
        version=7, status=ModelVersion.Status.APPROVED, train_from=day, train_until=day, test_from=day, test_until=day,
        features=list(F.FEATURES), means=[0.0] * len(F.FEATURES), scales=[1.0] * len(F.FEATURES),
        coefficients=coefficients, intercept=-3.0, metrics={})


def test_the_copy_stream_reads_the_same_facts_as_the_query(world):  # noqa: F811
    ids, raw = F.raw_facts(as_of=NIGHT, id_from=0, id_to=2**62, current=True)
    streamed_ids, streamed = raw_facts_stream(as_of=NIGHT, id_from=0, id_to=2**62)
    assert streamed_ids.tolist() == ids.tolist() and len(ids) == 2
    assert np.array_equal(streamed, raw)


def test_scores_and_explanations_are_the_hand_computed_ones(world):  # noqa: F811
    _hand_made_version()
    with transaction.atomic():
        assert lapse_risk_score(NIGHT, 0, 2**62) == 2
    # GZ on 2026-12-10: 10 days overdue (1/3 month), last debit failed, held 2,505 days (6.863 years):
    # logit = -3 + 2 + 1 + 0.4 x 10/30 - 0.1 x 6.863014 = -0.552968; 1 / (1 + e^0.552968) = 0.365176
    gz = PolicyScore.objects.get(policy=world["gz"])
    assert gz.score == Decimal("0.36518") and gz.model_version == 7 and gz.scored_on == NIGHT
    assert gz.explanations == [{"feature": "overdue", "value": 1.0, "contribution": 2.0},
                               {"feature": "debit_failed_last", "value": 1.0, "contribution": 1.0},
                               {"feature": "days_overdue", "value": 10.0, "contribution": 0.1333}]
    # BJ: 285 days overdue (capped at 120: 4 months), pays by transfer, held 1,015 days (2.780822 years):
    # logit = -3 + 2 + 0.4 x 4 - 0.2780822 = 0.321918; 1 / (1 + e^-0.321918) = 0.579792
    bj = PolicyScore.objects.get(policy=world["bj"])
    assert bj.score == Decimal("0.57979")
    assert bj.explanations[:2] == [{"feature": "overdue", "value": 1.0, "contribution": 2.0},
                                   {"feature": "days_overdue", "value": 120.0, "contribution": 1.6}]
    snapshot = FeatureSnapshot.objects.get(policy=world["gz"], as_of=NIGHT)
    assert snapshot.model_version == 7 and round(snapshot.score, 6) == 0.365176
    assert dict(zip(F.RAW_COLUMNS, snapshot.raw, strict=True))["tenure_days"] == 2505.0
    # the next night, BJ has left in_force: its score goes, GZ's is rewritten (11 days overdue)
    Policy.objects.filter(pk=world["bj"].pk).update(status="lapsed", lapse_date=dt.date(2026, 3, 31))
    with transaction.atomic():
        assert lapse_risk_score(NIGHT + dt.timedelta(days=1), 0, 2**62) == 1
    assert list(PolicyScore.objects.values_list("policy_id", "scored_on")) == [
        (world["gz"].pk, dt.date(2026, 12, 11))]
    assert PolicyScore.objects.get().explanations[2] == {"feature": "days_overdue", "value": 11.0,
                                                         "contribution": 0.1467}


def test_a_chunk_without_in_force_policies_only_drops_stale_scores(world):  # noqa: F811
    _hand_made_version()
    with transaction.atomic():
        lapse_risk_score(NIGHT, 0, 2**62)
    Policy.objects.filter(pk=world["bj"].pk).update(status="lapsed", lapse_date=dt.date(2026, 3, 31))
    with transaction.atomic():
        assert lapse_risk_score(NIGHT, world["bj"].pk, world["bj"].pk) == 0
    assert list(PolicyScore.objects.values_list("policy_id", flat=True)) == [world["gz"].pk]


@override_settings(SCORING_SNAPSHOT_KEEP_DAYS=3, SCORING_SNAPSHOT_KEEP_MONTHS=2)
def test_snapshots_keep_the_last_days_and_each_months_first_night(world):  # noqa: F811
    # on 2026-12-10: nights from 2026-12-08 on, and the 1st of each month from 2026-10-01 on
    assert snapshot_window(NIGHT) == (dt.date(2026, 12, 8), dt.date(2026, 10, 1))
    nights = ["2026-09-01", "2026-10-01", "2026-10-02", "2026-11-01", "2026-11-15", "2026-12-01", "2026-12-07",
              "2026-12-08", "2026-12-10"]
    FeatureSnapshot.objects.bulk_create([
        FeatureSnapshot(as_of=dt.date.fromisoformat(day), policy=policy, raw=[0.0] * len(F.RAW_COLUMNS), score=0.1,
                        model_version=1) for day in nights for policy in (world["gz"], world["bj"])])
    assert snapshots_prune(NIGHT, 0, 2**62) == 2 * 4  # 09-01, 10-02, 11-15, 12-07 of both policies
    kept = sorted({d.isoformat() for d in FeatureSnapshot.objects.values_list("as_of", flat=True)})
    assert kept == ["2026-10-01", "2026-11-01", "2026-12-01", "2026-12-08", "2026-12-10"]
    assert snapshots_prune(NIGHT, 0, 2**62) == 0
