"""Shared behaviour of our management commands: exit codes and --json (interfaces.md)."""

import json
import sys
from typing import NoReturn

from django.core.management.base import BaseCommand

EXIT_DONE, EXIT_REJECTED, EXIT_NOTHING = 0, 1, 2


class ReportCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    def finish(self, report: dict, *, json_output: bool, rejected: int, summary: str) -> None:
        if json_output:
            self.stdout.write(json.dumps(report, ensure_ascii=False, default=str))
        else:
            self.stdout.write(summary)
        if rejected:
            sys.exit(EXIT_REJECTED)

    def fail(self, message: str, *, json_output: bool) -> NoReturn:
        if json_output:
            self.stdout.write(json.dumps({"error": message}, ensure_ascii=False))
        self.stderr.write(message)
        sys.exit(EXIT_NOTHING)
