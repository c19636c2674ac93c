import datetime as dt
import functools

import pytest

from scoring.services.models import model_train, time_split

START = dt.date(2025, 1, 1)
TRAIN_UNTIL = dt.date(2025, 6, 30)  # + 90 days = 2025-09-28
TEST_FROM = dt.date(2025, 9, 28)


@functools.cache
def small_panel():
    """About 4,000 rows over 13 months from the behaviour model (a second or two, made once)."""
    from simulation.lapse_panel import panel_generate

    return panel_generate(customers=500, start=START, months=13, seed=3)


def train_version(*, seed: int = 1, actor=None, try_boosting: bool = False):
    train, test = time_split(small_panel(), train_until=TRAIN_UNTIL, test_from=TEST_FROM)
    return model_train(train=train, test=test, seed=seed, source="panel", actor=actor, train_from=START,
                       train_until=TRAIN_UNTIL, test_from=TEST_FROM, test_until=dt.date(2025, 12, 31),
                       try_boosting=try_boosting)


@pytest.fixture
def version(db):
    return train_version()


@pytest.fixture
def admin(make_user):
    return make_user("admin_scoring", ["admin"])
