"""Reads of the lapse-risk score, for the policy page, renewals' workbench and reporting."""

from collections.abc import Iterable
from decimal import Decimal

import numpy as np
from django.db import connection

from scoring import features as F
from scoring.explain import explanations_render
from scoring.models import FeatureSnapshot, ModelVersion, PolicyScore


def policy_lapse_risk(policy_ids: Iterable[int]) -> dict[int, tuple[Decimal, list[str]]]:
    """{policy id: (score 0-1, its three explanations in words in the active language)} for the
    policies that carry a score (in force, scored by an approved version). The caller has checked
    the policies' scope."""
    scores = PolicyScore.objects.filter(policy_id__in=list(policy_ids)).values_list("policy_id", "score",
                                                                                  "explanations")
    return {pid: (score, [e["text"] for e in explanations_render(items)]) for pid, score, items in scores}


def policy_score_get(*, policy_id: int) -> PolicyScore | None:
    return PolicyScore.objects.filter(policy_id=policy_id).first()


def model_versions() -> list[ModelVersion]:
    return list(ModelVersion.objects.select_related("approved_by", "trained_by").defer("model_blob")
                .order_by("-version"))


def score_drift(version: ModelVersion) -> dict:
    """Tonight's scores in the version's test deciles (each should hold about 10 %), with the
    population stability index (PSI; above 0.25 the population has moved)."""
    edges = version.metrics.get("score_edges") or []
    if len(edges) != 9:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT width_bucket(score::float8, %s::float8[]), count(*) FROM scoring_policyscore "
                       "WHERE model_version = %s GROUP BY 1", [edges, version.version])
        counts = dict(cursor.fetchall())
    total = sum(counts.values())
    if not total:
        return {}
    shares = [counts.get(k, 0) / total for k in range(10)]
    psi = sum((s - 0.1) * np.log(max(s, 1e-4) / 0.1) for s in shares)
    return {"scored": total, "shares": [round(100 * s, 1) for s in shares], "psi": round(float(psi), 3)}


SAMPLE_ROWS = 50_000


def feature_drift(version: ModelVersion) -> list[dict]:
    """The latest night's feature means beside the training means, in training standard deviations
    (a sample of the night's snapshot: the page reads at most SAMPLE_ROWS rows)."""
    latest = FeatureSnapshot.objects.order_by("-as_of").values_list("as_of", flat=True).first()
    if latest is None or not version.means:
        return []
    raw = list(FeatureSnapshot.objects.filter(as_of=latest).values_list("raw", flat=True)[:SAMPLE_ROWS])
    if not raw:
        return []
    x = F.feature_matrix(np.array(raw, dtype=np.float64))
    current = x.mean(axis=0)
    rows = []
    for k, name in enumerate(version.features):
        shift = (current[k] - version.means[k]) / (version.scales[k] or 1.0)
        rows.append({"feature": name, "train_mean": round(version.means[k], 4), "current_mean": round(float(current[k]), 4),
                     "shift": round(float(shift), 2), "alarm": abs(shift) > 0.25})
    return sorted(rows, key=lambda r: -abs(r["shift"]))


COLLECTION_BY_DECILE_SQL = """
WITH scored AS (
    SELECT f.policy_id, ntile(10) OVER (ORDER BY f.score, f.policy_id) AS decile
    FROM scoring_featuresnapshot f WHERE f.as_of = %(scored_on)s
)
SELECT s.decile, count(DISTINCT s.policy_id), COALESCE(sum(i.amount_due), 0), COALESCE(sum(i.amount_paid), 0)
FROM scored s
LEFT JOIN billing_installment i ON i.policy_id = s.policy_id AND i.due_date BETWEEN %(start)s AND %(end)s
     AND i.status <> ALL(%(void)s)
GROUP BY s.decile ORDER BY s.decile
"""


def collection_by_risk_decile(*, start, end, scored_on=None) -> list[dict]:
    """Collection rate (premium received for installments due in the period / premium due) by
    lapse-risk decile, the deciles as the policies were scored on `scored_on` (default: the latest
    night on or before `start`, so that the score came before the money): decile 10 = riskiest.
    Does the score earn its place? Collection should fall decile by decile."""
    if scored_on is None:
        scored_on = (FeatureSnapshot.objects.filter(as_of__lte=start).order_by("-as_of")
                     .values_list("as_of", flat=True).first())
        if scored_on is None:
            return []
    with connection.cursor() as cursor:
        cursor.execute(COLLECTION_BY_DECILE_SQL, {"scored_on": scored_on, "start": start, "end": end,
                                                  "void": F.STATUS_PARAMS["void_statuses"]})
        rows = cursor.fetchall()
    return [{"decile": decile, "policies": policies, "due": due, "received": received,
             "rate": (received / due).quantize(Decimal("0.0001")) if due else None}
            for decile, policies, due, received in rows]
