from rest_framework import serializers

from accounts.masking import mask_account, mask_id_no, mask_phone
from policies.models import Policy


class CustomerMaskedSerializer(serializers.Serializer):
    name = serializers.CharField()
    id_type = serializers.CharField()
    id_no = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()

    def get_id_no(self, obj) -> str:
        return mask_id_no(obj.id_no)

    def get_phone(self, obj) -> str:
        return mask_phone(obj.phone)


class PolicyOutputSerializer(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code")
    branch_code = serializers.CharField(source="branch.code")
    agent_code = serializers.CharField(source="agent.code", default="")
    holder = CustomerMaskedSerializer()
    insured = CustomerMaskedSerializer()
    bank_account = serializers.SerializerMethodField()
    modal_premium = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    sum_assured = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)

    class Meta:
        model = Policy
        fields = [
            "policy_no", "status", "paid_to_date", "issue_date", "frequency", "modal_premium", "product_code",
            "branch_code", "agent_code", "premium_term_years", "sum_assured", "payment_method", "bank_name",
            "bank_account", "lapse_date", "holder", "insured",
        ]

    def get_bank_account(self, obj) -> str:
        return mask_account(obj.bank_account)


class PolicyStatusSerializer(serializers.Serializer):
    policy_no = serializers.CharField()
    on = serializers.DateField()
    status = serializers.CharField()


class PolicyInputSerializer(serializers.Serializer):
    """The policies.csv fields (policy-feed.md); policy_no comes from the URL. Values are
    validated by the feed's own rules (policies.services.rows), so the API and the file agree."""

    product_code = serializers.CharField()
    branch_code = serializers.CharField()
    agent_code = serializers.CharField(required=False, allow_blank=True)
    agent_name = serializers.CharField(required=False, allow_blank=True)
    agent_status = serializers.CharField(required=False, allow_blank=True)
    holder_name = serializers.CharField()
    holder_id_type = serializers.CharField(required=False, allow_blank=True)
    holder_id_no = serializers.CharField()
    holder_birth_date = serializers.CharField(required=False, allow_blank=True)
    holder_gender = serializers.CharField(required=False, allow_blank=True)
    holder_phone = serializers.CharField(required=False, allow_blank=True)
    holder_email = serializers.CharField(required=False, allow_blank=True)
    holder_address = serializers.CharField(required=False, allow_blank=True)
    insured_name = serializers.CharField(required=False, allow_blank=True)
    insured_id_no = serializers.CharField(required=False, allow_blank=True)
    insured_birth_date = serializers.CharField(required=False, allow_blank=True)
    issue_date = serializers.CharField()
    frequency = serializers.CharField()
    premium_term_years = serializers.CharField()
    modal_premium = serializers.CharField()
    sum_assured = serializers.CharField()
    payment_method = serializers.CharField()
    bank_name = serializers.CharField(required=False, allow_blank=True)
    bank_account = serializers.CharField(required=False, allow_blank=True)
    bank_account_name = serializers.CharField(required=False, allow_blank=True)
    paid_to_date = serializers.CharField()
    status = serializers.CharField(required=False, allow_blank=True)
    lapse_date = serializers.CharField(required=False, allow_blank=True)
