import datetime as dt

import pytest

from renewals.services.pipeline import nightly_run


@pytest.fixture
def first_night(portfolio):
    # portfolio puts the default collection plan back where a flushed database lost it
    nightly_run(as_of=dt.date(2026, 11, 25))
