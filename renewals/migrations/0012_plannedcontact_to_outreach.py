"""PlannedContact moves to outreach (issue 13): a state move and a table rename, no copy of rows.

Renewals may import outreach, never the reverse, so the contact keeps the plan step as plain
values: the step's code is copied here while the step is still a foreign key, then the key's
constraint and index are dropped (plan steps are deactivated, not deleted, so the id stays
meaningful). outreach 0001 takes the model over in the state; outreach 0002 reshapes the table.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("renewals", "0011_chunk_failures"),
    ]

    operations = [
        migrations.AddField(
            model_name="plannedcontact",
            name="stage_code",
            field=models.CharField(blank=True, default="", max_length=16, verbose_name="Step"),
        ),
        migrations.RunSQL(
            "UPDATE renewals_plannedcontact c SET stage_code = s.code FROM renewals_planstep s WHERE s.id = c.step_id",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="plannedcontact",
            name="step",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING,
                                    related_name="+", to="renewals.planstep"),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="plannedcontact", table="outreach_plannedcontact"),
            ],
            state_operations=[
                migrations.DeleteModel(name="plannedcontact"),
            ],
        ),
    ]
