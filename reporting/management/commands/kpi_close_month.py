from core.commands import ReportCommand
from core.dates import parse_date
from core.errors import ApplicationError
from reporting.services.closing import month_close


class Command(ReportCommand):
    help = "Close a month: freeze its KPIs as reported (later changes show as restatements beside them)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--month", required=True, help="YYYY-MM")

    def handle(self, *args, month, json, **options):
        try:
            closed = month_close(month=parse_date(f"{month}-01"))
        except (ValueError, ApplicationError) as exc:
            self.fail(str(getattr(exc, "message", "") or exc), json_output=json)
        report = {"month": closed.month.isoformat()[:7], "as_of": closed.as_of.isoformat(),
                  "collection_rate": closed.figures["all"]["collection_rate"]}
        self.finish(report, json_output=json, rejected=0,
                    summary=f"{report['month']} closed as of {report['as_of']}")
