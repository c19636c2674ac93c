from core.commands import ReportCommand
from core.dates import parse_date
from renewals.selectors import business_date_last_run
from reporting.services.snapshot import kpi_rebuild_all


class Command(ReportCommand):
    help = ("Rebuild every KPI fact from the money, the status history and the debit lines, as of the last "
            "nightly run's date (or --as-of): each chunk of policies is recomputed set-based, in its own "
            "transaction. For a database whose history predates the reporting step, or after a fix.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--as-of", dest="as_of", help="business date, YYYY-MM-DD (default: the last run's)")
        parser.add_argument("--workers", type=int, default=2, help="chunks rebuilt at a time (default 2)")

    def handle(self, *args, as_of, json, workers, **options):
        try:
            day = parse_date(as_of) if as_of else business_date_last_run()[0]
        except ValueError as exc:
            self.fail(str(exc), json_output=json)
        if day is None:
            self.fail("no nightly run yet: give --as-of", json_output=json)
        rows = kpi_rebuild_all(as_of=day, workers=workers)
        report = {"as_of": day.isoformat(), "fact_rows": rows}
        self.finish(report, json_output=json, rejected=0, summary=f"KPI facts rebuilt as of {day}: {rows} rows")
