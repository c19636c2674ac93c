"""Personal data is masked on the policy page and in the API; a reveal answers the clear value
and is itself in the trail (DESIGN.md section 4)."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.masking import mask_account, mask_id_no, mask_phone
from conftest import AS_OF, GZ_POLICY, policies_csv
from policies.models import Customer, Policy
from policies.services.imports import policies_import

pytestmark = pytest.mark.django_db

GZ_NO = "8860000000000001"
CLEAR = ("11010519491231002X", "13812345678", "6222020200001234")
MASKED_ID = "110105********002X"
MASKED_PHONE = "138****5678"
MASKED_ACCOUNT = "****1234"


def test_mask_functions():
    assert mask_id_no("11010519491231002X") == "110105********002X"
    assert mask_id_no("110105491231002") == "110105*****1002"  # the old 15-digit card
    assert mask_phone("13812345678") == "138****5678"
    assert mask_account("6222020200001234") == "****1234"
    assert (mask_id_no(""), mask_phone(None), mask_account("")) == ("", "", "")


@pytest.mark.parametrize("role", ["clerk", "auditor", "admin", "manager"])
def test_policy_page_shows_masks_only(portfolio, make_user, role):
    client = Client()
    client.force_login(make_user("user", [role]))
    response = client.get(f"/policies/{GZ_NO}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<span class="masked" id="holder_id_no">{MASKED_ID}</span>' in html
    assert f'<span class="masked" id="holder_phone">{MASKED_PHONE}</span>' in html
    assert f'<span class="masked" id="bank_account">{MASKED_ACCOUNT}</span>' in html
    for value in CLEAR:
        assert value not in html


def test_trail_on_the_policy_page_shows_changes_of_personal_data_masked(portfolio, make_user):
    """A clerk may not reveal bank accounts: the trail must not show them either."""
    first = GZ_POLICY.replace("13812345678", "13900001111").replace("6222020200001234", "6222020200005678")
    second = first.replace("13900001111", "13900002222").replace("6222020200005678", "6222020200009999")
    for row in (first, second):  # the second change has a before and an after in the trail
        policies_import(files=[("policies.csv", policies_csv(row))], as_of=AS_OF)
    client = Client()
    client.force_login(make_user("clerk", ["clerk"]))
    html = client.get(f"/policies/{GZ_NO}/").content.decode()
    # field names in the user's language (Chinese by default)
    assert '<div><strong>银行账号</strong>: ****5678 → ****9999</div>' in html
    assert '<div><strong>手机号</strong>: 139****1111 → 139****2222</div>' in html
    for value in ("13900001111", "13900002222", "6222020200005678", "6222020200009999"):
        assert value not in html


def test_search_results_show_the_masked_id(portfolio, make_user):
    client = Client()
    client.force_login(make_user("clerk", ["clerk"]))
    html = client.get("/policies/", {"q": GZ_NO}).content.decode()
    assert f'<td class="masked">{MASKED_ID}</td>' in html
    assert GZ_NO in html
    for value in CLEAR:
        assert value not in html


def test_api_detail_and_list_show_masks_only(portfolio, make_user):
    token = Token.objects.create(user=make_user("auditor", ["auditor"]))  # may reveal all, still masked here
    client = Client(headers={"Authorization": f"Token {token.key}"})
    response = client.get(f"/api/v1/policies/{GZ_NO}/")
    assert response.status_code == 200
    data = response.json()
    assert data["holder"] == {"name": "张伟", "id_type": "resident_id", "id_no": MASKED_ID, "phone": MASKED_PHONE}
    assert data["insured"] == data["holder"]
    assert data["bank_account"] == MASKED_ACCOUNT
    listing = client.get("/api/v1/policies/", {"search": "11010519491231002X"})
    assert listing.status_code == 200
    for body in (response.content.decode(), listing.content.decode()):
        for value in CLEAR:
            assert value not in body
    assert listing.json()["results"][0]["holder"]["id_no"] == MASKED_ID


@pytest.mark.parametrize(("field", "clear"), [
    ("holder_phone", "13812345678"),
    ("holder_id_no", "11010519491231002X"),
    ("bank_account", "6222020200001234"),
])
def test_reveal_returns_the_clear_value_and_writes_the_trail(portfolio, make_user, field, clear):
    auditor = make_user("auditor", ["auditor"])
    client = Client()
    client.force_login(auditor)
    response = client.post(f"/policies/{GZ_NO}/reveal/{field}/")
    assert response.status_code == 200
    assert response.content.decode() == f'<span class="revealed" data-field="{field}">{clear}</span>'

    policy = Policy.objects.select_related("holder").get(policy_no=GZ_NO)
    owner = policy if field == "bank_account" else policy.holder
    events = list(type(owner).pgh_event_model.objects.filter(pgh_obj=owner, pgh_label="reveal"))
    assert len(events) == 1
    metadata = events[0].pgh_context.metadata
    assert metadata["user"] == auditor.pk
    assert metadata["username"] == "auditor"
    assert metadata["field"] == field
    assert metadata["policy_no"] == GZ_NO
    assert metadata["url"] == f"/policies/{GZ_NO}/reveal/{field}/"


def test_each_reveal_is_a_trail_entry_of_its_own(portfolio, make_user):
    client = Client()
    client.force_login(make_user("clerk", ["clerk"]))
    for _ in range(3):
        assert client.post(f"/policies/{GZ_NO}/reveal/holder_phone/").status_code == 200
    holder = Customer.objects.get(id_no="11010519491231002X")
    assert holder.events.filter(pgh_label="reveal").count() == 3


def test_reveal_needs_a_post(portfolio, make_user):
    client = Client()
    client.force_login(make_user("clerk", ["clerk"]))
    response = client.get(f"/policies/{GZ_NO}/reveal/holder_phone/")
    assert response.status_code == 405
    assert "13812345678" not in response.content.decode()


def test_refused_reveal_writes_no_trail_and_shows_nothing(portfolio, make_user):
    client = Client()
    client.force_login(make_user("clerk", ["clerk"]))  # phone only
    response = client.post(f"/policies/{GZ_NO}/reveal/holder_id_no/")
    assert response.status_code == 403
    assert "11010519491231002X" not in response.content.decode()
    assert Customer.objects.get(id_no="11010519491231002X").events.filter(pgh_label="reveal").count() == 0


def test_unknown_field_cannot_be_revealed(portfolio, make_user):
    client = Client()
    client.force_login(make_user("admin", ["admin"]))
    assert client.post(f"/policies/{GZ_NO}/reveal/holder_email/").status_code == 403
    assert client.post(f"/policies/{GZ_NO}/reveal/policy_no/").status_code == 403


@pytest.mark.django_db
def test_payer_accounts_and_new_bank_accounts_are_masked_for_finance_and_approvers(portfolio, make_user, client):
    import datetime as dt
    from decimal import Decimal

    from billing.services.payments import payment_create
    from billing.services.schedules import installments_extend
    from policies.models import Policy
    from renewals.services.servicing import servicing_apply

    installments_extend(as_of=AS_OF)

    payment, _ = payment_create(source="bank", account_no="A", identity="mask-1", value_date=dt.date(2026, 11, 28),
                                amount=Decimal("88.00"), payer_name="李四", payer_account="6228000000000009")
    client.force_login(make_user("fin_mask", ["finance"]))
    for url in ("/billing/suspense/", f"/billing/payments/{payment.pk}/"):
        html = client.get(url).content.decode()
        assert "6228000000000009" not in html and "****0009" in html, url
    clerk = make_user("clerk_mask", ["clerk"], ["GD-GZ"])
    servicing_apply(policy=Policy.objects.get(policy_no="8860000000000001"), kind="plan_change",
                    applied_on=dt.date(2026, 11, 25), effective_date=dt.date(2026, 11, 30),
                    details={"bank_account": "6222000011112222", "bank_account_name": "张伟"}, actor=clerk)
    client.force_login(make_user("lead_mask", ["team_lead"], ["GD"]))
    html = client.get("/renewals/approvals/").content.decode()
    assert "6222000011112222" not in html and "****2222" in html
