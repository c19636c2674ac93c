"""Takes over renewals' PlannedContact in the state only (the table was renamed by renewals 0012):
the old shape, with the plan step as a plain id. 0002 reshapes it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("billing", "0014_partial_defaults_and_reason_codes_data"),
        ("policies", "0007_feed_status_sales_channel"),
        ("renewals", "0012_plannedcontact_to_outreach"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="PlannedContact",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("step_id", models.BigIntegerField(verbose_name="Plan step id")),
                        ("stage_code", models.CharField(blank=True, default="", max_length=16, verbose_name="Step")),
                        ("channel", models.CharField(max_length=8, verbose_name="Channel")),
                        ("kind", models.CharField(max_length=12, verbose_name="Kind")),
                        ("urgent", models.BooleanField(default=False)),
                        ("planned_for", models.DateField(verbose_name="Planned for")),
                        ("status", models.CharField(default="planned", max_length=10, verbose_name="Status")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("installment", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                                          to="billing.installment")),
                        ("policy", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                     related_name="planned_contacts", to="policies.policy")),
                    ],
                    options={
                        "verbose_name": "Planned contact",
                        "verbose_name_plural": "Planned contacts",
                        "constraints": [models.UniqueConstraint(fields=("installment", "step_id", "channel"),
                                                                name="planned_contact_once")],
                        "indexes": [models.Index(fields=["status", "planned_for"], name="planned_contact_due")],
                    },
                ),
            ],
        ),
    ]
