import time

from core.commands import ReportCommand
from core.dates import parse_date
from core.errors import ApplicationError
from policies.models import Policy
from simulation.models import DemoBuild
from simulation.services import DEFAULT_DAYS, demo_build, demo_build_current


class Command(ReportCommand):
    help = ("Build the demo department: the demo portfolio, then the product run over every business date of a "
            "span ending yesterday. An interrupted build continues; a complete one is left as it is.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--policies", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="length of the span in days (120)")
        parser.add_argument("--end", help="last business date YYYY-MM-DD (default: yesterday, Asia/Shanghai)")
        parser.add_argument("--quiet", action="store_true", help="no line per day")
        parser.add_argument("--once", action="store_true",
                            help="bin/dev: a database with a portfolio that no demo build made is left alone")

    def handle(self, *args, policies, seed, days, end, quiet, once, json, **options):
        began = time.perf_counter()
        build = demo_build_current()
        if build is not None and build.status == DemoBuild.Status.COMPLETE:
            self.stdout.write(f"demo department already built ({build.policies} policies, {build.start}..{build.end});"
                              " manage.py demo_reset rebuilds it")
            return
        if once and build is None and Policy.objects.exists():
            self.stdout.write("a portfolio without demo history is loaded; manage.py demo_reset builds the demo")
            return
        if build is not None:
            self.stdout.write(f"continuing the demo build of {build.start}..{build.end} "
                              f"({build.days.count()} of {(build.end - build.start).days + 1} days done)")

        def progress(day, counts):
            if not quiet and not json:
                self.stdout.write(f"  {day.isoformat()} {day:%a} " + " ".join(
                    f"{k}={v}" for k, v in sorted(counts.items()) if v), ending="\n")

        try:
            build = demo_build(policies=policies, seed=seed, days=days, end=parse_date(end) if end else None,
                               progress=progress)
        except (ApplicationError, ValueError) as exc:
            self.fail(str(exc), json_output=json)
            return  # not reached (fail exits); it tells mypy that `build` is the build made
        seconds = round(time.perf_counter() - began, 1)
        report = {"policies": build.policies, "seed": build.seed, "start": build.start.isoformat(),
                  "end": build.end.isoformat(), "status": build.status, "seconds": seconds}
        self.finish(report, json_output=json, rejected=0,
                    summary=f"demo {build.status}: {build.policies} policies, seed {build.seed}, "
                            f"{build.start}..{build.end} ({seconds} s)")
