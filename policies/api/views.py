from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import query_date, query_text
from core.dates import business_today
from core.errors import ApplicationError
from policies.api.permissions import HasCapability
from policies.api.serializers import (
    ConsistencyRowSerializer,
    PolicyInputSerializer,
    PolicyOutputSerializer,
    PolicyStatusSerializer,
)
from policies.models import Policy
from policies.selectors import (
    CONSISTENCY_DIFFERENCES,
    CONSISTENCY_REPORT_CAPABILITIES,
    branches_for,
    policy_consistency_list,
    policy_get,
    policy_list,
    policy_search,
    policy_status_on,
)
from policies.services.policies import policy_upsert


class PolicyListApi(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "view_portfolio"}
    serializer_class = PolicyOutputSerializer

    @extend_schema(parameters=[OpenApiParameter("search", str, description="policy number, name, ID or phone")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = query_text(self.request, "search").strip()
        if query:
            try:
                return policy_search(user=self.request.user, query=query)
            except ApplicationError as exc:  # the API's parameter is "search", the page's field "q"
                raise ApplicationError(exc.message, errors={"search": exc.errors.get("q", [exc.message])}) from None
        return policy_list(user=self.request.user).order_by("id")


class PolicyDetailApi(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "view_portfolio", "PUT": "upsert_policies_api"}

    @extend_schema(responses=PolicyOutputSerializer)
    def get(self, request, policy_no: str):
        policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
        return Response(PolicyOutputSerializer(policy).data)

    @extend_schema(request=PolicyInputSerializer, responses={200: PolicyOutputSerializer, 201: PolicyOutputSerializer})
    def put(self, request, policy_no: str):
        serializer = PolicyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if Policy.objects.filter(policy_no=policy_no).exists():
            policy_get(user=request.user, policy_no=policy_no, request_path=request.path)  # 404 outside scope
        allowed = set(branches_for(user=request.user).values_list("code", flat=True))
        data = {k: str(v) for k, v in serializer.validated_data.items()} | {"policy_no": policy_no}
        policy, created = policy_upsert(data=data, as_of=business_today(), actor=request.user,
                                        allowed_branch_codes=allowed)
        policy = policy_list(user=request.user).get(pk=policy.pk)
        return Response(PolicyOutputSerializer(policy).data, status=status.HTTP_201_CREATED if created else 200)


class PolicyStatusApi(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "view_portfolio"}

    @extend_schema(
        parameters=[OpenApiParameter("on", OpenApiTypes.DATE, description="YYYY-MM-DD; default today")],
        responses=PolicyStatusSerializer,
    )
    def get(self, request, policy_no: str):
        policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
        on = query_date(request, "on", default=business_today())
        status_on = policy_status_on(policy=policy, on=on)
        if status_on is None:
            raise Http404("before the issue date")
        return Response({"policy_no": policy.policy_no, "on": on.isoformat(), "status": status_on})


class ConsistencyReportApi(generics.ListAPIView):
    """The core-system consistency report (the page's list, paginated): policies whose status or
    paid-to date in the feed differs from ours after the first import; ours is kept."""

    permission_classes = [HasCapability]
    capabilities = {"GET": CONSISTENCY_REPORT_CAPABILITIES}
    serializer_class = ConsistencyRowSerializer

    @extend_schema(
        summary="Core-system consistency report",
        parameters=[OpenApiParameter(
            "difference", str, enum=list(CONSISTENCY_DIFFERENCES),
            description="only policies whose status differs, or only those whose paid-to date differs; "
                        "default both")],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Policy.objects.none()
        return policy_consistency_list(user=self.request.user,
                                       difference=self.request.query_params.get("difference") or None)
