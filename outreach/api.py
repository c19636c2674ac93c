from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from outreach.selectors import policy_consent_changes, policy_contacts
from policies.api.permissions import HasCapability
from policies.selectors import policy_get


class PolicyContactsApi(APIView):
    """The policy's contact timeline: every reminder planned, sent or decided not to send."""

    permission_classes = [HasCapability]
    capabilities = {"GET": "view_portfolio"}

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        stage_code = serializers.CharField()
        kind = serializers.CharField()
        channel = serializers.CharField()
        urgent = serializers.BooleanField()
        address = serializers.CharField()  # masked
        template = serializers.CharField()
        template_version = serializers.IntegerField(allow_null=True)
        status = serializers.CharField()
        reason = serializers.CharField()
        error = serializers.CharField()
        attempts = serializers.IntegerField()
        planned_at = serializers.DateTimeField()
        sent_at = serializers.DateTimeField(allow_null=True)
        delivered_at = serializers.DateTimeField(allow_null=True)
        # a robot call's result (empty for the other channels)
        call_outcome = serializers.CharField()
        promised_on = serializers.DateField(allow_null=True)
        call_duration = serializers.IntegerField(allow_null=True)

    class ConsentSerializer(serializers.Serializer):
        channel = serializers.CharField()
        action = serializers.CharField()
        source = serializers.CharField()
        occurred_at = serializers.DateTimeField()

    @extend_schema(responses=inline_serializer("PolicyContacts", {
        "policy_no": serializers.CharField(), "contacts": OutputSerializer(many=True),
        "consent": ConsentSerializer(many=True)}))
    def get(self, request, policy_no: str):
        policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
        contacts = policy_contacts(policy=policy)
        consent = policy_consent_changes(policy=policy)
        return Response({"policy_no": policy.policy_no, "contacts": self.OutputSerializer(contacts, many=True).data,
                         "consent": self.ConsentSerializer(consent, many=True).data})
