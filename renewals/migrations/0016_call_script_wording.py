"""The shipped script for younger customers named placeholders no one fills ("第 N 期",
"{宽限期截止日}"): the clerk reads the grace end from the case page's installments instead. A script
a team lead has edited since is left alone."""

from django.db import migrations

OLD = "2. 说明情况：您的保单第 N 期保费已逾期，宽限期至 {宽限期截止日}，过期保单将中止。"
NEW = "2. 说明情况：您的保单有一期保费已逾期，请在宽限期最后一天（见本页分期表）前缴费，逾期未缴保单将中止。"


def forwards(apps, schema_editor):
    CallScript = apps.get_model("renewals", "CallScript")
    for script in CallScript.objects.filter(audience="younger", language="zh-hans", text__contains=OLD):
        script.text = script.text.replace(OLD, NEW)
        script.save(update_fields=["text"])


def backwards(apps, schema_editor):
    CallScript = apps.get_model("renewals", "CallScript")
    for script in CallScript.objects.filter(audience="younger", language="zh-hans", text__contains=NEW):
        script.text = script.text.replace(NEW, OLD)
        script.save(update_fields=["text"])


class Migration(migrations.Migration):
    dependencies = [("renewals", "0015_plan_step_min_lapse_risk")]
    operations = [migrations.RunPython(forwards, backwards)]
