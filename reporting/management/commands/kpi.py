import json as json_module

from core.commands import ReportCommand
from core.dates import parse_date
from reporting.selectors import BY_CHOICES, KPIS, kpi_json, kpi_table


class Command(ReportCommand):
    help = ("KPIs of a period from the nightly snapshots (issue 15): collection rate, payment success rate, "
            "lapse rate, reinstatement rate, contact rate (provisional), 13th and 25th-month persistency.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--by", choices=BY_CHOICES, help="one row per slice")

    def handle(self, *args, date_from, date_to, by, json, **options):
        try:
            first, last = parse_date(date_from), parse_date(date_to)
        except ValueError as exc:
            self.fail(str(exc), json_output=json)
        if last < first:
            self.fail("--to is before --from", json_output=json)
        rows = kpi_json(kpi_table(date_from=first, date_to=last, by=by))
        if json:
            self.stdout.write(json_module.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            name = ", ".join(f"{k}={v}" for k, v in row["slice"].items()) or "all"
            self.stdout.write(f"{name} {row['from']}..{row['to']} (data as of {row['data_as_of']})")
            for kpi in KPIS:
                figure = row[kpi]
                self.stdout.write(f"  {kpi}: {figure['numerator']} / {figure['denominator']} = {figure['rate']}")
