"""Data for issue 9: the shipped policy-number and payer-account rules accept other amounts
(partial payments and over-payments of the one policy they find), and the English reasons that
matching and allocation wrote into Payment.status_reason become codes with parameters (best
effort, by pattern; a text that matches no pattern stays as it is, as a note)."""

from django.db import migrations

# the rules migration 0004 ships, by name and condition (a renamed rule is finance's own)
SHIPPED = [("保单号（附言或参考号）", "reference"), ("付款账号与保单登记账号一致", "payer_account")]


def shipped_rules_accept_partial(apps, schema_editor):
    MatchingRule = apps.get_model("billing", "MatchingRule")
    for name, kind in SHIPPED:
        MatchingRule.objects.filter(name=name, kind=kind).update(accepts_partial=True)


NUMBER = r"(?<![0-9])([0-9]{16})(?![0-9])"
# the policy a proposal or an over-payment was assigned to
ASSIGNED = "(SELECT min(p.policy_no) FROM billing_assignment a JOIN policies_policy p ON p.id = a.policy_id " \
           "WHERE a.payment_id = pay.id)"

REASONS_SQL = [
    # "no rule matched" on a line whose text names an existing policy: its amount fitted nothing
    f"""
    UPDATE billing_payment pay
    SET reason_code = 'amount_fits_no_installment', status_reason = '',
        reason_params = jsonb_build_object('policy_no', p.policy_no, 'amount', pay.amount::text)
    FROM policies_policy p
    WHERE pay.status_reason = 'no rule matched'
      AND p.policy_no = substring(pay.remittance || ' ' || pay.reference FROM '{NUMBER}')
    """,
    """
    UPDATE billing_payment SET reason_code = 'no_reference', status_reason = '', reason_params = '{}'
    WHERE status_reason = 'no rule matched'
    """,
    f"""
    UPDATE billing_payment pay
    SET reason_code = CASE WHEN pay.payer_account <> '' AND (SELECT count(*) FROM policies_policy p
                                                              WHERE p.bank_account = pay.payer_account) > 1
                           THEN 'payer_account_several_policies' ELSE 'payer_name_several_policies' END,
        reason_params = jsonb_build_object('policy_no', COALESCE({ASSIGNED}, '')), status_reason = ''
    WHERE pay.status_reason = 'several policies fit'
    """,
    """
    UPDATE billing_payment SET reason_code = 'not_money_received', status_reason = '', reason_params = '{}'
    WHERE status_reason = 'not money received'
    """,
    """
    UPDATE billing_payment
    SET reason_code = 'foreign_currency', status_reason = '',
        reason_params = jsonb_build_object('currency', substring(status_reason FROM '^foreign currency ([A-Za-z]{3})'))
    WHERE status_reason ~ '^foreign currency [A-Za-z]{3}: kept unconverted$'
    """,
    f"""
    UPDATE billing_payment pay
    SET reason_code = 'conflicting_reference', status_reason = '',
        reason_params = jsonb_build_object('referenced', substring(pay.status_reason FROM 'the text names ([0-9]+)'),
                                           'policy_no', COALESCE({ASSIGNED}, ''))
    WHERE pay.status_reason ~ '^conflicting reference: the text names [0-9]+$'
    """,
    """
    UPDATE billing_payment
    SET reason_code = 'overpayment_nothing_due', status_reason = '',
        reason_params = jsonb_build_object(
            'excess', substring(status_reason FROM '^over-payment of ([0-9.]+) on'),
            'policy_no', substring(status_reason FROM ' on ([0-9]+): nothing left due'))
    WHERE status_reason ~ '^over-payment of [0-9.]+ on [0-9]+: nothing left due; refund$'
    """,
]


class Migration(migrations.Migration):
    dependencies = [("billing", "0013_partial_rules_and_reason_codes"), ("policies", "0001_initial")]
    operations = [
        migrations.RunPython(shipped_rules_accept_partial, migrations.RunPython.noop),
        *[migrations.RunSQL(sql, migrations.RunSQL.noop) for sql in REASONS_SQL],
    ]
