"""Options for the trail's event tables (django-pghistory).

An event table copies the tracked model's foreign keys as plain columns. They are not indexed
(PGHISTORY_FOREIGN_KEY_FIELD in the settings): every index costs each trail row written, and a
nightly step or a statement import writes hundreds of thousands of them. The one kept is the
policy's, which the policy page's trail reads (pghistory's Events.references(policy)).
"""

import pghistory
import pgtrigger
from django.db import models
from pghistory import trigger as pghistory_trigger


def policy_reference_meta(name: str) -> dict:
    """Meta options of the event model of a model with a `policy` foreign key."""
    return {"indexes": [models.Index(fields=["policy"], name=name)]}

# Inserts are tracked by statement-level triggers (InsertEvent(..., level=pgtrigger.Statement)):
# one INSERT ... SELECT from the statement's transition table instead of a trigger call per row.
# Updates likewise (StatementUpdateEvent below), with one difference: an update event compares the
# old and new transition tables in a join, and a join written in the trigger function is planned
# once per session and cached; a plan made for a one-row update (a nested loop) took minutes on a
# 24,000-row update (bench/RESULTS.md part 2). The join is therefore run through EXECUTE, planned
# for each statement with the transition tables' true sizes.


class _PlannedStatementEvent(pghistory_trigger.Event):
    """pghistory's statement-level event trigger, its INSERT ... SELECT run through EXECUTE."""

    def get_func(self, model):
        func = super().get_func(model)
        sql = func.func
        assert self.level == pgtrigger.Statement and sql.endswith("; RETURN NULL;"), sql
        return pgtrigger.Func(f"EXECUTE $pgh_event$ {sql[:-len('; RETURN NULL;')]} $pgh_event$; RETURN NULL;")


class StatementUpdateEvent(pghistory.UpdateEvent):
    """An update event written once per UPDATE statement, from its transition tables, for the
    rows whose tracked fields (or `condition`) changed: a nightly step or a statement import
    updating 600,000 policies calls one function instead of 600,000."""

    level = pgtrigger.Statement

    def add_event_trigger(self, event_model):
        pgtrigger.register(
            _PlannedStatementEvent(event_model=event_model, label=self.label, name=self.trigger_name, row=self.row,
                                   operation=self.operation, condition=self.condition, level=self.level)
        )(event_model.pgh_tracked_model)

def trail_meta(prefix: str, *, policy: bool = False, manual: tuple[str, ...] = ()) -> dict:
    """Meta options of an event model as the auditor's ledger reads it (audit.selectors.trail_page):
    newest first, keyset by (pgh_created_at, pgh_id), each event table read with a LIMIT along
    this index. The index grows at its right edge only (rows are appended in time order), the
    cheapest kind to keep. With policy=True also the policy's index of policy_reference_meta.
    `manual`: the labels of the model's rare manual events (reveal, access_denied), which the
    auditor filters on; a partial index holds only those rows, so it costs the bulk writes nothing."""
    indexes = [models.Index(fields=["pgh_created_at", "pgh_id"], name=f"{prefix}_event_ledger")]
    if manual:
        indexes.append(models.Index(fields=["pgh_label", "pgh_created_at", "pgh_id"], name=f"{prefix}_event_manual",
                                    condition=models.Q(pgh_label__in=manual)))
    if policy:
        indexes += policy_reference_meta(f"{prefix}_event_policy")["indexes"]
    return {"indexes": indexes}
