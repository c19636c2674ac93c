"""Train a lapse-risk model version on a time split (a draft until an administrator approves it).

    manage.py lapse_model_train --train-until 2026-06-30 --test-from 2026-09-28 [--test-until DATE]
        [--train-from DATE] [--step-days 7] [--seed 1] [--allow-overlap] [--no-boosting]

The rows come from the product's own history (features from dated facts on every step-days-th
date, the label from the status history). To measure on the demo's behaviour model instead (a
synthetic panel with its true propensities), `manage.py lapse_model_train_panel` (simulation app).
"""

from django.core.management.base import BaseCommand, CommandError

from core.dates import parse_date
from core.errors import ApplicationError
from scoring.services.models import lapse_model_train


class Command(BaseCommand):
    help = "Train a lapse-risk model version on a time split"

    def add_arguments(self, parser):
        parser.add_argument("--train-until", required=True, type=parse_date)
        parser.add_argument("--test-from", required=True, type=parse_date)
        parser.add_argument("--test-until", type=parse_date)
        parser.add_argument("--train-from", type=parse_date)
        parser.add_argument("--step-days", type=int, default=7)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--allow-overlap", action="store_true",
                            help="let training rows' 90-day outcomes reach into the test period (short histories)")
        parser.add_argument("--no-boosting", action="store_true")

    def handle(self, *args, **o):
        try:
            version = lapse_model_train(train_until=o["train_until"], test_from=o["test_from"],
                                        test_until=o["test_until"], train_from=o["train_from"],
                                        step_days=o["step_days"], seed=o["seed"],
                                        allow_overlap=o["allow_overlap"], try_boosting=not o["no_boosting"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        m = version.metrics
        self.stdout.write(f"version {version.version} ({version.kind}, awaiting approval): train {m['train_rows']} rows, "
                          f"test {m['chosen']['rows']} rows; ROC-AUC {m['chosen']['roc_auc']}, PR-AUC {m['chosen']['pr_auc']}, "
                          f"top-decile capture {m['chosen']['top_decile_capture']}, Brier {m['chosen']['brier']}")
