"""The shipped rules (DESIGN.md section 3, issue 17): one switched-on version 1 of each kind."""

from decimal import Decimal

from django.db import migrations

DEFAULT_RULES = [
    # key, kind, name, threshold, severity, params
    ("unpaid-installments", "unpaid_installments", "连续3期未缴", "3", "medium", {}),
    ("amount-deviation", "amount_deviation", "缴费金额偏离期缴保费20%以上", "20", "low", {"days": 90}),
    ("contact-changes", "contact_changes", "90天内3次以上变更联系方式", "3", "medium", {"days": 90}),
    ("third-party-payer", "third_party_payer", "非投保人缴费", "1", "low", {"days": 365}),
    ("large-cash", "large_cash", "大额现金缴费", "50000", "high", {"days": 30}),
    ("shared-payer-account", "shared_payer_account", "同一账户为多名无关投保人缴费", "5", "high", {"days": 90}),
    ("reinstatement-claim", "reinstatement_claim", "复效后180天内出险", "180", "high", {}),
    ("premium-then-refund", "premium_then_refund", "大额保费后一年内退保或退费", "100000", "high", {"days": 365}),
    ("refund-other-account", "refund_other_account", "退费至非付款账户", "1", "high", {"days": 365}),
    ("payer-account-changes", "payer_account_changes", "频繁变更缴费账户", "3", "medium", {"days": 365}),
    ("many-accounts", "many_accounts", "同一客户多账户缴费", "4", "medium", {"days": 365}),
]


def forward(apps, schema_editor):
    Rule = apps.get_model("risk", "Rule")
    for key, kind, name, threshold, severity, params in DEFAULT_RULES:
        Rule.objects.get_or_create(key=key, version=1, defaults=dict(
            kind=kind, name=name, threshold=Decimal(threshold), severity=severity, params=params, state="active",
            change_reason="shipped default"))


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_initial")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
