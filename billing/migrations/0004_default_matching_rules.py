from decimal import Decimal

from django.db import migrations

DEFAULT_RULES = [
    # a policy number glued to Chinese text (保单8860000000000001续期保费) is still found: no \b
    (10, "保单号（附言或参考号）", "reference", r"(?<![0-9])([0-9]{16})(?![0-9])", Decimal("0.00"), "auto"),
    (20, "付款账号与保单登记账号一致", "payer_account", "", Decimal("0.00"), "auto"),
    (30, "付款人为投保人", "payer_name", "", Decimal("0.00"), "propose"),
]


def create(apps, schema_editor):
    MatchingRule = apps.get_model("billing", "MatchingRule")
    if MatchingRule.objects.exists():
        return
    for position, name, kind, pattern, tolerance, action in DEFAULT_RULES:
        MatchingRule.objects.create(position=position, name=name, kind=kind, pattern=pattern,
                                    amount_tolerance=tolerance, window_days=90, action=action)


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_matching_rules")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
