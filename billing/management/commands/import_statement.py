from pathlib import Path

from billing.importers.base import UnreadableFile
from billing.services.statements import FORMATS, statement_import
from core.commands import ReportCommand
from core.dates import business_today
from core.errors import ApplicationError


class Command(ReportCommand):
    help = "Import a bank statement, a payment-platform bill or a debit-result file (interfaces.md)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--template", help="CSV column template: generic, cn-online-banking or a saved one")
        parser.add_argument("--account", help="our receiving account (default: the configured main account)")

    def handle(self, *args, file, format, template, account, json, **options):
        path = Path(file)
        try:
            data = path.read_bytes()
            report = statement_import(name=path.name, data=data, format=format, template=template,
                                      account_no=account, as_of=business_today())
        except (OSError, UnreadableFile, ApplicationError) as exc:
            self.fail(str(getattr(exc, "message", "") or exc), json_output=json)
        summary = (f"{report['file']} ({report['format']}): {report['lines']} lines, {report['new']} new, "
                   f"{report['duplicate']} duplicate; credit {report['total_credit']}, debit {report['total_debit']}; "
                   f"{report['matched']} matched, {report['proposed']} proposed, {report['suspense']} to suspense, "
                   f"{report['rejected']} rejected")
        lines = [summary] + [f"  line {e['line']}: {e['reason']}" for e in report["errors"]]
        self.finish(report, json_output=json, rejected=report["rejected"], summary="\n".join(lines))
