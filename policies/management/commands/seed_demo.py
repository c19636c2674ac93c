from core.commands import ReportCommand
from core.dates import business_today, parse_date
from policies.services.demo import demo_portfolio_seed


class Command(ReportCommand):
    help = "A deterministic demo portfolio as of a date: the same N, seed and date give the same data."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--policies", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in Asia/Shanghai)")

    def handle(self, *args, policies, seed, as_of, json, **options):
        try:
            as_of_date = parse_date(as_of) if as_of else business_today()
        except ValueError as exc:
            self.fail(str(exc), json_output=json)
        if policies < 0:
            self.fail("--policies must be 0 or more", json_output=json)
        totals = demo_portfolio_seed(count=policies, seed=seed, as_of=as_of_date)
        report = {"as_of": as_of_date.isoformat(), "policies": policies, "seed": seed} | totals
        self.finish(report, json_output=json, rejected=0,
                    summary=f"demo portfolio as of {as_of_date}: {totals['created']} created, "
                            f"{totals['updated']} updated")
