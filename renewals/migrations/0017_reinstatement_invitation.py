from django.db import migrations, models

# The default plan's reinstatement invitation (issue 16, DESIGN.md section 3: "G+1 | lapse, then a
# lapse notice and a reinstatement invitation"): the day after the lapse date (R+1), a message on the
# customer's channel to a policy still lapsed and inside its reinstatement window. Its delivery report
# is kept as evidence like the lapse notice's (OUTREACH_PROOF_STAGES names the step code R+1).
R1_STEP = {"code": "R+1", "anchor": "lapse", "offset_days": 1, "action": "reminder",
           "case_type": "reinstatement_invitation"}

ANCHOR_CHOICES = [("due", "Due date (T)"), ("grace_end", "End of grace (G)"), ("lapse", "Lapse date (R)"),
                  ("daily", "Every night while the condition holds")]


def create(apps, schema_editor):
    """Adds the step to the default plan once (also called by renewals' tests after a flush)."""
    Plan = apps.get_model("renewals", "CollectionPlan")
    Step = apps.get_model("renewals", "PlanStep")
    plan = Plan.objects.filter(is_default=True).first()
    if plan is None or Step.objects.filter(plan=plan, code=R1_STEP["code"], action=R1_STEP["action"]).exists():
        return
    Step.objects.create(plan=plan, **R1_STEP)


def remove(apps, schema_editor):
    # a step is switched off, never deleted (the outbox keeps its id): backwards, only if never used
    Step = apps.get_model("renewals", "PlanStep")
    PlannedContact = apps.get_model("outreach", "PlannedContact")
    for step in Step.objects.filter(plan__is_default=True, code=R1_STEP["code"], anchor=R1_STEP["anchor"]):
        if PlannedContact.objects.filter(step_id=step.pk).exists():
            Step.objects.filter(pk=step.pk).update(active=False, anchor="grace_end", offset_days=2)
        else:
            step.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("renewals", "0016_call_script_wording"),
        ("outreach", "0011_sent_at_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="planstep",
            name="anchor",
            field=models.CharField(choices=ANCHOR_CHOICES, max_length=10, verbose_name="Anchor"),
        ),
        migrations.AlterField(
            model_name="planstepevent",
            name="anchor",
            field=models.CharField(choices=ANCHOR_CHOICES, max_length=10, verbose_name="Anchor"),
        ),
        migrations.RunPython(create, remove),
    ]
