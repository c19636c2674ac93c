from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from policies.api.permissions import HasCapability
from policies.selectors import policy_get
from scoring.explain import explanations_render
from scoring.selectors import policy_score_get

LapseRiskSerializer = inline_serializer("LapseRisk", {
    "policy_no": serializers.CharField(),
    "score": serializers.DecimalField(max_digits=6, decimal_places=5, allow_null=True),
    "model_version": serializers.IntegerField(allow_null=True),
    "scored_on": serializers.DateField(allow_null=True),
    "explanations": serializers.ListField(child=serializers.DictField()),
})


class PolicyLapseRiskApi(APIView):
    """A policy's lapse-risk score (probability of lapsing within 90 days) and its three largest
    contributions, in the request's language; null when it carries none."""

    permission_classes = [HasCapability]
    capabilities = {"GET": "view_portfolio"}

    @extend_schema(responses=LapseRiskSerializer)
    def get(self, request, policy_no: str):
        policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
        score = policy_score_get(policy_id=policy.pk)
        if score is None:
            return Response({"policy_no": policy.policy_no, "score": None, "model_version": None, "scored_on": None,
                             "explanations": []})
        explained = [{"feature": item["feature"], "value": item["value"], "contribution": item["contribution"],
                      "text": rendered["text"]}
                     for item, rendered in zip(score.explanations, explanations_render(score.explanations), strict=True)]
        return Response({"policy_no": policy.policy_no, "score": str(score.score), "model_version": score.model_version,
                         "scored_on": score.scored_on.isoformat(), "explanations": explained})
