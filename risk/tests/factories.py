"""Test data for risk (factory_boy): rules, allowed payers, claims and flags.

Claims go through the real service (claim_record). Allowed payers are rows written directly (the
service, allowed_payer_add, wants a risk reviewer and writes an operation record; use it when
that is what the test is about). Flags are raised on the rules the migrations install (the
shipped `unpaid-installments` by default), as the nightly evaluation would raise one:

    FlagFactory(policy=gz, raised_on=AS_OF)

A rule made here is a new rule of its own key (the shipped ones are the migrations'), a draft as
risk.services.rules.rule_create leaves it until switched on:

    RuleFactory(key="test-large-cash", state=Rule.State.ACTIVE)
"""

import datetime as dt
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from accounts.tests.factories import chinese_name
from policies.tests.factories import CustomerFactory, PolicyFactory
from risk.models import AllowedPayer, Claim, Flag, Rule, Severity
from risk.services.claims import claim_record


class RuleFactory(DjangoModelFactory):
    """Version 1 of a new large-cash rule (the shipped `large-cash` rule's kind, name, threshold and
    severity, its window the kind's default), a draft: pass `state` to switch it on."""

    class Meta:
        model = Rule

    key = factory.Sequence(lambda n: f"test-rule-{n + 1}")
    version = 1
    state = Rule.State.DRAFT
    kind = "large_cash"
    name = "大额现金缴费"
    threshold = Decimal("50000.00")
    severity = Severity.HIGH


class AllowedPayerFactory(DjangoModelFactory):
    class Meta:
        model = AllowedPayer

    customer = factory.SubFactory(CustomerFactory)
    payer_name = factory.Sequence(lambda n: chinese_name(n + 3))
    relation = AllowedPayer.Relation.PARENT


class ClaimFactory(DjangoModelFactory):
    """A medical claim reported by the claims system ten days after the loss, with claim_record."""

    class Meta:
        model = Claim

    policy = factory.SubFactory(PolicyFactory)
    claim_no = factory.Sequence(lambda n: f"CL{n:010d}")
    loss_date = dt.date(2026, 9, 1)
    reported_date = factory.LazyAttribute(lambda o: o.loss_date + dt.timedelta(days=10))
    kind = Claim.Kind.MEDICAL
    status = Claim.Status.REPORTED
    source = Claim.Source.API

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        claim, _created = claim_record(**kwargs)
        return claim


class FlagFactory(DjangoModelFactory):
    """An open flag on one policy, raised by the active version of the rule `rule_key`."""

    class Meta:
        model = Flag

    rule_key = "unpaid-installments"
    rule = factory.LazyAttribute(lambda o: Rule.objects.get(key=o.rule_key, state=Rule.State.ACTIVE))
    kind = factory.SelfAttribute("rule.kind")
    severity = factory.SelfAttribute("rule.severity")
    policy = factory.SubFactory(PolicyFactory)
    subject_type = "policy"
    subject_key = factory.LazyAttribute(lambda o: str(o.policy.pk))
    policy_ids = factory.LazyAttribute(lambda o: [o.policy.pk])
    fingerprint = factory.Sequence(lambda n: f"test:{n}")
    raised_on = dt.date(2026, 11, 25)
