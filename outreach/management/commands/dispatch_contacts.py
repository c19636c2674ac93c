import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from outreach.services.dispatch import contacts_dispatch, contacts_sending_resolve


class Command(BaseCommand):
    help = ("Resolve contacts a crashed dispatcher left in `sending`, then send the contacts due now (what the "
            "Celery task outreach.tasks.dispatch_contacts does).")

    def add_arguments(self, parser):
        parser.add_argument("--now", help="An ISO 8601 moment with its offset (default: now)")
        parser.add_argument("--channel", action="append", help="Only this channel (repeatable)")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["now"]:
            now = dt.datetime.fromisoformat(options["now"])
            if now.tzinfo is None:
                raise CommandError("--now needs an offset, e.g. 2026-12-01T08:00:00+08:00")
        counts = {**contacts_sending_resolve(now=now), **contacts_dispatch(now=now, channels=options["channel"])}
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))
