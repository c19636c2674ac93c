from django.core.management import call_command
from django.core.management.base import BaseCommand

from policies.models import Policy
from policies.services.demo import demo_users_ensure


class Command(BaseCommand):
    help = "bin/dev: load the demo portfolio and users the first time only."

    def add_arguments(self, parser):
        parser.add_argument("--policies", type=int, default=3000)

    def handle(self, *args, policies, **options):
        demo_users_ensure()
        if Policy.objects.exists():
            self.stdout.write("demo portfolio already loaded")
            return
        call_command("seed_demo", policies=policies, seed=1)
