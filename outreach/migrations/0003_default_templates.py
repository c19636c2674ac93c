from django.db import migrations


def create(apps, schema_editor):
    from outreach.templates_default import DEFAULTS

    MessageTemplate = apps.get_model("outreach", "MessageTemplate")
    for row in DEFAULTS:
        MessageTemplate.objects.get_or_create(channel=row["channel"], kind="reminder", language=row["language"],
                                              version=1, defaults={**row, "active": True})


class Migration(migrations.Migration):

    dependencies = [("outreach", "0002_outbox")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
