from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Allocation, Installment, Payment, StatementImport
from billing.selectors import installment_list
from billing.services.webhooks import webhook_payment_receive, webhook_verify
from core.dates import business_today
from policies.api.permissions import HasCapability
from policies.selectors import policy_get


class InstallmentOutputSerializer(serializers.ModelSerializer):
    amount_due = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    amount_paid = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)

    class Meta:
        model = Installment
        fields = ["sequence", "due_date", "grace_end", "amount_due", "amount_paid", "status", "paid_value_date"]


class PolicyInstallmentsApi(generics.ListAPIView):
    """Every materialised installment of the policy, in sequence order (interfaces.md)."""

    permission_classes = [HasCapability]
    capabilities = {"GET": "view_portfolio"}
    serializer_class = InstallmentOutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Installment.objects.none()
        policy = policy_get(user=self.request.user, policy_no=self.kwargs["policy_no"], request_path=self.request.path)
        return installment_list(policy=policy)


class PaymentWebhookApi(APIView):
    """POST /api/v1/webhooks/payments/ from a payment platform: headers X-Signature (hex
    HMAC-SHA256 of the raw body with the shared secret) and X-Timestamp (unix seconds)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={201: None, 200: None})
    def post(self, request):
        body = request.body
        webhook_verify(body=body, signature=request.headers.get("X-Signature", ""),
                       timestamp=request.headers.get("X-Timestamp", ""))
        payment, created = webhook_payment_receive(body=body, as_of=business_today())
        return Response({"payment": payment.identity, "status": payment.status, "created": created},
                        status=201 if created else 200)


class StatementImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatementImport
        fields = ["id", "created_at", "file_name", "format", "account_no", "lines", "new", "duplicate", "rejected",
                  "report"]


class PaymentSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    policies = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = ["id", "source", "account_no", "value_date", "direction", "amount", "currency", "payer_name",
                  "reference", "remittance", "status", "status_reason", "policies"]

    def get_policies(self, obj) -> list[str]:
        return sorted({a.policy.policy_no for a in obj.assignments.all() if a.status != "rejected"})


class AllocationSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    sequence = serializers.IntegerField(source="installment.sequence")
    due_date = serializers.DateField(source="installment.due_date")
    payment_id = serializers.IntegerField(source="assignment.payment_id")

    class Meta:
        model = Allocation
        fields = ["id", "sequence", "due_date", "amount", "value_date", "payment_id", "created_at", "reversed_at",
                  "reversal_reason"]


class StatementImportListApi(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "import_statements"}
    serializer_class = StatementImportSerializer
    queryset = StatementImport.objects.order_by("-created_at")


class StatementImportDetailApi(generics.RetrieveAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "import_statements"}
    serializer_class = StatementImportSerializer
    queryset = StatementImport.objects.all()


class PaymentListApi(generics.ListAPIView):
    """Money lines, newest first; ?status=suspense&value_date=2026-11-28&source=bank."""

    permission_classes = [HasCapability]
    capabilities = {"GET": "import_statements"}
    serializer_class = PaymentSerializer
    filterset_fields = ["status", "value_date", "source", "direction", "currency"]
    queryset = Payment.objects.prefetch_related("assignments__policy").order_by("-value_date", "-id")


class PolicyAllocationsApi(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "view_portfolio"}
    serializer_class = AllocationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Allocation.objects.none()
        policy = policy_get(user=self.request.user, policy_no=self.kwargs["policy_no"], request_path=self.request.path)
        return (Allocation.objects.filter(installment__policy=policy)
                .select_related("installment", "assignment").order_by("installment__sequence", "id"))
