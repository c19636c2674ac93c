"""The workbench in the API (issue 14), under the same rules as the pages: a call-centre dialer
serves the next customer to a clerk's phone with claim-next, then posts the outcome.

GET  /api/v1/cases/?queue=mine|team|unassigned|near_breach|breached|handoffs&cursor=...
GET  /api/v1/cases/<id>/
POST /api/v1/cases/claim-next/          200 the claimed case with its policy number, 204 none left
POST /api/v1/cases/<id>/release/
POST /api/v1/cases/<id>/outcome/        a contact attempt and its outcome (201)
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import InputSerializer, StrictCharField
from core.dates import business_today
from core.errors import ApplicationError
from policies.api.permissions import HasCapability
from policies.models import Policy
from renewals.models import Case, ContactAttempt
from renewals.selectors_cases import QUEUES, case_queue
from renewals.services.cases import case_claim_next, case_contact_record, case_get_for, case_release, claim_idle

WORK = ("work_cases", "decide_handoffs")


class CaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    policy_no = serializers.CharField(source="policy.policy_no")
    type = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField()
    priority = serializers.IntegerField()
    priority_parts = serializers.DictField()
    escalation = serializers.IntegerField()
    deadline = serializers.DateField(allow_null=True)
    next_action_on = serializers.DateField(allow_null=True)
    promised_on = serializers.DateField(allow_null=True)
    opened_on = serializers.DateField()
    assignee = serializers.SerializerMethodField()
    held_by = serializers.SerializerMethodField()
    question = serializers.CharField()
    answer = serializers.CharField()

    def get_assignee(self, case) -> str | None:
        return case.assignee.get_username() if case.assignee_id else None

    def get_held_by(self, case) -> str | None:
        if case.claimed_by_id and case.claimed_at and case.claimed_at >= timezone.now() - claim_idle():
            return case.claimed_by.get_username()
        return None


class CaseListApi(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": WORK}

    @extend_schema(operation_id="v1_cases_list", parameters=[OpenApiParameter("queue", OpenApiTypes.STR, enum=list(QUEUES)),
                               OpenApiParameter("cursor", OpenApiTypes.STR, description="next_cursor of the last page"),
                               OpenApiParameter("type", OpenApiTypes.STR)],
                   responses=OpenApiResponse(description="{results: [case], next_cursor}"))
    def get(self, request):
        queue = request.query_params.get("queue", "mine")
        if queue not in QUEUES:
            raise ApplicationError(f"one of {', '.join(QUEUES)}", errors={"queue": [f"one of {', '.join(QUEUES)}"]})
        filters = {"type": request.query_params.get("type", "")}
        page = case_queue(user=request.user, queue=queue, as_of=business_today(), filters=filters,
                          cursor=request.query_params.get("cursor"))
        return Response({"results": CaseOutput(page.rows, many=True).data, "next_cursor": page.next_cursor})


class CaseDetailApi(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": WORK}

    @extend_schema(responses=CaseOutput)
    def get(self, request, pk: int):
        return Response(CaseOutput(case_get_for(user=request.user, pk=pk)).data)


class CaseClaimNextApi(APIView):
    permission_classes = [HasCapability]
    capabilities = {"POST": WORK}

    @extend_schema(request=None, responses={200: CaseOutput, 204: OpenApiResponse(description="no case left")})
    def post(self, request):
        case = case_claim_next(actor=request.user, as_of=business_today())
        if case is None:
            return Response(status=204)
        return Response(CaseOutput(case).data)


class CaseReleaseApi(APIView):
    permission_classes = [HasCapability]
    capabilities = {"POST": WORK}

    @extend_schema(request=None, responses=CaseOutput)
    def post(self, request, pk: int):
        case = case_release(case=case_get_for(user=request.user, pk=pk), actor=request.user)
        return Response(CaseOutput(Case.objects.select_related("policy").get(pk=case.pk)).data)


class OutcomeInput(InputSerializer):
    channel = StrictCharField(max_length=8)
    reached = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=ContactAttempt.Reason.choices, required=False, allow_blank=True)
    outcome = serializers.ChoiceField(choices=ContactAttempt.Outcome.choices)
    promised_on = serializers.DateField(required=False, allow_null=True)
    next_action_on = serializers.DateField(required=False, allow_null=True)
    note = StrictCharField(max_length=512, required=False, allow_blank=True)
    # a plan change asked for: the application opens prefilled with it
    plan_frequency = serializers.ChoiceField(choices=Policy.Frequency.choices, required=False, allow_blank=True)
    plan_payment_method = serializers.ChoiceField(choices=Policy.PaymentMethod.choices, required=False,
                                                  allow_blank=True)


class CaseOutcomeApi(APIView):
    permission_classes = [HasCapability]
    capabilities = {"POST": ("work_cases",)}

    @extend_schema(request=OutcomeInput, responses={201: CaseOutput})
    def post(self, request, pk: int):
        case = case_get_for(user=request.user, pk=pk)
        data = OutcomeInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        plan_change = {"frequency": fields.pop("plan_frequency", ""),
                       "payment_method": fields.pop("plan_payment_method", "")}
        case_contact_record(case=case, actor=request.user, as_of=business_today(), plan_change=plan_change, **fields)
        return Response(CaseOutput(Case.objects.select_related("policy", "assignee", "claimed_by").get(pk=pk)).data,
                        status=201)
