from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import perm
from core.errors import ApplicationError
from scoring.explain import AMOUNTS, FLAGS
from scoring.models import ModelVersion
from scoring.selectors import feature_drift, model_versions, score_drift
from scoring.services.models import model_version_approve
from scoring.services.scores import approved_version


def _feature_label(name: str) -> str:
    if name in FLAGS:
        return str(FLAGS[name][0])
    if name in AMOUNTS:
        return str(AMOUNTS[name]) % {"value": "N"}
    return name


@login_required
@permission_required(perm("configure_system"), raise_exception=True)
def models(request):
    """Versions with their metrics, the approval, and drift of the approved one."""
    versions = model_versions()
    current = approved_version()
    drift = score_drift(current) if current else {}
    features = feature_drift(current) if current else []
    for row in features:
        row["label"] = _feature_label(row["feature"])
    return render(request, "scoring/models.html", {"versions": versions, "current": current, "drift": drift,
                                                    "features": features[:12]})


@login_required
@permission_required(perm("configure_system"), raise_exception=True)
def model_detail(request, version: int):
    found = ModelVersion.objects.filter(version=version).defer("model_blob").first()
    if found is None:
        raise Http404
    coefficients = sorted(({"label": _feature_label(n), "value": round(c, 3)}
                           for n, c in zip(found.features, found.coefficients, strict=False)), key=lambda r: -abs(r["value"]))
    return render(request, "scoring/model.html", {"v": found, "chosen": found.metrics.get("chosen", {}),
                                                   "coefficients": coefficients})


@require_POST
@login_required
@permission_required(perm("configure_system"), raise_exception=True)
def model_approve(request, version: int):
    found = ModelVersion.objects.filter(version=version).first()
    if found is None:
        raise Http404
    try:
        model_version_approve(version=found, actor=request.user)
        messages.success(request, _("Version %(v)s approved: it scores the portfolio from the next night on.")
                         % {"v": found.version})
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("scoring:models")
