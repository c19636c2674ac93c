"""Dispatch safety (the step date, the idempotency key, pending and sending indexes), SMS template approval, the consent trail."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def approve_shipped_sms(apps, schema_editor):
    """The shipped SMS texts were approved with the provider before the first send."""
    apps.get_model("outreach", "MessageTemplate").objects.filter(channel="sms").update(approval="approved")


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0014_partial_defaults_and_reason_codes_data'),
        ('outreach', '0004_contact_log'),
        ('policies', '0007_feed_status_sales_channel'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ConsentChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('channel', models.CharField(max_length=8, verbose_name='Channel')),
                ('action', models.CharField(choices=[('opt_out', 'Opted out'), ('opt_in', 'Opted in'), ('preference', 'Preference changed')], max_length=12, verbose_name='Action')),
                ('source', models.CharField(choices=[('sms_reply', 'SMS reply'), ('email_link', 'Unsubscribe link'), ('clerk', 'Clerk'), ('feed', 'Core system')], max_length=12, verbose_name='Source')),
                ('detail', models.CharField(blank=True, max_length=256, verbose_name='Detail')),
                ('occurred_at', models.DateTimeField(verbose_name='When')),
            ],
            options={
                'verbose_name': 'Consent change',
                'verbose_name_plural': 'Consent changes',
            },
        ),
        migrations.AddField(
            model_name='messagetemplate',
            name='approval',
            field=models.CharField(choices=[('not_needed', 'Not needed'), ('pending', 'Waiting for the provider'), ('approved', 'Approved'), ('rejected', 'Rejected')], default='not_needed', max_length=12, verbose_name='Approval'),
        ),
        migrations.AddField(
            model_name='messagetemplate',
            name='approval_note',
            field=models.CharField(blank=True, max_length=256, verbose_name="Provider's answer"),
        ),
        migrations.AddField(
            model_name='messagetemplate',
            name='purpose',
            field=models.CharField(choices=[('service', 'Service notice'), ('marketing', 'Marketing')], default='service', max_length=12, verbose_name='Purpose'),
        ),
        migrations.AddField(
            model_name='plannedcontact',
            name='idempotency_key',
            field=models.CharField(blank=True, max_length=40, verbose_name='Idempotency key'),
        ),
        migrations.AddField(
            model_name='plannedcontact',
            name='step_date',
            field=models.DateField(blank=True, null=True, verbose_name='Step date'),
        ),
        migrations.AlterField(
            model_name='plannedcontact',
            name='reason',
            field=models.CharField(blank=True, choices=[('', 'None'), ('opted_out', 'Opted out'), ('capped', 'Weekly cap reached'), ('no_channel', 'No working channel'), ('paid', 'Paid'), ('deceased', 'Deceased'), ('installment_cancelled', 'Installment cancelled'), ('over_cap_urgent', 'Urgent: over the weekly cap by one'), ('on_hold', 'Collection on hold'), ('deferred', 'Premiums deferred'), ('lapsed', 'Policy lapsed'), ('ended', 'Policy no longer paying'), ('interrupted', 'Interrupted during hand-over')], default='', max_length=24, verbose_name='Reason'),
        ),
        migrations.AddIndex(
            model_name='plannedcontact',
            index=models.Index(condition=models.Q(('status__in', ['planned', 'waiting_window'])), fields=['policy'], name='planned_contact_pending'),
        ),
        migrations.AddIndex(
            model_name='plannedcontact',
            index=models.Index(condition=models.Q(('status', 'sending')), fields=['updated_at'], name='planned_contact_sending'),
        ),
        migrations.AddField(
            model_name='consentchange',
            name='actor',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='By'),
        ),
        migrations.AddField(
            model_name='consentchange',
            name='customer',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='consent_changes', to='policies.customer'),
        ),
        migrations.AddIndex(
            model_name='consentchange',
            index=models.Index(fields=['customer', 'occurred_at'], name='consent_change_customer'),
        ),
        migrations.RunPython(approve_shipped_sms, migrations.RunPython.noop),
    ]
