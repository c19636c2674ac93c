"""The administrators' catch-up from the operations page: every business date not yet run, up to
today, started in the background (the beat task's own entry point), with its progress read from
the runs' own rows (a page that polls it shows which date and step is being worked, and how many
chunks of it are done)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Q
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import operation_record
from core.dates import business_today
from core.errors import ApplicationError
from renewals.models import ChunkRun, NightlyRun, StepRun


@dataclass(frozen=True)
class CatchUpProgress:
    today: dt.date
    latest_finished: dt.date | None
    dates_left: int  # business dates after the latest finished one, through today
    running: NightlyRun | None
    step: StepRun | None  # the running run's step being worked
    step_position: int
    steps_total: int
    chunks_done: int
    chunks_total: int
    failed: NightlyRun | None  # the earliest unfinished run that failed: the catch-up stops there

    @property
    def percent(self) -> int:
        """Of the current date: steps finished, the running step's chunks counted in."""
        if not self.steps_total:
            return 0
        share = (self.chunks_done / self.chunks_total) if self.chunks_total else 0
        return min(100, int(100 * (self.step_position - 1 + share) / self.steps_total))


def catch_up_progress(*, today: dt.date | None = None) -> CatchUpProgress:
    from renewals.services.steps import STEPS

    today = today or business_today()
    latest = NightlyRun.objects.filter(status=NightlyRun.Status.FINISHED).aggregate(latest=Max("as_of"))["latest"]
    left = max((today - latest).days, 0) if latest else 1
    running = NightlyRun.objects.filter(status=NightlyRun.Status.RUNNING).order_by("as_of").first()
    failed = NightlyRun.objects.filter(status=NightlyRun.Status.FAILED).order_by("as_of").first()
    step = None
    done = total = 0
    if running is not None:
        step = running.steps.exclude(status=StepRun.Status.FINISHED).order_by("position").first()
        if step is not None:
            counts = ChunkRun.objects.filter(step=step).aggregate(total=Count("pk"), done=Count("pk", filter=Q(done=True)))
            done, total = counts["done"], counts["total"]
    position = step.position if step is not None else 0
    return CatchUpProgress(today=today, latest_finished=latest, dates_left=left, running=running, step=step,
                           step_position=position, steps_total=len(STEPS), chunks_done=done, chunks_total=total,
                           failed=failed)


def catch_up_start(*, actor, enqueue, today: dt.date | None = None) -> int:
    """Start the catch-up in the background; returns the number of dates it will run. Refused
    while a run is going or a failed one waits to be resumed (resume it first: its error is shown)."""
    if not actor.has_perm(perm("view_operations")):
        raise ApplicationError(_("You may not run the nightly pipeline."), status=403)
    progress = catch_up_progress(today=today)
    if progress.running is not None:
        raise ApplicationError(_("The run for %(day)s is going; wait for it to finish.")
                               % {"day": progress.running.as_of.isoformat()})
    if progress.failed is not None:
        raise ApplicationError(_("The run for %(day)s failed: resume it first.")
                               % {"day": progress.failed.as_of.isoformat()})
    if progress.dates_left == 0:
        raise ApplicationError(_("Every night through %(day)s has run: nothing to catch up.")
                               % {"day": progress.today.isoformat()})
    operation_record(action="nightly_catch_up", object_type="nightly_run", object_ref=progress.today.isoformat(),
                     details={"until": progress.today.isoformat(), "dates": progress.dates_left},
                     actor=actor)
    enqueue()
    return progress.dates_left
