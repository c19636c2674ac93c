"""The capability matrix of DESIGN.md section 1, checked role by role through the real pages
and API endpoints, and through user.has_perm for capabilities that have no page yet.

MATRIX is a hand-written copy of DESIGN.md (not imported from accounts/roles.py), so a mistake
in roles.py shows here. How DESIGN.md's cells read as capabilities:
- "reveal": phone -> reveal_phone, ID -> reveal_id, account -> reveal_account, all -> the three.
- "work cases": underwriter and claims work only their own hand-off queue, which is
  decide_handoffs ("decide own hand-offs"), not work_cases.
- "dashboards and reports": team's / finance's / risk's / yes all mean view_reports (the scope is
  the report's business); "no" for underwriter and claims.
- "the trail": policy page -> view_trail_policy; everything, export -> + view_trail_all,
  export_trail; admin "yes" -> all three.
- "configure": templates -> configure_templates; matching rules -> configure_matching_rules;
  risk rules -> configure_risk_rules; admin "yes" -> the three and configure_system.
- admin imports policies (the import page). integration (not a column of DESIGN's table; its
  row in section 1: "the core policy-admin system feeds policies in") reads, imports and writes
  policies through the API.
"""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.roles import perm
from accounts.tests.factories import TokenFactory, UserFactory
from conftest import GZ_POLICY, PASSWORD, policies_csv

pytestmark = pytest.mark.django_db

GZ_NO = "8860000000000001"

ALL_CAPABILITIES = {
    "view_portfolio", "reveal_phone", "reveal_id", "reveal_account", "work_cases", "assign_cases",
    "approve_applications", "decide_handoffs", "import_statements", "match_payments", "approve_matches",
    "work_risk_flags", "view_reports", "view_trail_policy", "view_trail_all", "export_trail",
    "configure_templates", "configure_matching_rules", "configure_risk_rules", "configure_system",
    "import_policies", "upsert_policies_api",
    # issue 4: the operations page is for team leads and admins
    "view_operations",
}

MATRIX: dict[str, set[str]] = {
    "clerk": {"view_portfolio", "reveal_phone", "work_cases", "view_reports", "view_trail_policy"},
    "team_lead": {"view_portfolio", "reveal_phone", "reveal_id", "work_cases", "assign_cases",
                  "approve_applications", "view_reports", "view_trail_policy", "configure_templates",
                  "view_operations"},
    "manager": {"view_portfolio", "view_reports"},
    "finance": {"view_portfolio", "reveal_account", "import_statements", "match_payments", "approve_matches",
                "view_reports", "configure_matching_rules"},
    "risk_reviewer": {"view_portfolio", "reveal_id", "reveal_account", "work_risk_flags", "view_reports",
                      "configure_risk_rules"},
    "auditor": {"view_portfolio", "reveal_phone", "reveal_id", "reveal_account", "view_reports",
                "view_trail_policy", "view_trail_all", "export_trail"},
    "underwriter": {"view_portfolio", "reveal_id", "decide_handoffs"},
    "claims": {"view_portfolio", "reveal_id", "decide_handoffs"},
    "admin": {"view_portfolio", "reveal_phone", "reveal_id", "reveal_account", "view_reports",
              "view_trail_policy", "view_trail_all", "export_trail", "configure_templates",
              "configure_matching_rules", "configure_risk_rules", "configure_system", "import_policies",
              "view_operations"},
    "integration": {"view_portfolio", "import_policies", "upsert_policies_api"},
}
ROLES = list(MATRIX)
MATRIX_ROLES = [r for r in ROLES if r != "integration"]  # the columns of DESIGN.md's table

REVEAL_FIELDS = {  # field on the page -> (capability, clear value)
    "holder_phone": ("reveal_phone", "13812345678"),
    "holder_id_no": ("reveal_id", "11010519491231002X"),
    "bank_account": ("reveal_account", "6222020200001234"),
}

