"""The nightly step: every in-force policy of a chunk scored with the approved version.

Set-based, with no Python loop over the rows:
1. the chunk's raw facts in one SQL statement (scoring.features), streamed out by a binary COPY
   straight into a numpy array (every column a float8 of fixed width: no parsing per row);
2. the model's columns, the scores and the three largest contributions in numpy;
3. the scores, their explanations' numbers and the raw facts streamed back by a binary COPY into a
   temporary staging table (the bytes built by numpy in one piece);
4. three statements: the scores upserted (INSERT ... SELECT ... ON CONFLICT), the night's feature
   snapshot upserted, the scores of policies of the chunk no longer in force deleted. The
   snapshot's retention is a step of its own, once a night (scoring.services.retention).
Idempotent for its date: a rerun writes the same rows again.
"""

import datetime as dt
from typing import Any

import numpy as np
from django.db import connection, transaction

from scoring import features as F
from scoring.explain import display_values, top_contributions
from scoring.models import ModelVersion
from scoring.services.models import logistic_scores

# PostgreSQL's binary COPY: a 19-byte header (signature, flags, extension length), each row a
# 16-bit field count then per field a 32-bit length and the value, big-endian; a 16-bit -1 ends it
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
COPY_HEADER = COPY_SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"


def _row_dtype(fields: list[tuple[str, str]]) -> np.dtype:
    """A binary COPY row as a numpy record: the field count, then (length, value) per field."""
    parts = [("count", ">i2")]
    for name, kind in fields:
        parts += [(f"{name}_len", ">i4"), (name, kind)]
    return np.dtype(parts)


RAW_FIELDS = [("policy_id", ">i8")] + [(name, ">f8") for name in F.RAW_COLUMNS]
RAW_DTYPE = _row_dtype(RAW_FIELDS)
# the staging row: the score, the three explanations (feature's position in F.FEATURES, the value
# shown, the contribution to the log-odds) and the raw facts for the snapshot
STAGE_FIELDS = ([("policy_id", ">i8"), ("score", ">f8")]
                + [(f"{part}{k}", kind) for k in (1, 2, 3) for part, kind in (("f", ">i2"), ("v", ">f8"), ("c", ">f8"))]
                + [(f"r_{name}", ">f8") for name in F.RAW_COLUMNS])
STAGE_DTYPE = _row_dtype(STAGE_FIELDS)
STAGE_SQL = ("CREATE TEMP TABLE scoring_stage (policy_id bigint, score float8, "
             + ", ".join(f"{name} {'smallint' if kind == '>i2' else 'float8'}" for name, kind in STAGE_FIELDS[2:])
             + ") ON COMMIT DROP")

