"""The demo, built once per test session into a template database and cloned for each test that
needs it (CREATE DATABASE ... TEMPLATE copies a few megabytes in well under a second; a build
takes much longer).

The test database pytest-django created (migrated, empty) is itself the template of the empty
databases: a build into a fresh clone of it is a build "on a fresh machine". The other apps'
tests never see the demo: their database stays empty.
"""

import contextlib
import datetime as dt
import time
from dataclasses import dataclass

import pytest
from django.db import connection, connections

from simulation.selectors import demo_digest, demo_digest_rows
from simulation.services import demo_build

# the tests' demo: small, and dated so that its weekdays never move
POLICIES, SEED, END, DAYS = 400, 1, dt.date(2026, 6, 30), 90


def _admin(sql: str) -> None:
    """A statement on the maintenance database (CREATE/DROP DATABASE run outside any transaction).
    Every connection is closed first: a database being copied must have no session."""
    connections.close_all()
    with connection._nodb_cursor() as cursor:
        cursor.execute(sql)


def clone(*, source: str, name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}"')
    _sessions_end(source)
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')


def _sessions_end(name: str) -> None:
    """A database being copied must have no other session. Earlier tests may leave one behind (a
    live server's thread, a real Celery worker of the fault tests ending): end them, waiting."""
    connections.close_all()
    with connection._nodb_cursor() as cursor:
        for _attempt in range(50):
            cursor.execute("SELECT pid, usename, application_name, state FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", [name])
            others = cursor.fetchall()
            if not others:
                return
            for pid, *_rest in others:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            time.sleep(0.1)
        raise RuntimeError(f"sessions still on {name}: {others}")


def drop(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}"')


@contextlib.contextmanager
def connected_to(name: str):
    """The default connection points at database `name` inside the block."""
    settings = connection.settings_dict
    previous = settings["NAME"]
    connections.close_all()
    settings["NAME"] = name
    try:
        yield
    finally:
        connections.close_all()
        settings["NAME"] = previous


@dataclass(frozen=True)
class Demo:
    empty: str  # a copy of the migrated test database as migrations left it
    template: str  # the built demo
    digest: str
    rows: dict  # the digest's rows by table (simulation.selectors.demo_digest_rows)


@pytest.fixture(scope="session")
def demo_template(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        empty = connection.settings_dict["NAME"]
        # never a development database: only the one pytest-django created for this session
        assert empty == connection.creation._get_test_db_name(), empty
        # the copy the root conftest took before any test ran: pytest-django empties the test
        # database after each transactional test, data migrations' rows (matching rules, the
        # default collection plan) included
        pristine, template = f"{empty}_pristine", f"{empty}_demo"
        clone(source=pristine, name=template)
        with connected_to(template):
            demo_build(policies=POLICIES, seed=SEED, end=END, days=DAYS)
            digest, rows = demo_digest(), demo_digest_rows()
        yield Demo(empty=pristine, template=template, digest=digest, rows=rows)
        drop(template)


@pytest.fixture
def demo_db(demo_template, django_db_blocker):
    """A copy of the built demo, the default connection on it, for one test."""
    name = f"{demo_template.template}_copy"
    with django_db_blocker.unblock():
        clone(source=demo_template.template, name=name)
        with connected_to(name):
            yield demo_template
        drop(name)


@pytest.fixture
def fresh_db(demo_template, django_db_blocker):
    """An empty migrated database (a fresh machine), the default connection on it."""
    name = f"{demo_template.empty}_fresh"
    with django_db_blocker.unblock():
        clone(source=demo_template.empty, name=name)
        with connected_to(name):
            yield demo_template
        drop(name)
