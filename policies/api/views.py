from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.dates import business_today, parse_date
from core.errors import ApplicationError
from policies.api.permissions import HasCapability
from policies.api.serializers import PolicyInputSerializer, PolicyOutputSerializer, PolicyStatusSerializer
from policies.models import Policy
from policies.selectors import branches_for, policy_get, policy_list, policy_search, policy_status_on
from policies.services.policies import policy_upsert


class PolicyListApi(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "view_portfolio"}
    serializer_class = PolicyOutputSerializer

    @extend_schema(parameters=[OpenApiParameter("search", str, description="policy number, name, ID or phone")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = self.request.query_params.get("search", "").strip()
        if query:
            return policy_search(user=self.request.user, query=query)
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
        on_text = request.query_params.get("on")
        try:
            on = parse_date(on_text) if on_text else business_today()
        except ValueError as exc:
            raise ApplicationError(str(exc), errors={"on": [str(exc)]}) from None
        status_on = policy_status_on(policy=policy, on=on)
        if status_on is None:
            raise Http404("before the issue date")
        return Response({"policy_no": policy.policy_no, "on": on.isoformat(), "status": status_on})
