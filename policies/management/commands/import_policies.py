from pathlib import Path

from core.commands import ReportCommand
from core.dates import business_today, parse_date
from core.errors import ApplicationError
from policies.services.imports import policies_import


class Command(ReportCommand):
    help = "Import branches.csv, products.csv and policies.csv (any subset, any order; see policy-feed.md)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("files", nargs="+")
        parser.add_argument("--as-of", help="business date YYYY-MM-DD (default: today in Asia/Shanghai)")

    def handle(self, *args, files, as_of, json, **options):
        try:
            as_of_date = parse_date(as_of) if as_of else business_today()
            contents = [(Path(f).name, Path(f).read_bytes()) for f in files]
            report = policies_import(files=contents, as_of=as_of_date)
        except (ValueError, OSError, ApplicationError) as exc:
            self.fail(getattr(exc, "message", None) or str(exc), json_output=json)
        rejected = sum(f["rejected"] for f in report["files"])
        lines = [
            f"{f['file']} ({f['kind']}): {f['rows']} rows, {f['created']} created, {f['updated']} updated, "
            f"{f['unchanged']} unchanged, {f['rejected']} rejected"
            for f in report["files"]
        ]
        for f in report["files"]:
            lines += [f"  line {e['line']} [{e['key']}] {e['column']}: {e['reason']}" for e in f["errors"]]
        self.finish(report, json_output=json, rejected=rejected, summary="\n".join(lines))
