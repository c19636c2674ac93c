from rest_framework import generics, serializers

from billing.models import Installment
from billing.selectors import installment_list
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
        policy = policy_get(user=self.request.user, policy_no=self.kwargs["policy_no"], request_path=self.request.path)
        return installment_list(policy=policy)
