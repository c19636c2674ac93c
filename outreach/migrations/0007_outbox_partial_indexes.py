"""Partial indexes: the claim reads only pending rows, receipts find contacts by the provider's BizId; no index on the template version (versions are never deleted)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('outreach', '0006_outbox_fewer_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='plannedcontact',
            name='planned_contact_due',
        ),
        migrations.AlterField(
            model_name='plannedcontact',
            name='template_version',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='outreach.messagetemplate', verbose_name='Template version'),
        ),
        migrations.AddIndex(
            model_name='plannedcontact',
            index=models.Index(condition=models.Q(('status__in', ['planned', 'waiting_window'])), fields=['planned_at'], name='planned_contact_pending_due'),
        ),
        migrations.AddIndex(
            model_name='plannedcontact',
            index=models.Index(condition=models.Q(('provider_ref', ''), _negated=True), fields=['provider_ref'], name='planned_contact_provider_ref'),
        ),
    ]