GOOD_PUT = {
    "product_code": "WL20", "branch_code": "GD-GZ", "agent_code": "AG001", "agent_name": "黄志强",
    "agent_status": "active", "holder_name": "张伟", "holder_id_type": "resident_id",
    "holder_id_no": "11010519491231002X", "holder_phone": "13812345678", "issue_date": "2020-01-31",
    "frequency": "monthly", "premium_term_years": "20", "modal_premium": "300.00", "sum_assured": "100000.00",
    "payment_method": "auto_debit", "bank_name": "中国工商银行", "bank_account": "6222020200001234",
    "bank_account_name": "张伟", "paid_to_date": "2026-11-30", "status": "in_force",
}


def _client_for(make_user, role: str) -> tuple[Client, object]:
    user = make_user(f"u_{role}", [role] if role != "nobody" else [])
    client = Client()
    client.force_login(user)
    return client, user


def test_the_matrix_copy_names_every_capability_and_each_is_both_given_and_refused(db):
    in_database = set(Permission.objects.filter(content_type__app_label="accounts", content_type__model="capability")
                      .values_list("codename", flat=True))
    assert in_database == ALL_CAPABILITIES
    for capability in ALL_CAPABILITIES:
        holders = {role for role, caps in MATRIX.items() if capability in caps}
        assert holders, capability
        # "nobody" (a user without a role) refuses view_portfolio, which every role has
        assert holders != set(ROLES) or capability == "view_portfolio", capability


@pytest.mark.parametrize("role", ROLES)
def test_has_perm_follows_the_matrix(make_user, role):
    user = make_user(f"u_{role}", [role])
    granted = {c for c in ALL_CAPABILITIES if user.has_perm(perm(c))}
    assert granted == MATRIX[role]


def test_a_user_without_a_role_may_do_nothing(make_user):
    user = make_user("nobody", [])
    assert {c for c in ALL_CAPABILITIES if user.has_perm(perm(c))} == set()


def test_several_roles_add_up(make_user):
    user = make_user("clerk_finance", ["clerk", "finance"])
    assert {c for c in ALL_CAPABILITIES if user.has_perm(perm(c))} == MATRIX["clerk"] | MATRIX["finance"]


def test_superuser_flag_is_not_how_admins_get_rights(make_user):
    admin = make_user("u_admin", ["admin"])
    assert not admin.is_superuser
    assert not admin.has_perm(perm("work_cases"))  # not in the admin column


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*ROLES, "nobody"])
def test_policy_search_page(portfolio, make_user, role):
    client, _user = _client_for(make_user, role)
    response = client.get("/policies/", {"q": GZ_NO})
    if "view_portfolio" in MATRIX.get(role, set()):
        assert response.status_code == 200
        assert f'href="/policies/{GZ_NO}/"' in response.content.decode()
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", [*ROLES, "nobody"])
def test_policy_page_and_its_trail(portfolio, make_user, role):
    client, _user = _client_for(make_user, role)
    response = client.get(f"/policies/{GZ_NO}/")
    caps = MATRIX.get(role, set())
    if "view_portfolio" not in caps:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    has_trail = 'class="table table-sm mb-0 trail"' in response.content.decode()
    assert has_trail == ("view_trail_policy" in caps)


@pytest.mark.parametrize("role", [*ROLES, "nobody"])
def test_policy_import_page(portfolio, make_user, role):
    client, _user = _client_for(make_user, role)
    response = client.get("/policies/import/")
    assert response.status_code == (200 if "import_policies" in MATRIX.get(role, set()) else 403)


@pytest.mark.parametrize("role", MATRIX_ROLES)
def test_policy_import_page_is_for_admins_only_among_the_people_roles(portfolio, make_user, role):
    client, _user = _client_for(make_user, role)
    assert client.get("/policies/import/").status_code == (200 if role == "admin" else 403)


