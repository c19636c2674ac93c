"""A customer's WeChat openid and app push client id entered on the policy page by those who may
change contact details (work_cases, branch-scoped), shown masked, with the errors beside their
fields; the service holds the same rules when called directly."""

import pytest

from audit.models import Operation
from core.errors import ApplicationError, OutOfScope
from outreach.models import ChannelIdentity
from outreach.services.identities import customer_channel_identities_update
from outreach.tests.conftest import GZ
from policies.models import Customer, Policy

pytestmark = pytest.mark.django_db
OPENID = "oGZ3x5A9bT_2kLmN7pQrStUvWxYz"  # 28 characters, as the official account gives them
CID = "6f1e0c9a2b3d4e5f60718293a4b5c6d7"  # Getui's 32 hexadecimal characters
URL = f"/outreach/identities/{GZ}/"


@pytest.fixture
def clerk(portfolio, make_user, client):
    user = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    client.force_login(user)
    return user


def _identities(policy_no: str = GZ) -> dict:
    holder = Policy.objects.get(policy_no=policy_no).holder_id
    return dict(ChannelIdentity.objects.filter(customer_id=holder).values_list("channel", "value"))


def test_a_clerk_enters_the_identities_on_the_policy_page_and_sees_them_masked(clerk, client):
    page = client.get(f"/policies/{GZ}/").content.decode()
    assert 'id="channel-identities"' in page and 'id="channel-identities-form"' in page
    # when the clerk saves both (HTMX: the panel is swapped)
    response = client.post(URL, {"wechat": OPENID, "app": CID}, headers={"HX-Request": "true"})
    # then they are the customer's, shown masked, never in full
    assert response.status_code == 200
    assert _identities() == {"wechat": OPENID, "app": CID}
    panel = response.content.decode()
    assert "oGZ3***" in panel and "6f1e***" in panel and OPENID not in panel and CID not in panel
    assert OPENID not in client.get(f"/policies/{GZ}/").content.decode()
    # on the trail, masked
    operation = Operation.objects.get(action="channel_identities_update")
    assert (operation.actor, operation.object_ref) == (clerk, GZ)
    assert operation.details["changes"] == {"app": ["", "6f1e***"], "wechat": ["", "oGZ3***"]}
    # an empty field leaves an identity as it is; "remove" takes it away
    client.post(URL, {"wechat_remove": "on"}, headers={"HX-Request": "true"})
    assert _identities() == {"app": CID}


def test_a_bad_openid_is_refused_beside_its_field_and_nothing_is_saved(clerk, client):
    response = client.post(URL, {"wechat": "not an openid!", "app": CID}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    page = response.content.decode()
    # the message sits in the WeChat field's own feedback
    field = page[page.index('id="id_wechat"'):page.index('id="id_wechat_remove"')]
    assert "is-invalid" in page[page.index('name="wechat"') - 200:page.index('name="wechat"') + 200]
    assert "invalid-feedback" in field and "openid" in field
    assert _identities() == {}
    # without HTMX: the same form on a page of its own, the policy named
    response = client.post(URL, {"wechat": OPENID, "wechat_remove": "on"})
    assert response.status_code == 400 and GZ in response.content.decode()
    assert _identities() == {}


def test_a_new_identity_clears_the_channels_failed_mark(clerk, client):
    holder = Policy.objects.get(policy_no=GZ).holder
    Customer.objects.filter(pk=holder.pk).update(contact_validity={"wechat": "failed", "sms": "failed"})
    client.post(URL, {"wechat": OPENID}, headers={"HX-Request": "true"})
    assert Customer.objects.get(pk=holder.pk).contact_validity == {"sms": "failed"}


def test_who_may_not_edit_is_refused_by_the_service_itself(portfolio, make_user, client):
    gz = Policy.objects.get(policy_no=GZ)
    manager = make_user("manager", ["manager"])  # sees the portfolio, does not change contact details
    with pytest.raises(ApplicationError) as refused:
        customer_channel_identities_update(policy=gz, actor=manager, identities={"wechat": OPENID})
    assert refused.value.status == 403
    other_branch = make_user("clerk_bj", ["clerk"], ["BJ"])
    with pytest.raises(OutOfScope):
        customer_channel_identities_update(policy=gz, actor=other_branch, identities={"wechat": OPENID})
    assert _identities() == {}
    # and through the page: the manager sees the panel without the form; the request is refused
    client.force_login(manager)
    page = client.get(f"/policies/{GZ}/").content.decode()
    assert 'id="channel-identities"' in page and 'id="channel-identities-form"' not in page
    assert client.post(URL, {"wechat": OPENID}).status_code == 403
    client.force_login(other_branch)
    assert client.post(URL, {"wechat": OPENID}).status_code == 404
    assert _identities() == {}
