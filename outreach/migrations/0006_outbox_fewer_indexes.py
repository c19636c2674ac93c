"""The outbox's single-column foreign-key indexes go: planned_contact_policy leads with the
policy and planned_contact_once with the installment (one index fewer to write per contact)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('outreach', '0005_dispatch_safety_consent'),
    ]

    operations = [
        migrations.AlterField(
            model_name='plannedcontact',
            name='installment',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='billing.installment'),
        ),
        migrations.AlterField(
            model_name='plannedcontact',
            name='policy',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='planned_contacts', to='policies.policy'),
        ),
    ]
