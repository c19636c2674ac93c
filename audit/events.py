"""Options for the trail's event tables (django-pghistory).

An event table copies the tracked model's foreign keys as plain columns. They are not indexed
(PGHISTORY_FOREIGN_KEY_FIELD in the settings): every index costs each trail row written, and a
nightly step or a statement import writes hundreds of thousands of them. The one kept is the
policy's, which the policy page's trail reads (pghistory's Events.references(policy)).
"""

from django.db import models


def policy_reference_meta(name: str) -> dict:
    """Meta options of the event model of a model with a `policy` foreign key."""
    return {"indexes": [models.Index(fields=["policy"], name=name)]}

# Inserts are tracked by statement-level triggers (InsertEvent(..., level=pgtrigger.Statement)):
# one INSERT ... SELECT from the statement's transition table instead of a trigger call per row.
# Updates stay row-level: a statement-level update event compares the old and new transition
# tables in a join whose plan PostgreSQL caches in the trigger function, and a plan made for a
# one-row update (a nested loop) took minutes on a 24,000-row update (bench/RESULTS.md).
