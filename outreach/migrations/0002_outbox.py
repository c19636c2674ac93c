"""The outbox's own shape: a planned time instead of a date (existing rows at 08:00 Asia/Shanghai,
the start of the day's window), the new statuses with a reason, the sending fields; templates
and contact windows."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

STATUS_CHOICES = [("planned", "Planned"), ("waiting_window", "Waiting for a window"), ("sending", "Sending"),
                  ("sent", "Sent"), ("delivered", "Delivered"), ("failed", "Failed"), ("bounced", "Bounced"),
                  ("cancelled", "Cancelled"), ("suppressed", "Suppressed")]
REASON_CHOICES = [("", "None"), ("opted_out", "Opted out"), ("capped", "Weekly cap reached"),
                  ("no_channel", "No working channel"), ("paid", "Paid"), ("deceased", "Deceased"),
                  ("installment_cancelled", "Installment cancelled"),
                  ("over_cap_urgent", "Urgent: over the weekly cap by one")]

# One UPDATE per row (a second one in the same transaction would queue deferred foreign-key checks
# and block the DDL after it). The planned date becomes 08:00 Asia/Shanghai, the start of the day's
# window. Old statuses: planned -> planned, sent -> sent (sent at the planned time: the best we
# know), cancelled -> cancelled with the reason installment_cancelled (renewals cancelled only the
# contacts of installments a servicing change cancelled).
FORWARD_SQL = """
UPDATE outreach_plannedcontact SET
    planned_at = (planned_for + time '08:00') AT TIME ZONE 'Asia/Shanghai',
    reason = CASE WHEN status = 'cancelled' THEN 'installment_cancelled' ELSE '' END,
    sent_at = CASE WHEN status = 'sent' THEN (planned_for + time '08:00') AT TIME ZONE 'Asia/Shanghai' END
"""
BACKWARD_SQL = "UPDATE outreach_plannedcontact SET planned_for = (planned_at AT TIME ZONE 'Asia/Shanghai')::date"


class Migration(migrations.Migration):

    dependencies = [
        ("outreach", "0001_planned_contact_from_renewals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("policies", "0007_feed_status_sales_channel"),
    ]

    operations = [
        migrations.AddField(
            model_name="plannedcontact",
            name="planned_at",
            field=models.DateTimeField(null=True, verbose_name="Planned for"),
        ),
        migrations.AlterField(
            model_name="plannedcontact",
            name="status",
            field=models.CharField(choices=STATUS_CHOICES, default="planned", max_length=16, verbose_name="Status"),
        ),
        migrations.AlterField(
            model_name="plannedcontact",
            name="stage_code",
            field=models.CharField(blank=True, max_length=16, verbose_name="Step"),
        ),
        migrations.AddField(
            model_name="plannedcontact",
            name="reason",
            field=models.CharField(blank=True, choices=REASON_CHOICES, default="", max_length=24, verbose_name="Reason"),
        ),
        migrations.AddField(model_name="plannedcontact", name="address",
                            field=models.CharField(blank=True, max_length=254, verbose_name="Address")),
        migrations.AddField(model_name="plannedcontact", name="provider_ref",
                            field=models.CharField(blank=True, max_length=64, verbose_name="Provider reference")),
        migrations.AddField(model_name="plannedcontact", name="attempts",
                            field=models.PositiveSmallIntegerField(default=0, verbose_name="Attempts")),
        migrations.AddField(model_name="plannedcontact", name="error",
                            field=models.CharField(blank=True, max_length=256, verbose_name="Error")),
        migrations.AddField(model_name="plannedcontact", name="sent_at",
                            field=models.DateTimeField(blank=True, null=True, verbose_name="Sent")),
        migrations.AddField(model_name="plannedcontact", name="delivered_at",
                            field=models.DateTimeField(blank=True, null=True, verbose_name="Delivered")),
        migrations.AddField(model_name="plannedcontact", name="updated_at",
                            field=models.DateTimeField(auto_now=True)),
        migrations.RunSQL(FORWARD_SQL, BACKWARD_SQL),
        migrations.AlterField(
            model_name="plannedcontact",
            name="planned_at",
            field=models.DateTimeField(verbose_name="Planned for"),
        ),
        migrations.RemoveIndex(model_name="plannedcontact", name="planned_contact_due"),
        migrations.RemoveField(model_name="plannedcontact", name="planned_for"),
        migrations.AddIndex(model_name="plannedcontact",
                            index=models.Index(fields=["status", "planned_at"], name="planned_contact_due")),
        migrations.AddIndex(model_name="plannedcontact",
                            index=models.Index(fields=["policy", "planned_at"], name="planned_contact_policy")),
        migrations.CreateModel(
            name="ContactWindow",
            fields=[
                ("customer", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                                  related_name="contact_window", serialize=False,
                                                  to="policies.customer")),
                ("time_zone", models.CharField(default="Asia/Shanghai", max_length=40, verbose_name="Time zone")),
                ("start", models.TimeField(blank=True, null=True, verbose_name="Not before")),
                ("end", models.TimeField(blank=True, null=True, verbose_name="Not after")),
            ],
            options={"verbose_name": "Contact window", "verbose_name_plural": "Contact windows"},
        ),
        migrations.CreateModel(
            name="MessageTemplate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel", models.CharField(max_length=8, verbose_name="Channel")),
                ("kind", models.CharField(default="reminder", max_length=12, verbose_name="Kind")),
                ("language", models.CharField(default="zh-hans", max_length=8, verbose_name="Language")),
                ("version", models.PositiveIntegerField(verbose_name="Version")),
                ("subject", models.CharField(blank=True, max_length=200, verbose_name="Subject")),
                ("body", models.TextField(verbose_name="Body")),
                ("provider_template_code", models.CharField(blank=True, max_length=32,
                                                            verbose_name="Provider template code")),
                ("sign_name", models.CharField(blank=True, max_length=32, verbose_name="Sign name")),
                ("active", models.BooleanField(default=True, verbose_name="Active")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                                 related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "verbose_name": "Message template",
                "verbose_name_plural": "Message templates",
                "constraints": [models.UniqueConstraint(fields=("channel", "kind", "language", "version"),
                                                        name="message_template_version")],
            },
        ),
        migrations.AddField(
            model_name="plannedcontact",
            name="template_version",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="outreach.messagetemplate", verbose_name="Template version"),
        ),
    ]
