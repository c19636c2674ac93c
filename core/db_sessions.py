"""The database session options of the web process.

Settings (config/settings/base.py) give every process the options of management commands and
tests: no statement timeout, since migrate, imports and the demo build run long statements. The web
process switches to settings.DATABASE_WEB_SESSION_OPTIONS (a statement timeout of
WEB_DB_STATEMENT_TIMEOUT seconds) when config/wsgi.py loads, before it serves a request: gunicorn
and runserver both load it; manage.py commands, Celery and the test client do not. Celery workers
get their own, longer limits in the same way (config/celery.py).
"""

from django.conf import settings


def web_database_sessions() -> None:
    """New connections of this process start with the web's options (the server applies them when
    the session starts: no round trip per request), and are kept between requests for
    WEB_DB_CONN_MAX_AGE seconds, checked before reuse: a new PostgreSQL session per request costs a
    server process and cold catalogue caches (a queue page's query planned in 17 ms instead of 1;
    bench/RESULTS.md part 13)."""
    database = settings.DATABASES["default"]
    database["OPTIONS"]["options"] = settings.DATABASE_WEB_SESSION_OPTIONS
    database["CONN_MAX_AGE"] = settings.WEB_DB_CONN_MAX_AGE
    database["CONN_HEALTH_CHECKS"] = True
