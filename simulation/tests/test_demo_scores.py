"""The demo department (simulation's 400-policy build) carries scores: day_90_scoring trained a
version on the demo's own history, the administrator approved it, every in-force policy is scored."""

import pytest

from policies.models import Policy
from scoring.models import ModelVersion, PolicyScore

# the built demo is a session fixture (simulation/tests/conftest.py, built once per worker: a test
# elsewhere importing it would build it again); its tests share one xdist worker (--dist loadgroup)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("demo")]


def test_the_demos_policies_carry_scores_and_explanations(demo_db):
    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.APPROVED and version.approved_by.username == "admin"
    assert version.metrics["overlap_allowed"] and version.metrics["labels_known_until"]
    assert version.metrics["chosen"]["roc_auc"] > 0.6
    in_force = Policy.objects.filter(status="in_force").count()
    assert PolicyScore.objects.count() == in_force > 0
    assert all(len(s.explanations) == 3 for s in PolicyScore.objects.all()[:50])
