"""The database sessions' keepalives and timeouts (config/settings/base.py, config/celery.py): what
lets the server end the session of a worker that hung or whose host vanished, and so free its chunk
(test_pipeline_faults.py stops a real worker inside a chunk). Read back from the server itself."""

import pytest
from django.db import connection

from config.celery import worker_database_sessions

pytestmark = pytest.mark.django_db

NAMES = ["tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "client_connection_check_interval",
         "statement_timeout", "idle_in_transaction_session_timeout"]


def _server_settings(wrapper) -> dict:
    with wrapper.cursor() as cursor:
        # pg_settings in the units it states (s for the keepalives, ms for the timeouts)
        cursor.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [NAMES])
        return dict(cursor.fetchall())


def test_web_and_command_sessions_have_keepalives_and_no_statement_timeout():
    if (connection.settings_dict.get("HOST") or "").startswith("/"):
        pytest.skip("keepalives apply to TCP connections; this run uses a Unix socket")
    # the defaults: keepalive after 60 s idle, every 10 s, 6 unanswered = dead; idle in a transaction 5 min
    assert _server_settings(connection) == {
        "tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "6",
        "client_connection_check_interval": "10000", "statement_timeout": "0",
        "idle_in_transaction_session_timeout": "300000"}
    client = connection.connection.info.get_parameters()
    assert {k: client.get(k) for k in ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count")} == {
        "keepalives": "1", "keepalives_idle": "60", "keepalives_interval": "10", "keepalives_count": "6"}


def test_a_worker_process_sessions_get_the_workers_timeouts():
    options = connection.settings_dict["OPTIONS"]
    saved = options["options"]
    worker = None
    try:
        worker_database_sessions()  # what celeryd_init does when a worker starts
        worker = connection.copy()  # a new session, as a worker's pool process opens
        assert _server_settings(worker) == {
            "tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "6",
            "client_connection_check_interval": "10000", "statement_timeout": "1800000",
            "idle_in_transaction_session_timeout": "300000"}
    finally:
        options["options"] = saved
        if worker is not None:
            worker.close()
