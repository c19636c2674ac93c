from django.db import migrations


def create(apps, schema_editor):
    from outreach.templates_default import BUDGET_DEFAULTS, CHANNEL_DEFAULTS

    MessageTemplate = apps.get_model("outreach", "MessageTemplate")
    ChannelBudget = apps.get_model("outreach", "ChannelBudget")
    for row in CHANNEL_DEFAULTS:
        # the voice provider approves its TTS templates like SMS ones
        approval = "approved" if row["channel"] == "phone" else "not_needed"
        MessageTemplate.objects.get_or_create(channel=row["channel"], kind=row["kind"], language=row["language"],
                                              version=1, defaults={**row, "active": True, "approval": approval})
    for row in BUDGET_DEFAULTS:
        ChannelBudget.objects.get_or_create(channel=row["channel"], defaults=row)


class Migration(migrations.Migration):

    dependencies = [("outreach", "0009_channels")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
