from rest_framework import serializers

from accounts.masking import mask_account, mask_id_no, mask_phone
from core.api import InputSerializer
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
            "bank_account", "lapse_date", "sales_channel", "holder", "insured",
        ]

    def get_bank_account(self, obj) -> str:
        return mask_account(obj.bank_account)


class PolicyStatusSerializer(serializers.Serializer):
    policy_no = serializers.CharField()
    on = serializers.DateField()
    status = serializers.CharField()


class PolicyInputSerializer(InputSerializer):
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
    sales_channel = serializers.CharField(
        required=False, allow_blank=True,
        help_text="agency (default), bancassurance, telemarketing, online, group: the channel that sold the policy")


class ConsistencyRowSerializer(serializers.ModelSerializer):
    """One line of the core-system consistency report: where the feed disagrees with us after
    the first import (ours kept). Empty feed_status: the feed agrees on the status; null
    feed_paid_to_date: it agrees on the paid-to date."""

    branch_code = serializers.CharField(source="branch.code")
    holder_name = serializers.CharField(source="holder.name")
    # plain strings with the values named: the policy statuses' enum is the detail's (one name in the schema)
    status = serializers.CharField(help_text="ours, in force: " + ", ".join(Policy.Status.values))
    feed_status = serializers.CharField(
        allow_blank=True,
        help_text="the status the feed sent and we did not apply (in_force or lapsed, ...); empty when the feed "
                  "agrees with ours")
    feed_status_since = serializers.DateField(
        allow_null=True, help_text="business date of the import that first sent feed_status")
    paid_to_date = serializers.DateField(help_text="ours")
    feed_paid_to_date = serializers.DateField(
        allow_null=True, help_text="the feed's paid-to date when it differs from ours, else null")

    class Meta:
        model = Policy
        fields = ["policy_no", "branch_code", "holder_name", "status", "feed_status", "feed_status_since",
                  "paid_to_date", "feed_paid_to_date"]
