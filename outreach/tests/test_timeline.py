"""The contact timeline on the policy page and in the API, scoped like the policy."""

import pytest
from django.test import Client

from accounts.tests.factories import TokenFactory
from outreach.services.dispatch import contacts_dispatch
from outreach.tests.conftest import GZ, at, plan
from policies.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def timeline(gz, smtp_server, default_templates):
    Customer.objects.filter(pk=gz.holder_id).update(opt_outs=["sms"])
    plan({"step_id": 1, "code": "T+1", "channel": "email"}, {"step_id": 2, "code": "T+2", "channel": "sms"})
    contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    return gz


def _api(user, policy_no=GZ):
    client = Client(headers={"Authorization": f"Token {TokenFactory(user=user).key}"})
    return client.get(f"/api/v1/policies/{policy_no}/contacts/")


def test_the_api_lists_sent_and_suppressed_contacts_with_masked_addresses(timeline, make_user):
    response = _api(make_user("clerk", ["clerk"], ["GD-GZ"]))
    assert response.status_code == 200
    rows = {c["stage_code"]: c for c in response.json()["contacts"]}
    assert {k: rows["T+1"][k] for k in ("channel", "address", "template", "template_version", "status", "reason",
                                        "planned_at", "sent_at")} == {
        "channel": "email", "address": "z***@example.cn", "template": "email/zh-hans", "template_version": 1,
        "status": "sent", "reason": "", "planned_at": "2026-12-01T08:00:00+08:00", "sent_at": rows["T+1"]["sent_at"]}
    assert rows["T+1"]["sent_at"] is not None
    assert {k: rows["T+2"][k] for k in ("channel", "address", "status", "reason", "sent_at")} == {
        "channel": "sms", "address": "138****5678", "status": "suppressed", "reason": "opted_out", "sent_at": None}


def test_out_of_scope_is_not_found(timeline, make_user):
    assert _api(make_user("bj_clerk", ["clerk"], ["BJ"])).status_code == 404


def test_the_policy_page_shows_the_timeline(timeline, make_user, client):
    client.force_login(make_user("clerk", ["clerk"], ["GD-GZ"]))
    page = client.get(f"/policies/{GZ}/").content.decode()
    assert 'id="contact-timeline"' in page
    assert "z***@example.cn" in page and 'data-status="suppressed"' in page and "138****5678" in page
