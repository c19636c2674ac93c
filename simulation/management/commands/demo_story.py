import json as jsonlib

from django.core.management.base import BaseCommand

from simulation.selectors import demo_applications, demo_story, demo_suspense_reasons
from simulation.services import demo_build_current


class Command(BaseCommand):
    help = "A few policy numbers for each situation of the demo's story (open them on the policy page)."

    def add_arguments(self, parser):
        parser.add_argument("--per-situation", type=int, default=3)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, per_situation, json, **options):
        story = demo_story(per_situation=per_situation)
        if json:
            self.stdout.write(jsonlib.dumps(story, ensure_ascii=False))
            return
        build = demo_build_current()
        if build is not None:
            self.stdout.write(f"demo: {build.policies} policies, seed {build.seed}, business dates "
                              f"{build.start}..{build.end} ({build.status}, built {build.finished_at or '-'})")
        for name, item in story.items():
            numbers = ", ".join(item["policies"]) or "(none)"
            self.stdout.write(f"{name:<26} {item['count']:>5}  {numbers}\n{'':<33}{item['description']}")
        self.stdout.write("\nsuspense, proposals, kept and refunded money by reason:")
        for status, reason, count, total in demo_suspense_reasons():
            self.stdout.write(f"  {status:<10} {count:>4} {total:>12}  {reason or '-'}")
        self.stdout.write("\napplications by kind and status:")
        for kind, status, count in demo_applications():
            self.stdout.write(f"  {kind:<16} {status:<10} {count:>4}")
