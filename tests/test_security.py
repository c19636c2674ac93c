"""Security promises of the README and DESIGN.md section 4: CSRF, session fixation, session
timeouts, account lock-out, branch scoping (404 + trail + security log), deploy checks,
password strength. Real PostgreSQL and Redis; nothing of ours is mocked."""

import logging
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth import password_validation
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.middleware import SESSION_LAST_SEEN, SESSION_STARTED
from conftest import PASSWORD
from policies.models import Policy

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
LOGIN_URL = "/accounts/login/"
GZ_NO = "8860000000000001"
MISSING_NO = "8869999999999999"


def _login_post(client: Client, username: str, password: str):
    return client.post(LOGIN_URL, {"username": username, "password": password})


def _logged_in_user_id(client: Client):
    return client.session.get("_auth_user_id")


# --- CSRF -----------------------------------------------------------------------------------


def test_login_post_without_csrf_token_is_refused(make_user):
    make_user("clerk", ["clerk"])
    client = Client(enforce_csrf_checks=True)
    response = _login_post(client, "clerk", PASSWORD)
    assert response.status_code == 403
    assert _logged_in_user_id(client) is None


def test_login_post_with_csrf_token_is_accepted(make_user):
    """The control: the same post with the form's token signs in."""
    user = make_user("clerk", ["clerk"])
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN_URL)
    token = client.cookies["csrftoken"].value
    response = client.post(LOGIN_URL, {"username": "clerk", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert _logged_in_user_id(client) == str(user.pk)


def test_signed_in_posts_without_csrf_token_are_refused(portfolio, make_user):
    make_user("clerk", ["clerk"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("lead", ["team_lead"]))
    assert client.post(f"/policies/{GZ_NO}/reveal/holder_phone/").status_code == 403
    assert client.post("/accounts/language/", {"language": "en"}).status_code == 403
    assert client.post("/accounts/logout/").status_code == 403
    # the refused reveal wrote nothing to the trail
    holder = Policy.objects.get(policy_no=GZ_NO).holder
    assert not holder.events.filter(pgh_label="reveal").exists()


def test_api_write_with_session_auth_needs_the_csrf_token(portfolio, make_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("core_feed", ["integration"]))
    response = client.put(f"/api/v1/policies/{GZ_NO}/", data="{}", content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["errors"]["detail"][0]


# --- session fixation -----------------------------------------------------------------------


def test_login_issues_a_new_session_id(make_user):
    user = make_user("clerk", ["clerk"])
    client = Client()
    session = client.session  # an anonymous session the attacker could have planted
    session["probe"] = "before-login"
    session.save()
    key_before = session.session_key
    assert client.cookies["sessionid"].value == key_before

    response = _login_post(client, "clerk", PASSWORD)

    assert response.status_code == 302
    key_after = client.cookies["sessionid"].value
    assert key_after != key_before
    assert client.session.session_key == key_after
    assert _logged_in_user_id(client) == str(user.pk)
    assert not SessionStore().exists(key_before)  # the old id is dead, not merely unused


# --- session timeouts -----------------------------------------------------------------------


def _signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get("/policies/").status_code == 200  # stamps started and last seen
    return client


def _set_session_times(client: Client, *, started_ago: int, last_seen_ago: int) -> None:
    now = int(time.time())
    session = client.session
    session[SESSION_STARTED] = now - started_ago
    session[SESSION_LAST_SEEN] = now - last_seen_ago
    session.save()


def _assert_signed_out(client: Client, path: str = "/policies/") -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next={path}"
    assert _logged_in_user_id(client) is None


def test_the_middleware_stamps_session_start_and_last_seen(make_user):
    client = _signed_in_client(make_user("clerk", ["clerk"]))
    session = client.session
    now = int(time.time())
    assert now - 5 <= session[SESSION_STARTED] <= now
    assert now - 5 <= session[SESSION_LAST_SEEN] <= now


def test_session_idle_for_29_minutes_is_still_alive(make_user):
    client = _signed_in_client(make_user("clerk", ["clerk"]))
    _set_session_times(client, started_ago=29 * 60, last_seen_ago=29 * 60)
    assert client.get("/policies/").status_code == 200
    # and that request counted as activity
    assert int(time.time()) - client.session[SESSION_LAST_SEEN] <= 5


def test_session_idle_for_more_than_30_minutes_ends(make_user):
    client = _signed_in_client(make_user("clerk", ["clerk"]))
    _set_session_times(client, started_ago=31 * 60, last_seen_ago=30 * 60 + 5)
    _assert_signed_out(client)
    # the login page it sends to says why
    page = client.get(f"{LOGIN_URL}?next=/policies/")
    assert [m.level_tag for m in page.context["messages"]] == ["info"]
    # signed out for good: fresh activity does not bring the session back
    _assert_signed_out(client)


def test_session_older_than_12_hours_ends_even_when_active(make_user):
    client = _signed_in_client(make_user("clerk", ["clerk"]))
    _set_session_times(client, started_ago=12 * 3600 + 5, last_seen_ago=60)
    _assert_signed_out(client)


def test_session_of_almost_12_hours_with_activity_is_alive(make_user):
    client = _signed_in_client(make_user("clerk", ["clerk"]))
    _set_session_times(client, started_ago=12 * 3600 - 60, last_seen_ago=60)
    assert client.get("/policies/").status_code == 200


def test_expired_session_on_the_api_answers_401(portfolio, make_user):
    client = Client()
    client.force_login(make_user("clerk", ["clerk"]))
    assert client.get("/api/v1/policies/").status_code == 200
    _set_session_times(client, started_ago=3600, last_seen_ago=31 * 60)
    response = client.get("/api/v1/policies/")
    assert response.status_code == 401
    assert _logged_in_user_id(client) is None


# --- lock-out after 20 failed sign-ins (django-axes) -----------------------------------------


def test_twenty_failed_logins_lock_the_account_even_for_the_right_password(make_user):
    make_user("clerk", ["clerk"])
    client = Client()
    codes = [_login_post(client, "clerk", f"wrong-{attempt}").status_code for attempt in range(20)]
    assert codes == [200] * 19 + [429]  # the 20th failure locks at once
    assert AccessFailureLog.objects.filter(username="clerk").count() == 20
    attempt_row = AccessAttempt.objects.get(username="clerk")
    assert attempt_row.failures_since_start == 20

    response = _login_post(client, "clerk", PASSWORD)
    assert response.status_code == 429
    assert "accounts/locked.html" in [t.name for t in response.templates]
    assert _logged_in_user_id(client) is None
    # from another address too: the username is locked, not the address
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert _login_post(other, "clerk", PASSWORD).status_code == 429
    assert _logged_in_user_id(other) is None


def test_nineteen_failures_do_not_lock_and_a_success_resets_the_count(make_user):
    user = make_user("clerk", ["clerk"])
    client = Client()
    for attempt in range(19):
        assert _login_post(client, "clerk", f"wrong-{attempt}").status_code == 200
    response = _login_post(client, "clerk", PASSWORD)
    assert response.status_code == 302
    assert _logged_in_user_id(client) == str(user.pk)
    assert not AccessAttempt.objects.filter(username="clerk").exists()  # AXES_RESET_ON_SUCCESS


def test_a_locked_username_does_not_lock_other_users(make_user):
    make_user("clerk", ["clerk"])
    other_user = make_user("finance", ["finance"])
    client = Client()
    for attempt in range(20):
        _login_post(client, "clerk", f"wrong-{attempt}")
    response = _login_post(client, "finance", PASSWORD)  # same address
    assert response.status_code == 302
    assert _logged_in_user_id(client) == str(other_user.pk)


# --- branch scope: 404, trail and security log -----------------------------------------------


def _page_without_noise(response, policy_no: str) -> str:
    html = response.content.decode().replace(policy_no, "POLICY_NO")
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', '"X-CSRFToken": ""', html)


def _denied_events(policy_no: str):
    policy = Policy.objects.get(policy_no=policy_no)
    return Policy.pgh_event_model.objects.filter(pgh_obj=policy, pgh_label="access_denied").order_by("pgh_id")


def test_out_of_scope_policy_page_answers_404_like_a_missing_one(portfolio, make_user, caplog):
    clerk_bj = make_user("clerk_bj", ["clerk"], ["BJ"])
    client = Client()
    client.force_login(clerk_bj)
    caplog.set_level(logging.INFO, logger="security")

    hidden = client.get(f"/policies/{GZ_NO}/")
    missing = client.get(f"/policies/{MISSING_NO}/")

    assert hidden.status_code == 404
    assert missing.status_code == 404
    # the same page, but for the number echoed in the URL and the per-response CSRF tokens
    assert _page_without_noise(hidden, GZ_NO) == _page_without_noise(missing, MISSING_NO)
    # the clerk's own branch's policy is there
    assert client.get("/policies/8860000000000002/").status_code == 200

    events = list(_denied_events(GZ_NO))
    assert len(events) == 1
    metadata = events[0].pgh_context.metadata
    assert metadata["username"] == "clerk_bj"
    assert metadata["user"] == clerk_bj.pk
    assert metadata["url"] == f"/policies/{GZ_NO}/"
    security = [r for r in caplog.records if r.name == "security"]
    assert len(security) == 1
    assert security[0].levelno == logging.WARNING
    assert security[0].getMessage() == (
        f"out-of-scope policy access: user=clerk_bj policy={GZ_NO} path=/policies/{GZ_NO}/")


def test_out_of_scope_policy_on_the_api_answers_404_like_a_missing_one(portfolio, make_user, caplog):
    clerk_bj = make_user("clerk_bj", ["clerk"], ["BJ"])
    token = Token.objects.create(user=clerk_bj)
    client = Client(headers={"Authorization": f"Token {token.key}"})
    caplog.set_level(logging.INFO, logger="security")

    for suffix in ("", "status/", "status/?on=2025-06-30"):
        hidden = client.get(f"/api/v1/policies/{GZ_NO}/{suffix}")
        missing = client.get(f"/api/v1/policies/{MISSING_NO}/{suffix}")
        assert hidden.status_code == 404, suffix
        assert missing.status_code == 404, suffix
        assert hidden.json() == missing.json()
        assert hidden.json() == {"errors": {"detail": [missing.json()["errors"]["detail"][0]]}}
    assert client.get("/api/v1/policies/8860000000000002/").status_code == 200
    # searching for it finds nothing either
    listing = client.get(f"/api/v1/policies/?search={GZ_NO}").json()
    assert listing == {"count": 0, "next": None, "previous": None, "results": []}

    events = list(_denied_events(GZ_NO))
    assert [e.pgh_context.metadata["url"] for e in events] == [
        f"/api/v1/policies/{GZ_NO}/", f"/api/v1/policies/{GZ_NO}/status/", f"/api/v1/policies/{GZ_NO}/status/"]
    assert {e.pgh_context.metadata["username"] for e in events} == {"clerk_bj"}
    security = [r.getMessage() for r in caplog.records if r.name == "security"]
    assert security == [
        f"out-of-scope policy access: user=clerk_bj policy={GZ_NO} path=/api/v1/policies/{GZ_NO}/",
        f"out-of-scope policy access: user=clerk_bj policy={GZ_NO} path=/api/v1/policies/{GZ_NO}/status/",
        f"out-of-scope policy access: user=clerk_bj policy={GZ_NO} path=/api/v1/policies/{GZ_NO}/status/",
    ]


def test_out_of_scope_reveal_answers_404_and_reveals_nothing(portfolio, make_user):
    client = Client()
    client.force_login(make_user("clerk_bj", ["clerk"], ["BJ"]))
    response = client.post(f"/policies/{GZ_NO}/reveal/holder_phone/")
    assert response.status_code == 404
    assert b"13812345678" not in response.content
    assert Policy.objects.get(policy_no=GZ_NO).holder.events.filter(pgh_label="reveal").count() == 0
    assert _denied_events(GZ_NO).count() == 1


def test_a_branch_covers_its_descendants(portfolio, make_user):
    client = Client()
    client.force_login(make_user("lead_gd", ["team_lead"], ["GD"]))
    assert client.get(f"/policies/{GZ_NO}/").status_code == 200
    assert client.get("/policies/8860000000000002/").status_code == 404


# --- deployment checks ----------------------------------------------------------------------


def test_check_deploy_with_production_settings_reports_no_issue():
    env = {key: value for key, value in os.environ.items()
           # test settings set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; production has no such thing
           if key not in ("DJANGO_SETTINGS_MODULE", "DEBUG", "TEST_DATABASE_NAME", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="renewal.example.cn",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=BASE_DIR, env=env,
        capture_output=True, text=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS" not in output and "ERRORS" not in output, output


# --- password strength ----------------------------------------------------------------------


@pytest.mark.parametrize("weak", [
    "Short-1a",  # fewer than 12 characters
    "password1234",  # a common password
    "738492016583",  # digits only
    "alllowercaseletters",  # one character class
    "renewaldesk2026",  # two character classes only
])
def test_password_validation_refuses_weak_passwords(make_user, weak):
    user = make_user("clerk", ["clerk"])
    with pytest.raises(ValidationError):
        password_validation.validate_password(weak, user=user)


def test_password_validation_accepts_a_strong_password(make_user):
    user = make_user("clerk", ["clerk"])
    password_validation.validate_password("Tea-Kettle-Orbit-77", user=user)  # no exception
