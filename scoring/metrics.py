"""How good a score is on labelled rows: the figures stored with each model version and printed by
the bench."""

import numpy as np


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def top_decile_capture(y: np.ndarray, p: np.ndarray) -> float:
    """Share of all lapses found among the 10 % highest scores (ties broken by row order)."""
    if y.sum() == 0:
        return float("nan")
    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    return float(y[top].sum() / y.sum())


def calibration_by_decile(y: np.ndarray, p: np.ndarray) -> list[dict]:
    """Rows sorted by score, cut into ten groups of equal size: mean score beside observed rate."""
    order = np.argsort(p, kind="stable")
    return [{"decile": k + 1, "rows": int(len(part)), "predicted": round(float(p[part].mean()), 5),
             "observed": round(float(y[part].mean()), 5)}
            for k, part in enumerate(np.array_split(order, 10)) if len(part)]


def _finite(value: float) -> float | None:
    """NaN (an AUC with one class only) is no JSON: stored as null."""
    return None if value != value else value


def score_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, brier_score_loss

    y = np.asarray(y, dtype=np.int8)
    p = np.asarray(p, dtype=np.float64)
    positives = int(y.sum())
    return {
        "rows": int(len(y)), "lapses": positives, "lapse_rate": round(positives / len(y), 5) if len(y) else 0.0,
        "roc_auc": _finite(round(_auc(y, p), 4)),
        "pr_auc": round(float(average_precision_score(y, p)), 4) if positives else None,
        "top_decile_capture": _finite(round(top_decile_capture(y, p), 4)),
        "brier": round(float(brier_score_loss(y, np.clip(p, 0, 1))), 5),
        "calibration": calibration_by_decile(y, p),
    }
