"""The web's statement timeout (config/settings/base.py WEB_DB_STATEMENT_TIMEOUT, applied by
config/wsgi.py through core.db_sessions) and the page a person sees when it cancels a query
(core.middleware.StatementTimeoutMiddleware). Commands and tests keep no timeout
(renewals/tests/test_pipeline_sessions.py reads theirs back from the server)."""

import logging

import pytest
from django.conf import settings
from django.db import connection

from core.db_sessions import web_database_sessions

pytestmark = pytest.mark.django_db


def _statement_timeout(wrapper) -> str:
    with wrapper.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


def test_a_web_process_sessions_get_a_five_second_statement_timeout():
    options = connection.settings_dict["OPTIONS"]
    saved = options["options"], connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"]
    web = None
    try:
        assert _statement_timeout(connection) == "0"  # this process: tests, like commands, have none
        web_database_sessions()  # what config/wsgi.py does when gunicorn or runserver loads it
        web = connection.copy()  # a new session, as a request's thread opens
        assert _statement_timeout(web) == "5s"
        assert settings.WEB_DB_STATEMENT_TIMEOUT == 5
        # no parallel workers for a page's statements; the server's default elsewhere
        with web.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            assert cursor.fetchone()[0] == "0"
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            assert cursor.fetchone()[0] != "0"
        # kept between requests (a minute), checked before reuse
        assert (web.settings_dict["CONN_MAX_AGE"], web.settings_dict["CONN_HEALTH_CHECKS"]) == (60, True)
    finally:
        options["options"] = saved[0]
        connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"] = saved[1:]
        if web is not None:
            web.close()


@pytest.mark.urls("core.tests.urls_timeout")
def test_a_query_cancelled_by_the_timeout_shows_the_took_too_long_page(client, caplog):
    with caplog.at_level(logging.WARNING, logger="core.middleware"):
        response = client.get("/slow/")

    assert response.status_code == 503
    page = response.content.decode()
    assert "页面响应时间过长" in page
    assert "Traceback" not in page and "pg_sleep" not in page
    assert "statement timeout: path=/slow/ user=-" in caplog.text
    # the request's transaction was rolled back to its start: the connection still answers
    assert _statement_timeout(connection) == "0"


@pytest.mark.urls("core.tests.urls_timeout")
def test_the_took_too_long_page_in_english(client, django_user_model):
    user = django_user_model.objects.create_user(username="en_user", password="x-Long-Password-1")
    user.language = "en"
    user.save(update_fields=["language"])
    client.force_login(user)

    response = client.get("/slow/")

    assert response.status_code == 503
    assert "The page took too long" in response.content.decode()
