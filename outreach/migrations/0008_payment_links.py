# Payment links (issue 16, paylinks). Written by hand: only PaymentLink (other outreach model
# changes of the same issue come in their own migration).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("outreach", "0007_outbox_partial_indexes"),
        ("policies", "0010_trail_manual_events"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PaymentLink",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.CharField(max_length=16, unique=True, verbose_name="Code")),
                ("source", models.CharField(choices=[("reminder", "Reminder"), ("clerk", "Clerk")], max_length=8,
                                            verbose_name="Sent by")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField(verbose_name="Expires at")),
                ("created_by", models.ForeignKey(blank=True, db_index=False, null=True,
                                                 on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                 to=settings.AUTH_USER_MODEL)),
                ("policy", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                             related_name="payment_links", to="policies.policy")),
            ],
            options={
                "verbose_name": "Payment link",
                "verbose_name_plural": "Payment links",
                "indexes": [models.Index(fields=["policy", "expires_at"], name="payment_link_policy")],
            },
        ),
    ]
