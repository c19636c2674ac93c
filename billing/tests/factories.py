"""Test data for billing (factory_boy): installments, money lines, assignments, matching rules,
debit batches and their lines.

Money lines and assignments go through the real services (payment_create, payment_assign), so a
line is recorded once per (account, identity) and a payment's status follows what is assigned:

    payment = PaymentFactory(amount=Decimal("300.00"), remittance="保单8860000000000001续期保费")
    AssignmentFactory(payment=payment, policy=gz, amount=Decimal("300.00"))

Installments are rows written directly, for tests that need a schedule the nightly run would not
make; `PolicyFactory(schedule_as_of=AS_OF)` makes the real one.
"""

import datetime as dt
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from billing.models import Assignment, DebitBatch, DebitLine, Installment, MatchingRule, Payment
from billing.services.payments import payment_assign, payment_create
from billing.services.schedules import schedule_step_months
from core.dates import add_months
from policies.tests.factories import PolicyFactory

# the policy number as the matching rules find it in a remittance text (16 digits, alone)
POLICY_NO_PATTERN = r"(?<![0-9])([0-9]{16})(?![0-9])"


class InstallmentFactory(DjangoModelFactory):
    """Installment k of a policy, due at issue + k periods, grace to due + the product's grace
    days, the modal premium due, nothing paid (status due). Trait: `paid` (paid on its due date)."""

    class Meta:
        model = Installment

    class Params:
        paid = factory.Trait(
            status=Installment.Status.PAID,
            amount_paid=factory.SelfAttribute("amount_due"),
            paid_value_date=factory.SelfAttribute("due_date"),
        )

    policy = factory.SubFactory(PolicyFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    due_date = factory.LazyAttribute(
        lambda o: add_months(o.policy.issue_date, o.sequence * schedule_step_months(o.policy.frequency))
    )
    grace_end = factory.LazyAttribute(lambda o: o.due_date + dt.timedelta(days=o.policy.product.grace_days))
    amount_due = factory.SelfAttribute("policy.modal_premium")
    amount_paid = Decimal("0.00")
    status = Installment.Status.DUE


class PaymentFactory(DjangoModelFactory):
    """Money received on the company's account (a bank statement line), recorded with
    payment_create: in suspense until something is assigned to it."""

    class Meta:
        model = Payment

    source = Payment.Source.BANK
    account_no = "6222020200000000001"
    identity = factory.Sequence(lambda n: f"F{n:06d}")
    value_date = dt.date(2026, 11, 20)
    amount = Decimal("300.00")
    # no payer name nor account unless given: either would send the matching rules looking for a policy
    payer_name = ""

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        payment, _created = payment_create(**kwargs)
        return payment


class AssignmentFactory(DjangoModelFactory):
    """Part of a payment assigned to a policy with payment_assign (confirmed unless `status` says)."""

    class Meta:
        model = Assignment

    payment = factory.SubFactory(PaymentFactory, amount=factory.SelfAttribute("..amount"))
    policy = factory.SubFactory(PolicyFactory)
    amount = Decimal("300.00")
    rule = "test"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return payment_assign(**kwargs)


class MatchingRuleFactory(DjangoModelFactory):
    """A matching rule booking automatically on an exact amount. Traits for the three conditions:
    `reference` (the default, with the policy-number pattern), `payer_account`, `payer_name`."""

    class Meta:
        model = MatchingRule

    class Params:
        reference = factory.Trait(kind=MatchingRule.Kind.REFERENCE, pattern=POLICY_NO_PATTERN, name="保单号")
        payer_account = factory.Trait(kind=MatchingRule.Kind.PAYER_ACCOUNT, pattern="", name="付款账号")
        payer_name = factory.Trait(kind=MatchingRule.Kind.PAYER_NAME, pattern="", name="付款人姓名")

    position = factory.Sequence(lambda n: 10 * (n + 1))
    name = "保单号"
    kind = MatchingRule.Kind.REFERENCE
    pattern = POLICY_NO_PATTERN
    amount_tolerance = Decimal("0.00")
    action = MatchingRule.Action.AUTO


class DebitBatchFactory(DjangoModelFactory):
    """An open, empty direct-debit batch (billing.services.debits.debit_batch_create fills one)."""

    class Meta:
        model = DebitBatch

    collection_date = dt.date(2026, 11, 25)
    reference = factory.Sequence(lambda n: f"DD{n:011d}")


class DebitLineFactory(DjangoModelFactory):
    """A line of a debit batch awaiting the bank (pending, first attempt) for what is open on one
    installment of an auto-debit policy, with the policy's bank details, as
    billing.services.debits.debit_batch_create writes one. The line's policy is its installment's:
    give `installment` (and its policy alone follows)."""

    class Meta:
        model = DebitLine

    batch = factory.SubFactory(DebitBatchFactory)
    installment = factory.SubFactory(InstallmentFactory, policy=factory.SubFactory(PolicyFactory, auto_debit=True))
    policy = factory.SelfAttribute("installment.policy")
    end_to_end_id = factory.Sequence(lambda n: f"E2E{n:09d}")
    amount = factory.LazyAttribute(lambda o: o.installment.amount_due - o.installment.amount_paid)
    bank_name = factory.SelfAttribute("policy.bank_name")
    bank_account = factory.SelfAttribute("policy.bank_account")
    bank_account_name = factory.SelfAttribute("policy.bank_account_name")
    attempt = 1
    status = DebitLine.Status.PENDING
    reason = ""
