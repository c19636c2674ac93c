import datetime as dt

import pytest

from renewals.services.pipeline import nightly_run


@pytest.fixture
def first_night(portfolio):
    from renewals.models import CollectionPlan

    if not CollectionPlan.objects.filter(is_default=True).exists():  # a flushed database lost the migration's rows
        from importlib import import_module

        from django.apps import apps
        import_module("renewals.migrations.0005_default_plan").create(apps, None)
        import_module("renewals.migrations.0015_plan_step_min_lapse_risk").create(apps, None)
        import_module("renewals.migrations.0017_reinstatement_invitation").create(apps, None)
    nightly_run(as_of=dt.date(2026, 11, 25))