UPSERT_SCORES_SQL = """
INSERT INTO scoring_policyscore (policy_id, score, model_version, explanations, scored_on)
SELECT r.policy_id, round(r.score::numeric, 5), %(version)s,
       jsonb_build_array(
           jsonb_build_object('feature', (%(names)s::text[])[r.f1 + 1], 'value', r.v1, 'contribution', round(r.c1::numeric, 4)),
           jsonb_build_object('feature', (%(names)s::text[])[r.f2 + 1], 'value', r.v2, 'contribution', round(r.c2::numeric, 4)),
           jsonb_build_object('feature', (%(names)s::text[])[r.f3 + 1], 'value', r.v3, 'contribution', round(r.c3::numeric, 4))),
       %(as_of)s
FROM scoring_stage r
ON CONFLICT (policy_id) DO UPDATE
SET score = EXCLUDED.score, model_version = EXCLUDED.model_version, explanations = EXCLUDED.explanations,
    scored_on = EXCLUDED.scored_on
"""
UPSERT_SNAPSHOT_SQL = f"""
INSERT INTO scoring_featuresnapshot (as_of, policy_id, raw, score, model_version)
SELECT %(as_of)s, r.policy_id, ARRAY[{", ".join(f"r.r_{name}" for name in F.RAW_COLUMNS)}], r.score, %(version)s
FROM scoring_stage r
ON CONFLICT (policy_id, as_of) DO UPDATE
SET raw = EXCLUDED.raw, score = EXCLUDED.score, model_version = EXCLUDED.model_version
"""
# a policy that has left in_force keeps no score (the workbench and the reports join in-force ones):
# every in-force policy of the chunk is in the staging table (an anti-join, one hash of the chunk)
DELETE_STALE_SQL = """
DELETE FROM scoring_policyscore s
WHERE s.policy_id BETWEEN %(lo)s AND %(hi)s
  AND NOT EXISTS (SELECT 1 FROM scoring_stage r WHERE r.policy_id = s.policy_id)
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


def raw_facts_stream(*, as_of: dt.date, id_from: int, id_to: int) -> tuple[np.ndarray, np.ndarray]:
    """The night's raw facts of the chunk (in force now), as F.raw_facts(current=True) returns
    them, read by a binary COPY into numpy."""
    sql, params = F.features_query(as_of=as_of, id_from=id_from, id_to=id_to, current=True)
    columns = ", ".join(["policy_id::bigint"] + [f"{name}::float8" for name in F.RAW_COLUMNS])
    buffer = bytearray()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY (SELECT {columns} FROM ({sql}) facts) TO STDOUT (FORMAT binary)",
                                params) as copy:
            for block in copy:
                buffer += block
    body = memoryview(buffer)[len(COPY_HEADER):len(buffer) - len(COPY_TRAILER)]
    if len(body) % RAW_DTYPE.itemsize:
        raise RuntimeError("the features' COPY returned a NULL or a value of an unexpected width")
    rows = np.frombuffer(body, dtype=RAW_DTYPE)
    raw = np.empty((len(rows), len(F.RAW_COLUMNS)))
    for k, name in enumerate(F.RAW_COLUMNS):
        raw[:, k] = rows[name]
    return rows["policy_id"].astype(np.int64), raw


def _stage_bytes(ids: np.ndarray, p: np.ndarray, top: np.ndarray, shown: np.ndarray, contributions: np.ndarray,
                 raw: np.ndarray) -> bytes:
    rows = np.zeros(len(ids), dtype=STAGE_DTYPE)
    rows["count"] = len(STAGE_FIELDS)
    for name, kind in STAGE_FIELDS:
        rows[f"{name}_len"] = 2 if kind == ">i2" else 8
    rows["policy_id"], rows["score"] = ids, p
    index = np.arange(len(ids))
    for k in range(3):
        rows[f"f{k + 1}"] = top[:, k]
        rows[f"v{k + 1}"] = shown[index, top[:, k]]
        rows[f"c{k + 1}"] = contributions[index, top[:, k]]
    for k, name in enumerate(F.RAW_COLUMNS):
        rows[f"r_{name}"] = raw[:, k]
    return COPY_HEADER + rows.tobytes() + COPY_TRAILER


def scores_write(*, as_of: dt.date, version: ModelVersion, ids: np.ndarray, raw: np.ndarray,
                 id_from: int, id_to: int) -> int:
    """Score the chunk's in-force policies (ids, raw facts), write their scores and the night's
    snapshot, drop the scores of the chunk's other policies. In the caller's transaction."""
    params: dict[str, Any] = {"as_of": as_of, "version": version.version, "lo": id_from, "hi": id_to, "names": list(F.FEATURES)}
    # the staging table lives until the transaction's end (the pipeline's chunk, else this one)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS scoring_stage")
        cursor.execute(STAGE_SQL)
        if len(ids):
            x = F.feature_matrix(raw)
            p, contributions = version_scores(version, x)
            data = _stage_bytes(ids, p, top_contributions(contributions), display_values(x), contributions, raw)
            with cursor.cursor.copy("COPY scoring_stage FROM STDIN (FORMAT binary)") as copy:
                copy.write(data)
            cursor.execute(UPSERT_SCORES_SQL, params)
            cursor.execute(UPSERT_SNAPSHOT_SQL, params)
        cursor.execute(DELETE_STALE_SQL, params)
        cursor.execute("DROP TABLE scoring_stage")
    return len(ids)


def lapse_risk_score(as_of: dt.date, id_from: int, id_to: int) -> int:
    """The nightly step (renewals' pipeline, before collection_steps): nothing before a version is
    approved."""
    version = approved_version()
    if version is None:
        return 0
    with transaction.atomic():
        chunk_settings()
        ids, raw = raw_facts_stream(as_of=as_of, id_from=id_from, id_to=id_to)
        return scores_write(as_of=as_of, version=version, ids=ids, raw=raw, id_from=id_from, id_to=id_to)


def chunk_settings() -> None:
    """For the rest of the chunk's transaction: no JIT (PostgreSQL compiled these statements'
    expressions anew for every chunk: 0.9 s a chunk measured, more than it saved) and no parallel
    workers (the chunks themselves are spread over the pipeline's workers; a worker process
    started per statement only adds its start-up)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def lapse_risk_score_all(*, as_of: dt.date) -> int:
    """Every in-force policy at once (the demo's last day, a test): the step over one range."""
    return lapse_risk_score(as_of, 0, 2**62)
