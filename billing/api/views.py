from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Allocation, Installment, Payment, StatementImport
from billing.selectors import installment_list, payment_list, statement_import_list, statement_import_scope_check
from billing.services.webhooks import PLATFORMS, webhook_body_parse, webhook_payment_receive, webhook_verify
from core.api import AmountField, AwareDateTimeField, CurrencyField, StrictCharField
from core.api import InputSerializer as ApiInputSerializer
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
    HMAC-SHA256 of the raw body with the shared secret) and X-Timestamp (unix seconds). The same
    platform and transaction id again answers 200 and records nothing new."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]  # the schema's word: the signed body is JSON (read raw, never as request.data)

    class InputSerializer(ApiInputSerializer):
        platform = serializers.ChoiceField(choices=PLATFORMS)
        # the platforms' own ids are at most 64 characters (Alipay trade_no; WeChat Pay's are 32)
        transaction_id = StrictCharField(max_length=64, validators=[
            RegexValidator(r"^[0-9A-Za-z_-]+$", _("Letters, digits, - and _ only."))])
        amount = AmountField()
        currency = CurrencyField(required=False)
        paid_at = AwareDateTimeField()
        payer_name = StrictCharField(max_length=128, required=False, allow_blank=True, default="")
        payer_account = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
        policy_no = StrictCharField(max_length=32, required=False, allow_blank=True, default="")
        remittance = StrictCharField(max_length=512, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "PaymentCallback"

    class OutputSerializer(serializers.Serializer):
        payment = serializers.CharField(help_text="platform:transaction_id")
        status = serializers.ChoiceField(choices=Payment.Status.choices)
        created = serializers.BooleanField()

        class Meta:
            ref_name = "PaymentCallbackAnswer"

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer},
        parameters=[
            OpenApiParameter("X-Signature", str, OpenApiParameter.HEADER, required=True,
                             description="hex HMAC-SHA256 of the raw body with the shared secret"),
            OpenApiParameter("X-Timestamp", int, OpenApiParameter.HEADER, required=True,
                             description="unix seconds, within 5 minutes of ours"),
        ],
    )
    def post(self, request):
        body = request.body
        webhook_verify(body=body, signature=request.headers.get("X-Signature", ""),
                       timestamp=request.headers.get("X-Timestamp", ""))
        serializer = self.InputSerializer(data=webhook_body_parse(body=body))
        serializer.is_valid(raise_exception=True)
        payment, created = webhook_payment_receive(**serializer.validated_data, as_of=business_today())
        return Response(self.OutputSerializer({"payment": payment.identity, "status": payment.status,
                                               "created": created}).data,
                        status=201 if created else 200)


class StatementImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatementImport
        fields = ["id", "created_at", "file_name", "format", "account_no", "lines", "new", "duplicate", "rejected",
                  "report"]


class PaymentSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    policies = serializers.SerializerMethodField()
    reason = serializers.CharField(source="reason_text", read_only=True)  # the code's sentence, translated

    class Meta:
        model = Payment
        fields = ["id", "source", "account_no", "value_date", "direction", "amount", "currency", "payer_name",
                  "reference", "remittance", "status", "reason_code", "reason_params", "reason", "status_reason",
                  "policies"]

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

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StatementImport.objects.none()
        return statement_import_list(user=self.request.user)


class StatementImportDetailApi(generics.RetrieveAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "import_statements"}
    serializer_class = StatementImportSerializer
    queryset = StatementImport.objects.all()

    def get_object(self):
        record = super().get_object()
        statement_import_scope_check(user=self.request.user, record=record)
        return record


class PaymentListApi(generics.ListAPIView):
    """Money lines, newest first; ?status=suspense&value_date=2026-11-28&source=bank."""

    permission_classes = [HasCapability]
    capabilities = {"GET": "import_statements"}
    serializer_class = PaymentSerializer
    filterset_fields = ["status", "value_date", "source", "direction", "currency"]
    queryset = Payment.objects.prefetch_related("assignments__policy").order_by("-value_date", "-id")

    def get_queryset(self):
        return payment_list(user=self.request.user, queryset=super().get_queryset())


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
