"""The nightly step: every in-force policy of a chunk scored with the approved version.

Set-based: the chunk's features in one SQL statement (scoring.features), the scores and their
three largest contributions in numpy, then one upsert of the scores, one of the night's feature
snapshot and one delete of the scores of policies no longer in force. Idempotent for its date: a
rerun writes the same rows again.
"""

import datetime as dt

import numpy as np
from django.db import connection

from scoring import features as F
from scoring.explain import display_values, top_contributions
from scoring.models import ModelVersion
from scoring.services.models import logistic_scores

UPSERT_SCORES_SQL = """
INSERT INTO scoring_policyscore (policy_id, score, model_version, explanations, scored_on)
SELECT r.policy_id, round(r.score::numeric, 5), %(version)s,
       jsonb_build_array(
           jsonb_build_object('feature', r.f1, 'value', r.v1, 'contribution', round(r.c1::numeric, 4)),
           jsonb_build_object('feature', r.f2, 'value', r.v2, 'contribution', round(r.c2::numeric, 4)),
           jsonb_build_object('feature', r.f3, 'value', r.v3, 'contribution', round(r.c3::numeric, 4))),
       %(as_of)s
FROM unnest(%(ids)s::bigint[], %(scores)s::float8[], %(f1)s::text[], %(v1)s::float8[], %(c1)s::float8[],
            %(f2)s::text[], %(v2)s::float8[], %(c2)s::float8[], %(f3)s::text[], %(v3)s::float8[], %(c3)s::float8[])
     AS r(policy_id, score, f1, v1, c1, f2, v2, c2, f3, v3, c3)
ON CONFLICT (policy_id) DO UPDATE
SET score = EXCLUDED.score, model_version = EXCLUDED.model_version, explanations = EXCLUDED.explanations,
    scored_on = EXCLUDED.scored_on
"""
UPSERT_SNAPSHOT_SQL = """
INSERT INTO scoring_featuresnapshot (as_of, policy_id, raw, score, model_version)
SELECT %(as_of)s, r.policy_id, r.raw::float8[], r.score, %(version)s
FROM unnest(%(ids)s::bigint[], %(raw)s::text[], %(scores)s::float8[]) AS r(policy_id, raw, score)
ON CONFLICT (policy_id, as_of) DO UPDATE
SET raw = EXCLUDED.raw, score = EXCLUDED.score, model_version = EXCLUDED.model_version
"""
# a policy that has left in_force keeps no score (the workbench and the reports join in-force ones):
# every in-force policy of the chunk was just written with tonight's date, so any other date is stale
# (not "NOT (policy_id = ANY(ids))": that compares every row with every id, 2.5e9 comparisons a chunk)
DELETE_STALE_SQL = """
DELETE FROM scoring_policyscore s
WHERE s.policy_id BETWEEN %(lo)s AND %(hi)s AND s.scored_on <> %(as_of)s
"""


def approved_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.APPROVED).order_by("-version").first()


def version_scores(version: ModelVersion, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, contributions) of the version; a gradient-boosting version's probabilities
    with the regression's contributions as its explanation."""
    p, contributions = logistic_scores(x, version.means, version.scales, version.coefficients, version.intercept)
    if version.kind == ModelVersion.Kind.GRADIENT_BOOSTING and version.model_blob:
        import io

        import joblib

        p = joblib.load(io.BytesIO(bytes(version.model_blob))).predict_proba(x)[:, 1]
    return p, contributions


def scores_write(*, as_of: dt.date, version: ModelVersion, ids: np.ndarray, raw: np.ndarray,
                 id_from: int, id_to: int) -> int:
    x = F.feature_matrix(raw)
    params: dict = {"as_of": as_of, "version": version.version, "ids": [int(i) for i in ids], "lo": id_from,
                    "hi": id_to}
    with connection.cursor() as cursor:
        if len(ids):
            p, contributions = version_scores(version, x)
            top = top_contributions(contributions)
            shown = display_values(x)
            names = np.array(F.FEATURES, dtype=object)
            rows = np.arange(len(ids))
            params["scores"] = p.tolist()
            for k in range(3):
                params[f"f{k + 1}"] = names[top[:, k]].tolist()
                params[f"v{k + 1}"] = shown[rows, top[:, k]].tolist()
                params[f"c{k + 1}"] = contributions[rows, top[:, k]].tolist()
            cursor.execute(UPSERT_SCORES_SQL, params)
            # each row's raw facts as an array literal ({1.0,2.0,...}): unnest would flatten a 2-D array
            params["raw"] = ["{" + ",".join(map(repr, row)) + "}" for row in raw.tolist()]
            cursor.execute(UPSERT_SNAPSHOT_SQL, params)
        cursor.execute(DELETE_STALE_SQL, params)
    return len(ids)


def lapse_risk_score(as_of: dt.date, id_from: int, id_to: int) -> int:
    """The nightly step (renewals' pipeline, after due_lists): nothing before a version is approved."""
    version = approved_version()
    if version is None:
        return 0
    ids, raw = F.raw_facts(as_of=as_of, id_from=id_from, id_to=id_to, current=True)
    return scores_write(as_of=as_of, version=version, ids=ids, raw=raw, id_from=id_from, id_to=id_to)


def lapse_risk_score_all(*, as_of: dt.date) -> int:
    """Every in-force policy at once (the demo's last day, a test): the step over one range."""
    return lapse_risk_score(as_of, 0, 2**62)
