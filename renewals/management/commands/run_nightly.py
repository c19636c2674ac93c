from core.commands import ReportCommand
from core.dates import parse_date
from core.errors import ApplicationError
from renewals.services.pipeline import nightly_report, nightly_run


class Command(ReportCommand):
    help = "Run the whole nightly pipeline for a business date (interfaces.md); idempotent."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--as-of", required=True, help="business date YYYY-MM-DD")
        parser.add_argument("--no-workers", action="store_true", help="do every chunk in this process")

    def handle(self, *args, as_of, no_workers, json, **options):
        try:
            as_of_date = parse_date(as_of)
            enqueue = None
            if not no_workers:
                from renewals.tasks import _enqueue as enqueue
            run = nightly_run(as_of=as_of_date, enqueue=enqueue)
        except (ValueError, ApplicationError) as exc:
            self.fail(str(getattr(exc, "message", "") or exc), json_output=json)
        report = nightly_report(run)
        summary = "\n".join([f"nightly run {report['as_of']}: {run.status}"] + [
            f"  {s['step']:<22} {s['rows']:>9} rows {s['seconds']:>8.2f} s" for s in report["steps"]])
        self.finish(report, json_output=json, rejected=0, summary=summary)
