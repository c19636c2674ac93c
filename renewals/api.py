from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import query_date
from core.dates import business_today
from policies.api.permissions import HasCapability
from policies.selectors import policy_get
from renewals.services.reinstatement import reinstatement_quote

QuoteSerializer = inline_serializer("ReinstatementQuote", {
    "policy_no": serializers.CharField(), "on": serializers.DateField(), "total": serializers.CharField(),
    "installments": serializers.ListField(child=inline_serializer("QuoteInstallment", {
        "due_date": serializers.DateField(), "amount_due": serializers.CharField(),
        "interest": serializers.CharField()})),
})


class ReinstatementQuoteApi(APIView):
    """What reinstating a lapsed policy on a date costs (interfaces.md)."""

    permission_classes = [HasCapability]
    capabilities = {"GET": "view_portfolio"}

    @extend_schema(parameters=[OpenApiParameter("on", OpenApiTypes.DATE, description="YYYY-MM-DD; default today")],
                   responses=QuoteSerializer)
    def get(self, request, policy_no: str):
        policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
        on = query_date(request, "on", default=business_today())
        if on < policy.issue_date:
            raise Http404
        return Response(reinstatement_quote(policy=policy, on=on).as_dict())
