"""Flags for other systems, and claims from the claims system (interfaces in the README)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import InputSerializer, StrictCharField, query_text
from core.errors import ApplicationError
from policies.api.permissions import HasCapability
from policies.models import Policy
from policies.selectors import policy_get, policy_list
from risk.kinds import KINDS
from risk.models import Claim, Flag
from risk.selectors import flag_queue, flag_sentence
from risk.services.claims import claim_record


class FlagOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    policy_nos = serializers.SerializerMethodField()
    subject_type = serializers.ChoiceField(choices=Flag._meta.get_field("subject_type").choices)
    rule = serializers.CharField(source="rule_key")
    rule_kind = serializers.CharField(source="kind")
    rule_version = serializers.IntegerField(source="rule.version")
    severity = serializers.CharField()
    status = serializers.ChoiceField(choices=Flag.Status.choices)
    raised_on = serializers.DateField()
    reason = serializers.SerializerMethodField()

    class Meta:
        ref_name = "RiskFlag"

    def get_policy_nos(self, flag) -> list[str]:
        visible = self.context.get("policy_nos", {})
        return sorted(visible[pk] for pk in flag.policy_ids if pk in visible)

    def get_reason(self, flag) -> str:
        return flag_sentence(flag)


class FlagListApi(generics.ListAPIView):
    """GET /api/v1/flags/?policy_no=&rule_kind=&status= : the flags the user may see, by
    severity and age (the reason in the request's language)."""

    permission_classes = [HasCapability]
    capabilities = {"GET": "work_risk_flags"}
    serializer_class = FlagOutputSerializer
    filter_backends: list = []

    @extend_schema(parameters=[
        OpenApiParameter("policy_no", str), OpenApiParameter("rule_kind", str, enum=sorted(KINDS)),
        OpenApiParameter("status", str, enum=Flag.Status.values)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Flag.objects.none()
        kind = query_text(self.request, "rule_kind", max_length=32)
        flag_status = query_text(self.request, "status", max_length=16)
        errors = {}
        if kind and kind not in KINDS:
            errors["rule_kind"] = [_("Unknown rule kind.")]
        if flag_status and flag_status not in Flag.Status.values:
            errors["status"] = [_("Unknown status.")]
        if errors:
            raise ApplicationError(_("Check the query."), errors=errors)
        return flag_queue(user=self.request.user, status=flag_status, kind=kind,
                          policy_no=query_text(self.request, "policy_no", max_length=32))

    def get_serializer_context(self):
        context = super().get_serializer_context()
        page = getattr(self, "_page_ids", None)
        context["policy_nos"] = page or {}
        return context

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        ids = {pk for flag in (page or []) for pk in flag.policy_ids}
        self._page_ids = dict(policy_list(user=self.request.user).filter(pk__in=ids).values_list("pk", "policy_no"))
        return page


class ClaimApi(APIView):
    """POST /api/v1/claims/ from the claims system: a claim (the same claim number again updates it)."""

    permission_classes = [HasCapability]
    capabilities = {"POST": ("upsert_policies_api", "decide_handoffs")}

    class InputSerializer(InputSerializer):
        policy_no = StrictCharField(max_length=32)
        claim_no = StrictCharField(max_length=32)
        loss_date = serializers.DateField()
        reported_date = serializers.DateField()
        kind = serializers.ChoiceField(choices=Claim.Kind.choices)
        status = serializers.ChoiceField(choices=Claim.Status.choices)

        class Meta:
            ref_name = "ClaimNotice"

    class OutputSerializer(serializers.Serializer):
        claim_no = serializers.CharField()
        policy_no = serializers.CharField(source="policy.policy_no")
        created = serializers.BooleanField()

        class Meta:
            ref_name = "ClaimNoticeAnswer"

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        policy: Policy = policy_get(user=request.user, policy_no=data.pop("policy_no"), request_path=request.path)
        claim, created = claim_record(policy=policy, source=Claim.Source.API, actor=request.user, **data)
        claim.created = created
        return Response(self.OutputSerializer(claim).data, status=status.HTTP_201_CREATED if created else 200)

