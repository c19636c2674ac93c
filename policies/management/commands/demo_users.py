from django.core.management.base import BaseCommand

from policies.services.demo import DEMO_PASSWORD, demo_users_ensure


class Command(BaseCommand):
    help = "Create (or refresh) one demo user per role; --list prints them."

    def add_arguments(self, parser):
        parser.add_argument("--list", action="store_true")
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args, list, password, **options):
        for username, roles, branches in demo_users_ensure(password=password):
            if list:
                self.stdout.write(f"    {username:<12} {roles:<14} {branches}")
