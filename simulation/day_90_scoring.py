"""The demo's lapse-risk model: on the span's last date, a model trained on the demo's own history,
approved by the administrator, and every in-force policy scored (the nightly step then keeps the
scores fresh on the following nights).

The demo's history is shorter than the model's 90-day horizon (120 days by default), so its
labels are cut at the last date (a lapse seen by then) and its training outcomes overlap its test
dates; the version says so on the models page. No gradient boosting here (its comparison is the
command's and the bench's): a few seconds for the whole day."""

import datetime as dt

from django.contrib.auth import get_user_model

from audit.services import audit_context
from core.errors import ApplicationError
from scoring.services.models import dataset_from_history, model_train, model_version_approve, snapshot_dates, time_split
from scoring.services.scores import lapse_risk_score_all

STEP_DAYS = 7
OBSERVED_DAYS = 30  # a snapshot date needs at least this many days of outcome after it


def day(*, world, day, previous, end, cast, counts, working):
    if day != end:
        return
    first, last = world.start, end - dt.timedelta(days=OBSERVED_DAYS)
    dates = snapshot_dates(first=first, last=last, step_days=STEP_DAYS)
    if len(dates) < 2:
        counts["lapse_model_skipped"] += 1
        return
    cut = max(1, round(len(dates) * 0.6))
    train_until, test_from = dates[cut - 1], dates[min(cut, len(dates) - 1)]
    admin = get_user_model().objects.filter(username="admin").first()
    with audit_context(business_date=day.isoformat()):
        try:
            data = dataset_from_history(dates=dates, known_until=end)
            train, test = time_split(data, train_until=train_until, test_from=test_from, allow_overlap=True)
            version = model_train(train=train, test=test, seed=world.seed, source="history", train_from=first,
                                  train_until=train_until, test_from=test_from, test_until=dates[-1],
                                  allow_overlap=True, try_boosting=False,
                                  notes={"labels_known_until": end.isoformat()})
            if admin is not None:
                model_version_approve(version=version, actor=admin)
                counts["policies_scored"] += lapse_risk_score_all(as_of=day)
        except ApplicationError:
            counts["lapse_model_skipped"] += 1  # a tiny demo with no lapse to learn from
