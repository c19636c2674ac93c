from django.core.management import call_command
from django.core.management.base import BaseCommand

from policies.services.demo import demo_users_ensure


class Command(BaseCommand):
    help = "bin/dev: the demo users, then the demo department: built the first time, finished when interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--policies", type=int, default=3000)
        parser.add_argument("--days", type=int, default=120)

    def handle(self, *args, policies, days, **options):
        demo_users_ensure()
        # the demo department is the simulation app's (rightmost in the import order): reached by
        # its command's name, never imported from here
        call_command("demo_build", policies=policies, days=days, once=True, quiet=True, stdout=self.stdout)
