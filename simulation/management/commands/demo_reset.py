from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from simulation.services import DEFAULT_DAYS, demo_reset


class Command(BaseCommand):
    help = ("Drop EVERYTHING in the database (schema, data, trail), migrate and build the demo again. "
            "For development databases only.")

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="do not ask")
        parser.add_argument("--policies", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
        parser.add_argument("--end", help="last business date YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--no-build", action="store_true", help="only empty and migrate")

    def handle(self, *args, yes, policies, seed, days, end, no_build, **options):
        name = settings.DATABASES["default"]["NAME"]
        if not yes:
            answer = input(f"Everything in database {name!r} will be deleted. Type the database name to go on: ")
            if answer.strip() != name:
                raise CommandError("nothing done")
        demo_reset()
        self.stdout.write(f"database {name} emptied and migrated")
        if not no_build:
            options = {"policies": policies, "seed": seed, "days": days}
            if end:
                options["end"] = end
            call_command("demo_build", **options, stdout=self.stdout)
