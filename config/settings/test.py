from .base import *  # noqa: F401,F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Plain storage: tests need not run collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Playwright's sync API runs an event loop in the test thread (SETUP-NOTES.md).
import os  # noqa: E402

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("REDIS_URL", default="redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": f"rd-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}",
    }
}

# The test database is created, migrated and flushed by the schema's owner: pytest-django creates
# it through the default connection, which needs CREATEDB, and flushes it with TRUNCATE, which the
# application role may not do. So in tests the default connection is MIGRATE_DATABASE_URL's user
# (the simplest set-up pytest-django supports: one alias, no router). What the application role
# may and may not do is proved by connecting as it (audit/tests/test_db_roles.py), and the fault
# tests' real Celery worker runs the nightly pipeline as it.
if MIGRATE_DATABASE_URL:  # noqa: F405
    _owner = env.db("MIGRATE_DATABASE_URL")
    DATABASES["default"].update({key: _owner[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")})  # noqa: F405
# The application role's login (its password, if any, from DATABASE_URL when that names it).
_app = env.db("DATABASE_URL", default="postgres://root@127.0.0.1:5432/renewal_desk")
DATABASE_APP_PASSWORD = _app.get("PASSWORD", "") if _app.get("USER") == DATABASE_APP_ROLE else ""  # noqa: F405

# Parallel runs on one machine (several checkouts, helpers) each need their own test database.
# pytest-xdist's workers (bin/test runs two) get their own too: pytest-django appends the worker's
# name (test_renewal_desk_gw0), and the broker's key prefix below follows it. A real Celery worker
# started by a test inherits PYTEST_XDIST_WORKER and is handed the suffixed name already.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_renewal_desk")}  # noqa: F405
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_test_name = DATABASES["default"]["TEST"]["NAME"]  # noqa: F405
if _xdist_worker and not _test_name.endswith(f"_{_xdist_worker}"):
    _test_name = f"{_test_name}_{_xdist_worker}"

# tests never share a queue with a development worker on the same Redis; a test that starts a real
# worker gives it (and its own publishes) a private queue of its own
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TEST_QUEUE", default="renewal-desk-test")
# A worker killed mid-task must not lose its message: acknowledged after the task, requeued when the
# pool child dies, and restored from the unacked set after a short visibility timeout when the whole
# worker dies (swept every second instead of kombu's ~100 s). The key prefix keeps this session's
# messages and unacked set apart from other workers on the same Redis: a 5 s visibility timeout must
# not restore (and so duplicate) a development worker's long task.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=5),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    "global_keyprefix": f"{_test_name}:",
}
# The pipeline's fault hook (see base.py), set only in the environment of a fault test's worker.
NIGHTLY_FAULT_DELAY_STEP = env("NIGHTLY_FAULT_DELAY_STEP", default=None)
NIGHTLY_FAULT_DELAY_SECONDS = env.float("NIGHTLY_FAULT_DELAY_SECONDS", default=0)
NIGHTLY_FAULT_FAIL_STEP = env("NIGHTLY_FAULT_FAIL_STEP", default=None)
NIGHTLY_FAULT_FAIL_POLICY_ID = env.int("NIGHTLY_FAULT_FAIL_POLICY_ID", default=None)
