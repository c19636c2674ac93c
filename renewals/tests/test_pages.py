import datetime as dt

import pytest

from renewals.models import NightlyRun
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db


def test_operations_page_shows_runs_to_a_team_lead_and_not_to_a_clerk(portfolio, make_user, client):
    nightly_run(as_of=dt.date(2026, 11, 25))
    client.force_login(make_user("lead_ops", ["team_lead"], ["GD"]))
    page = client.get("/renewals/operations/").content.decode()
    assert "2026-11-25" in page and "lapse" in page
    client.force_login(make_user("clerk_ops", ["clerk"], ["GD-GZ"]))
    assert client.get("/renewals/operations/").status_code == 403


def test_due_lists_are_branch_scoped_and_export(portfolio, make_user, client):
    nightly_run(as_of=dt.date(2026, 11, 25))
    assert NightlyRun.objects.get().status == "finished"
    client.force_login(make_user("clerk_due", ["clerk"], ["GD-GZ"]))
    year = client.get("/renewals/due/?window=year").content.decode()
    assert "8860000000000001" in year and "8860000000000002" not in year
    xlsx = client.get("/renewals/due/?window=year&export=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    csv_text = client.get("/renewals/due/?window=year&export=csv").content.decode("utf-8-sig").splitlines()
    assert csv_text[0].startswith("policy_no,holder") and csv_text[1].startswith("8860000000000001,张伟")
