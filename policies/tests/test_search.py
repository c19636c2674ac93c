"""The policy search (policies.selectors.policy_search, the search page and the API): by policy
number, the holder's or the insured's ID number, phone or the first characters of a name, within the
user's branches, each policy once."""

import pytest

from accounts.tests.factories import UserFactory
from core.errors import ApplicationError
from policies.selectors import NAME_PREFIX_MIN, policy_search
from policies.tests.factories import BranchFactory, CustomerFactory, PolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    """Two branches; 王小明 holds one policy on himself and one on his daughter 王丽, whose own
    policy is in the other branch."""
    hq = BranchFactory(code="HQ", name="总公司", parent=None)
    gz = BranchFactory(code="GZ", name="广州中心支公司", parent=hq)
    sz = BranchFactory(code="SZ", name="深圳中心支公司", parent=hq)
    father = CustomerFactory(name="王小明", phone="13912345678", id_no="11010519800101123X")
    daughter = CustomerFactory(name="王丽", phone="13887654321", id_no="110105201001011229")
    return {
        "own": PolicyFactory(policy_no="886900000001", branch=gz, holder=father),
        "for_daughter": PolicyFactory(policy_no="886900000002", branch=gz, holder=father, insured=daughter),
        "daughter_sz": PolicyFactory(policy_no="886900000003", branch=sz, holder=daughter),
        "other": PolicyFactory(policy_no="886900000004", branch=gz, holder=CustomerFactory(name="李四")),
        "gz": gz, "hq": hq,
    }


def numbers(user, query: str) -> list[str]:
    return [p.policy_no for p in policy_search(user=user, query=query)]


def test_phone_finds_the_policies_the_customer_holds_or_is_insured_by_each_once(book):
    manager = UserFactory(roles=["manager"], branches=[book["hq"]])
    # the father holds two and is insured by one of them: that one comes once, not twice
    assert numbers(manager, "13912345678") == ["886900000001", "886900000002"]
    # the daughter holds one and is insured by one
    assert numbers(manager, "13887654321") == ["886900000002", "886900000003"]


def test_id_number_exact_with_a_lower_case_x_and_the_policy_number(book):
    manager = UserFactory(roles=["manager"], branches=[book["hq"]])
    assert numbers(manager, "11010519800101123x") == ["886900000001", "886900000002"]
    assert numbers(manager, "886900000003") == ["886900000003"]
    assert numbers(manager, "88690000000") == []  # a number is exact, not a prefix


def test_name_by_its_first_characters(book):
    manager = UserFactory(roles=["manager"], branches=[book["hq"]])
    assert NAME_PREFIX_MIN == 2
    assert numbers(manager, "王小") == ["886900000001", "886900000002"]
    assert numbers(manager, "王丽") == ["886900000002", "886900000003"]
    assert numbers(manager, "李四") == ["886900000004"]


def test_a_single_character_of_a_name_is_refused_on_the_field(book):
    manager = UserFactory(roles=["manager"], branches=[book["hq"]])
    with pytest.raises(ApplicationError) as refused:
        policy_search(user=manager, query="王")
    assert list(refused.value.errors) == ["q"]


def test_only_the_users_branches(book):
    clerk = UserFactory(roles=["clerk"], branches=[book["gz"]])
    # the daughter's own policy is in Shenzhen: the Guangzhou clerk finds only the one she is insured by
    assert numbers(clerk, "13887654321") == ["886900000002"]
    assert numbers(clerk, "886900000003") == []


def test_search_page_shows_the_refusal_beside_the_field_in_chinese(client, book):
    clerk = UserFactory(roles=["clerk"], branches=[book["gz"]])
    client.force_login(clerk)
    html = client.get("/policies/", {"q": "王"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "请输入姓名的前 2 个字或更多。" in html
    assert "invalid-feedback" in html
    assert "886900000001" not in html
    html = client.get("/policies/", {"q": "王小"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "886900000001" in html and "886900000002" in html and "886900000003" not in html


def test_api_search_refuses_a_single_character_by_field(client, book):
    clerk = UserFactory(roles=["clerk"], branches=[book["gz"]])
    client.force_login(clerk)
    response = client.get("/api/v1/policies/", {"search": "王"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert response.json() == {"errors": {"search": ["请输入姓名的前 2 个字或更多。"]}}
    response = client.get("/api/v1/policies/", {"search": "13912345678"})
    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [row["policy_no"] for row in rows] == ["886900000001", "886900000002"]
