from django.db import transaction

from audit.services import audit_context
from billing.models import CsvTemplate, MatchingRule


@transaction.atomic
def matching_rule_save(*, values: dict, rule: MatchingRule | None, actor) -> MatchingRule:
    """Create or change a matching rule (finance's configuration), with the trail's context."""
    with audit_context(user=actor.pk, username=actor.get_username()):
        if rule is None:
            return MatchingRule.objects.create(**values)
        changed = [k for k, v in values.items() if getattr(rule, k) != v]
        for k in changed:
            setattr(rule, k, values[k])
        if changed:
            rule.save(update_fields=[*changed, "updated_at"])
        return rule


@transaction.atomic
def csv_template_save(*, name: str, bank_name: str, mapping: dict, template: CsvTemplate | None, actor) -> CsvTemplate:
    with audit_context(user=actor.pk, username=actor.get_username()):
        if template is None:
            return CsvTemplate.objects.create(name=name, bank_name=bank_name, mapping=mapping)
        template.name, template.bank_name, template.mapping = name, bank_name, mapping
        template.save(update_fields=["name", "bank_name", "mapping", "updated_at"])
        return template
