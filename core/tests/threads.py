"""Two transactions at once, each on its own database connection (for the tests of what a
transaction sees while another holds a row lock)."""

import threading
import time

from django.db import connection, transaction


def lock_waiters() -> int:
    """Sessions of this database waiting for a lock (another transaction's row lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def while_held(hold, then, *, timeout: float = 60) -> tuple:
    """`hold()` runs in a transaction kept open until `then()`, started after it on another
    connection, waits for a lock; then it commits and `then` goes on. Returns both results (hold's
    first); an exception in either is raised here."""
    held, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def run(name, fn):
        def body():
            try:
                results[name] = fn()
            except BaseException as exc:  # raised in the test's thread below
                errors.append(exc)
                held.set()
            finally:
                connection.close()
        return threading.Thread(target=body)

    def holding():
        with transaction.atomic():
            result = hold()
            held.set()
            if not release.wait(timeout=timeout):
                raise TimeoutError("never released")
            return result

    def after():
        if not held.wait(timeout=timeout):
            raise TimeoutError("the holder never held")
        return then()

    threads = [run("hold", holding), run("then", after)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    while not errors and not (held.is_set() and lock_waiters() >= 1):
        if time.monotonic() > deadline:
            release.set()
            raise TimeoutError("the second transaction never waited for a lock")
        time.sleep(0.02)
    release.set()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    return results["hold"], results["then"]