def test_policy_import_upload_by_admin_imports(portfolio, make_user):
    client, _user = _client_for(make_user, "admin")
    new_row = GZ_POLICY.replace("8860000000000001", "8860000000000077")
    upload = SimpleUploadedFile("policies.csv", policies_csv(new_row), content_type="text/csv")
    response = client.post("/policies/import/", {"files": [upload], "as_of": "2026-11-25"})
    assert response.status_code == 200
    assert client.get("/policies/8860000000000077/").status_code == 200


def test_policy_import_upload_by_clerk_is_refused(portfolio, make_user):
    client, _user = _client_for(make_user, "clerk")
    new_row = GZ_POLICY.replace("8860000000000001", "8860000000000078")
    upload = SimpleUploadedFile("policies.csv", policies_csv(new_row), content_type="text/csv")
    response = client.post("/policies/import/", {"files": [upload], "as_of": "2026-11-25"})
    assert response.status_code == 403
    assert client.get("/policies/8860000000000078/").status_code == 404


@pytest.mark.parametrize("role", [*ROLES, "nobody"])
def test_trail_page(portfolio, make_user, role):
    client, _user = _client_for(make_user, role)
    response = client.get("/audit/")
    assert response.status_code == (200 if "view_trail_all" in MATRIX.get(role, set()) else 403)


@pytest.mark.parametrize("role", [*ROLES, "nobody"])
def test_trail_export(portfolio, make_user, role):
    client, _user = _client_for(make_user, role)
    response = client.get("/audit/export.csv")
    if "export_trail" in MATRIX.get(role, set()):
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        body = b"".join(response.streaming_content).decode()
        assert body.startswith("\ufeff时间,业务日期,")  # the ledger's columns in the reader's language
        assert "import_policies:policies.csv" in body
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", [*ROLES, "nobody"])
@pytest.mark.parametrize("field", list(REVEAL_FIELDS))
def test_reveal(portfolio, make_user, role, field):
    capability, clear = REVEAL_FIELDS[field]
    client, _user = _client_for(make_user, role)
    response = client.post(f"/policies/{GZ_NO}/reveal/{field}/")
    caps = MATRIX.get(role, set())
    if "view_portfolio" not in caps:
        assert response.status_code == 404  # the policy itself is out of reach
    elif capability in caps:
        assert response.status_code == 200
        assert clear in response.content.decode()
    else:
        assert response.status_code == 403
        assert clear not in response.content.decode()


# --- API ------------------------------------------------------------------------------------


def _token_client(role: str) -> Client:
    token = TokenFactory(user__username=f"api_{role}", user__roles=[role] if role != "nobody" else [],
                         user__branches=["HQ"])
    return Client(headers={"Authorization": f"Token {token.key}"})


@pytest.mark.parametrize("role", [*ROLES, "nobody"])
def test_api_read(portfolio, role):
    client = _token_client(role)
    allowed = "view_portfolio" in MATRIX.get(role, set())
    for path in ("/api/v1/policies/", f"/api/v1/policies/{GZ_NO}/", f"/api/v1/policies/{GZ_NO}/status/?on=2025-06-30"):
        assert client.get(path).status_code == (200 if allowed else 403), path


@pytest.mark.parametrize("role", [*ROLES, "nobody"])
def test_api_put(portfolio, role):
    client = _token_client(role)
    response = client.put("/api/v1/policies/8860000000000055/", data=GOOD_PUT, content_type="application/json")
    if "upsert_policies_api" in MATRIX.get(role, set()):
        assert response.status_code == 201
        assert response.json()["policy_no"] == "8860000000000055"
    else:
        assert response.status_code == 403
        assert response.json() == {"errors": {"detail": [response.json()["errors"]["detail"][0]]}}


def test_password_login_still_works_for_every_role(db):
    """The matrix is held by groups; signing in is the same for all (control for force_login)."""
    for role in MATRIX_ROLES:
        UserFactory(username=f"login_{role}", roles=[role])
        client = Client()
        response = client.post("/accounts/login/", {"username": f"login_{role}", "password": PASSWORD})
        assert response.status_code == 302, role
