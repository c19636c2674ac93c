"""Train a lapse-risk model version on the demo behaviour model's synthetic panel (measuring the
model against the true propensities; a draft until an administrator approves it).

    manage.py lapse_model_train_panel --customers 6000 --start 2025-01-01 --months 18 \
        --train-until 2026-01-31 --test-from 2026-05-01 [--test-until DATE] [--seed 1] [--allow-overlap] [--no-boosting]
"""

from django.core.management.base import BaseCommand, CommandError

from core.dates import parse_date
from core.errors import ApplicationError
from scoring.services.models import model_train, time_split
from simulation.lapse_panel import panel_generate


class Command(BaseCommand):
    help = "Train a lapse-risk model version on the behaviour model's synthetic panel"

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, required=True)
        parser.add_argument("--start", type=parse_date, required=True)
        parser.add_argument("--months", type=int, default=18)
        parser.add_argument("--train-until", required=True, type=parse_date)
        parser.add_argument("--test-from", required=True, type=parse_date)
        parser.add_argument("--test-until", type=parse_date)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--allow-overlap", action="store_true")
        parser.add_argument("--no-boosting", action="store_true")

    def handle(self, *args, **o):
        try:
            data = panel_generate(customers=o["customers"], start=o["start"], months=o["months"], seed=o["seed"])
            train, test = time_split(data, train_until=o["train_until"], test_from=o["test_from"],
                                     test_until=o["test_until"], allow_overlap=o["allow_overlap"])
            version = model_train(train=train, test=test, seed=o["seed"], source="panel", train_from=o["start"],
                                  train_until=o["train_until"], test_from=o["test_from"],
                                  test_until=o["test_until"] or o["test_from"], allow_overlap=o["allow_overlap"],
                                  try_boosting=not o["no_boosting"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        m = version.metrics
        self.stdout.write(f"version {version.version} ({version.kind}, awaiting approval): train {m['train_rows']} rows, "
                          f"test {m['chosen']['rows']} rows; ROC-AUC {m['chosen']['roc_auc']}")
