from collections.abc import Callable

from core.commands import ReportCommand
from core.dates import business_today, parse_date
from core.errors import ApplicationError
from renewals.services.pipeline import nightly_catch_up, nightly_report, nightly_run


class Command(ReportCommand):
    help = "Run the whole nightly pipeline for a business date (interfaces.md); idempotent."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--as-of", help="business date YYYY-MM-DD")
        parser.add_argument("--catch-up", action="store_true",
                            help="every date since the last finished night through --as-of (default today), in order")
        parser.add_argument("--no-workers", action="store_true", help="do every chunk in this process")

    def handle(self, *args, as_of, catch_up, no_workers, json, **options):
        try:
            if not as_of and not catch_up:
                raise ValueError("give --as-of YYYY-MM-DD, or --catch-up")
            as_of_date = parse_date(as_of) if as_of else business_today()
            enqueue: Callable[[int], None] | None = None
            if not no_workers:
                from renewals.tasks import _enqueue as enqueue
            if catch_up:
                runs = nightly_catch_up(until=as_of_date, enqueue=enqueue)
                reports = [nightly_report(run) for run in runs]
                summary = "\n".join(f"nightly run {r['as_of']}: {run.status}" for r, run in zip(reports, runs, strict=True))
                self.finish({"runs": reports}, json_output=json, rejected=0,
                            summary=summary or f"nothing to catch up: every night through {as_of_date} has run")
                return
            run = nightly_run(as_of=as_of_date, enqueue=enqueue)
        except (ValueError, ApplicationError) as exc:
            self.fail(str(getattr(exc, "message", "") or exc), json_output=json)
        report = nightly_report(run)
        summary = "\n".join([f"nightly run {report['as_of']}: {run.status}"] + [
            f"  {s['step']:<22} {s['rows']:>9} rows {s['seconds']:>8.2f} s" for s in report["steps"]])
        self.finish(report, json_output=json, rejected=0, summary=summary)
