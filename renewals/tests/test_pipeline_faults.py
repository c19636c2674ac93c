"""The nightly pipeline under faults, on the real PostgreSQL, Redis and real Celery workers.

1. A prefork worker is SIGKILLed while it sleeps inside the lapse chunk's open transaction
   (NIGHTLY_FAULT_DELAY_STEP, set only in that worker's environment); Celery requeues the message
   (reject_on_worker_lost) to a fresh pool child, which is killed the same way together with the
   whole worker; a fresh worker restores the unacked message after the short visibility timeout
   and does the chunk. Nothing of the killed attempts is committed, and the end state is that of
   an uninterrupted run.
2. Two orchestrators for the same date at once do the work once.
3. With no worker listening, the orchestrator does every chunk itself.
4. A worker stopped with SIGSTOP inside the lapse chunk's open transaction (a host that vanished
   without closing its connection, or a hung process) keeps the chunk only until the server ends
   its idle-in-transaction session (WORKER_DB_IDLE_IN_TRANSACTION_TIMEOUT, a few seconds in the
   test's worker); the orchestrator then does the chunk, once.

The workers are subprocesses on this test database (DATABASE_URL) and a queue of their own; the
broker keys of this test session live under the test database's name (config/settings/test.py).
"""

import datetime as dt
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.models import Installment
from config.celery import app
from conftest import AS_OF
from policies.models import Policy, PolicyStatusChange
from renewals.models import ChunkRun, DueListEntry, NightlyRun, StepRun
from renewals.services import pipeline
from renewals.services.pipeline import nightly_run
from renewals.services.steps import STEPS
from renewals.tasks import nightly_chunk

pytestmark = pytest.mark.django_db(transaction=True)

GZ, BJ = "8860000000000001", "8860000000000002"
ROOT = Path(settings.BASE_DIR)
CELERY = ROOT / ".venv" / "bin" / "celery"
STEP_NAMES = [name for name, _function, _chunked in STEPS]


# --- the state the pipeline leaves behind ------------------------------------------------------

def _snapshot() -> dict:
    """Everything the steps write, without ids or timestamps (a second computation has others)."""
    return {
        "policies": sorted(Policy.objects.values_list("policy_no", "status", "lapse_date", "agent__code")),
        "history": sorted((no, status, effective, voided is not None) for no, status, effective, voided in
                          PolicyStatusChange.objects.values_list("policy__policy_no", "status", "effective_date",
                                                                 "voided_at")),
        "installments": sorted(Installment.objects.values_list("policy__policy_no", "sequence", "due_date", "status",
                                                               "amount_paid")),
        "due_list": sorted(DueListEntry.objects.values_list("policy__policy_no", "sequence", "due_date")),
        "steps": [(s.step, s.status, s.rows, s.chunks) for s in StepRun.objects.order_by("position")],
        "runs": list(NightlyRun.objects.values_list("as_of", "status")),
    }


def _uninterrupted_snapshot() -> dict:
    """An uninterrupted run in this process, rolled back: the state every faulty run must end in."""
    with transaction.atomic():
        nightly_run(as_of=AS_OF)
        expected = _snapshot()
        transaction.set_rollback(True)
    assert not NightlyRun.objects.exists() and not PolicyStatusChange.objects.filter(status="lapsed").exists()
    # and by hand (conftest): BJ's 1200.00 due 2026-02-28, 30 days' grace -> lapsed 2026-03-31
    policies = {no: (status, lapse) for no, status, lapse, _agent in expected["policies"]}
    assert policies == {GZ: ("in_force", None), BJ: ("lapsed", dt.date(2026, 3, 31))}
    assert [h for h in expected["history"] if h[1] == "lapsed"] == [(BJ, "lapsed", dt.date(2026, 3, 31), False)]
    assert expected["runs"] == [(AS_OF, "finished")]
    return expected


def _assert_done_once(expected: dict) -> None:
    assert _snapshot() == expected
    assert PolicyStatusChange.objects.filter(policy__policy_no=BJ, status="lapsed").count() == 1
    chunks = list(ChunkRun.objects.select_related("step").order_by("step__position", "id_from"))
    assert {c.step.step for c in chunks} == set(STEP_NAMES)
    # done, and done once: attempts counts committed attempts (a killed one rolls back with its work);
    # no attempt raised
    assert [(c.step.step, c.done, c.attempts, c.failures) for c in chunks] == [(c.step.step, True, 1, 0) for c in chunks]


# --- PostgreSQL: who holds a chunk -------------------------------------------------------------

# The backend whose open transaction has locked the chunk row (the row's xmax is its transaction id,
# still held in pg_locks), and whether the same backend has already run the lapse UPDATE on BJ.
# Read-only: probing with FOR UPDATE SKIP LOCKED would make a worker skip the chunk.
HOLDER_SQL = """
SELECT a.pid, a.client_port, a.state, a.application_name,
       EXISTS (SELECT 1 FROM policies_policy p
               JOIN pg_locks pl ON pl.locktype = 'transactionid' AND pl.transactionid = p.xmax AND pl.granted
               WHERE p.policy_no = %(policy_no)s AND pl.pid = a.pid) AS lapse_sql_ran
FROM renewals_chunkrun c
JOIN pg_locks l ON l.locktype = 'transactionid' AND l.transactionid = c.xmax AND l.granted
                   AND l.mode = 'ExclusiveLock'
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE c.id = %(chunk)s AND NOT c.done
"""


def _holder(chunk_id: int) -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute(HOLDER_SQL, {"chunk": chunk_id, "policy_no": BJ})
        row = cursor.fetchone()
    return dict(zip(["pid", "client_port", "state", "application_name", "lapse_sql_ran"], row, strict=True)) if row else None


def _backends(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name])
        return cursor.fetchone()[0]


def _wait(what: str, probe, timeout: float, worker=None):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if worker is not None and worker.process.poll() is not None:
            pytest.fail(f"worker {worker.name} exited ({worker.process.returncode}) waiting for {what}:\n{worker.output()}")
        if time.monotonic() > deadline:
            logs = f"\n{worker.output()}" if worker is not None else ""
            pytest.fail(f"timed out after {timeout} s waiting for {what}{logs}")
        time.sleep(0.05)


# --- processes ---------------------------------------------------------------------------------

def _process_state(pid: int) -> str:
    """The one-letter state in /proc/<pid>/stat (T: stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _children(pid: int) -> list[int]:
    """Direct children of pid, from /proc (psutil is not installed)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _owner_of_connection(pids: list[int], client_port: int) -> int | None:
    """Which of pids owns the TCP connection to PostgreSQL from local port client_port."""
    server_port = int(connection.settings_dict.get("PORT") or 5432)
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == client_port and int(remote.rsplit(":", 1)[1], 16) == server_port:
                inodes.add(f"socket:[{inode}]")
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:
                continue
    return None


class Worker:
    """`celery -A config worker` (prefork, one process) on this test database and a private queue."""

    def __init__(self, tmp_path: Path, queue: str, name: str, **environment: str):
        self.name, self.queue = name, queue
        self.application_name = f"rd-{name}-{uuid.uuid4().hex[:8]}"
        self.log = tmp_path / f"{name}.log"
        db = connection.settings_dict
        host = db.get("HOST") or "127.0.0.1"
        where = f"@/{db['NAME']}?host={host}&" if host.startswith("/") else f"@{host}:{db.get('PORT') or 5432}/{db['NAME']}?"
        # the worker runs as the application role, as in production (config/settings/test.py)
        password = f":{settings.DATABASE_APP_PASSWORD}" if settings.DATABASE_APP_PASSWORD else ""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": (f"postgres://{settings.DATABASE_APP_ROLE}{password}{where}"
                             f"application_name={self.application_name}"),
            "MIGRATE_DATABASE_URL": "",
            "TEST_DATABASE_NAME": settings.DATABASES["default"]["TEST"]["NAME"],  # the broker key prefix
            "CELERY_TEST_QUEUE": queue,
            **environment,
        }
        command = [str(CELERY), "-A", "config", "worker", "--pool=prefork", "--concurrency=1", "--without-mingle",
                   "--without-gossip", "--without-heartbeat", "-Q", queue, "-n", f"{self.application_name}@%h",
                   "-l", "INFO"]
        with open(self.log, "wb") as log:
            # its own session: the worker and its pool children are stopped as one process group
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def wait_ready(self, timeout: float = 25) -> None:
        _wait(f"worker {self.name} ready", lambda: " ready." in self.log.read_text(errors="replace"), timeout, self)

    def children(self) -> list[int]:
        return _children(self.process.pid)

    def pause(self) -> None:
        """SIGSTOP the worker and its pool children: alive, connections open, answering nothing."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, like a machine that dies."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        self.resume()  # a stopped process acts on SIGTERM only once continued
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        try:  # a pool child left behind by a SIGKILLed parent
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- the broker --------------------------------------------------------------------------------

def _prefix() -> str:
    return app.conf.broker_transport_options.get("global_keyprefix", "")


def _redis() -> redis.Redis:
    return redis.Redis.from_url(app.conf.broker_url)


def _queue_length(queue: str) -> int:
    return _redis().llen(_prefix() + queue)


def _broker_cleanup(task_ids: list[str]) -> None:
    """Nothing left behind: the results of our tasks and this session's broker keys (queues,
    bindings, the unacked set), which only this test session's workers use."""
    for task_id in task_ids:
        app.AsyncResult(task_id).forget()
    client = _redis()
    keys = list(client.scan_iter(match=_prefix().replace("*", r"\*").replace("?", r"\?") + "*"))
    if keys and _prefix():
        client.delete(*keys)


@pytest.fixture
def queue():
    name = f"rd-fault-{uuid.uuid4().hex[:12]}"
    sent: list[str] = []
    yield name, sent
    _broker_cleanup(sent)


def _settings_are_fault_tolerant() -> None:
    options = app.conf.broker_transport_options
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert nightly_chunk.acks_late and nightly_chunk.reject_on_worker_lost
    assert options["visibility_timeout"] <= 10 and options.get("global_keyprefix")


# --- 1. a worker killed in the middle of the lapse step ----------------------------------------

def test_a_worker_killed_inside_the_lapse_chunk_commits_nothing_and_the_chunk_is_redone_once(
        portfolio, tmp_path, queue):
    _settings_are_fault_tolerant()
    queue_name, sent = queue
    expected = _uninterrupted_snapshot()
    faulty = Worker(tmp_path, queue_name, "faulty", NIGHTLY_FAULT_DELAY_STEP="lapse", NIGHTLY_FAULT_DELAY_SECONDS="60")
    workers = [faulty]  # the last one takes the chunks

    def kill_in_the_middle_of(chunk_id: int) -> None:
        def sleeping_in_the_lapse_transaction(previous_pid=None):
            holder = _holder(chunk_id)
            ok = (holder and holder["application_name"] == faulty.application_name and holder["lapse_sql_ran"]
                  and holder["state"] == "idle in transaction" and holder["pid"] != previous_pid)
            return holder if ok else None

        # a pool child has claimed the chunk, run the lapse SQL and sleeps in the hook, uncommitted
        first = _wait("the lapse chunk claimed by the worker", sleeping_in_the_lapse_transaction, 20, faulty)
        children = faulty.children()
        child = _owner_of_connection(children, first["client_port"])
        assert child is not None and child != faulty.process.pid, (children, first)
        os.kill(child, signal.SIGKILL)
        # reject_on_worker_lost: the message goes back to the queue, and a new pool child takes it
        second = _wait("the lapse chunk claimed again after the requeue",
                       lambda: sleeping_in_the_lapse_transaction(previous_pid=first["pid"]), 20, faulty)
        assert _owner_of_connection(faulty.children(), second["client_port"]) not in (None, child)
        # now the whole worker dies with the message unacknowledged
        faulty.kill()
        _wait("the killed worker's database sessions gone", lambda: _backends(faulty.application_name) == 0, 10)
        # nothing of either killed attempt is committed, and the chunk is free again
        assert _holder(chunk_id) is None
        assert Policy.objects.get(policy_no=BJ).status == "in_force"
        assert not PolicyStatusChange.objects.filter(policy__policy_no=BJ).exclude(status="in_force").exists()
        assert ChunkRun.objects.filter(pk=chunk_id, done=False, attempts=0).exists()
        # a fresh worker restores the unacknowledged message after the visibility timeout and does the chunk
        workers.append(Worker(tmp_path, queue_name, "fresh"))
        assert app.AsyncResult(sent[-1]).get(timeout=25) is True, workers[-1].output()
        assert ChunkRun.objects.get(pk=chunk_id).done

    def enqueue(chunk_id: int) -> None:
        sent.append(nightly_chunk.apply_async(args=[chunk_id], queue=queue_name).id)
        step = ChunkRun.objects.get(pk=chunk_id).step.step
        if step == "lapse":
            kill_in_the_middle_of(chunk_id)
        else:  # the orchestrator waits, so the worker (not the orchestrator) does every chunk
            _wait(f"{step} chunk done by the worker",
                  lambda: ChunkRun.objects.filter(pk=chunk_id, done=True).exists(), 20, workers[-1])

    try:
        faulty.wait_ready()
        run = nightly_run(as_of=AS_OF, enqueue=enqueue)
        assert run.status == "finished"
        assert "nightly_chunk" in faulty.output() and "SIGKILL" in faulty.output(), faulty.output()
        # every task succeeded in a worker: the lapse task once, in the fresh worker, redoing the chunk
        assert len(sent) == len(STEP_NAMES)
        assert [app.AsyncResult(task_id).get(timeout=10) for task_id in sent] == [True] * len(sent)
        _assert_done_once(expected)
        # rerunning the date changes nothing
        assert nightly_run(as_of=AS_OF).status == "finished"
        _assert_done_once(expected)
        for worker in workers:
            worker.stop()
        assert _queue_length(queue_name) == 0
        assert _redis().hlen(_prefix() + "unacked") == 0
    finally:
        for worker in workers:
            worker.stop()


# --- 2. two orchestrators for the same date at once --------------------------------------------

def test_two_pipelines_for_the_same_date_at_once_do_the_work_once(portfolio):
    expected = _uninterrupted_snapshot()
    barrier = threading.Barrier(2)
    results, errors = [None, None], []

    def orchestrate(index: int) -> None:
        from django.db import connection as own_connection  # this thread's own connection

        try:
            barrier.wait(timeout=10)
            results[index] = nightly_run(as_of=AS_OF)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            own_connection.close()

    threads = [threading.Thread(target=orchestrate, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert results[0].pk == results[1].pk and {r.status for r in results} == {"finished"}
    assert NightlyRun.objects.count() == 1 and StepRun.objects.count() == len(STEP_NAMES)
    _assert_done_once(expected)


# --- 3. no worker at all -----------------------------------------------------------------------

def test_with_no_worker_listening_the_orchestrator_does_every_chunk_itself(portfolio, queue):
    queue_name, sent = queue
    expected = _uninterrupted_snapshot()
    try:
        run = nightly_run(as_of=AS_OF, enqueue=lambda chunk_id: sent.append(
            nightly_chunk.apply_async(args=[chunk_id], queue=queue_name).id))
        assert run.status == "finished"
        _assert_done_once(expected)
        # one task per chunk was sent and is still waiting: nobody but the orchestrator did the work
        assert len(sent) == ChunkRun.objects.count() == len(STEP_NAMES)
        assert _queue_length(queue_name) == len(sent)
    finally:
        with app.connection_for_write() as conn:
            purged = conn.default_channel.queue_purge(queue_name)
            conn.default_channel.queue_delete(queue_name)
    assert purged == len(sent)
    assert _queue_length(queue_name) == 0


# --- 4. a worker stopped inside the lapse chunk's transaction ------------------------------------

def test_a_worker_stopped_inside_a_chunk_loses_it_when_the_server_ends_its_idle_transaction(
        portfolio, tmp_path, queue):
    _settings_are_fault_tolerant()
    queue_name, sent = queue
    expected = _uninterrupted_snapshot()
    # the worker's sessions are ended by the server after 4 s idle inside a transaction (5 minutes
    # by default, config/celery.py applies it to worker processes); it would sleep 10 s in the lapse
    # chunk's transaction, and is stopped there
    stalled = Worker(tmp_path, queue_name, "stalled", NIGHTLY_FAULT_DELAY_STEP="lapse",
                     NIGHTLY_FAULT_DELAY_SECONDS="10", WORKER_DB_IDLE_IN_TRANSACTION_TIMEOUT="4")
    stop: dict = {}

    def holding_the_lapse_chunk(chunk_id: int):
        holder = _holder(chunk_id)
        ok = (holder and holder["application_name"] == stalled.application_name and holder["lapse_sql_ran"]
              and holder["state"] == "idle in transaction")
        return holder if ok else None

    def enqueue(chunk_id: int) -> None:
        sent.append(nightly_chunk.apply_async(args=[chunk_id], queue=queue_name).id)
        step = ChunkRun.objects.get(pk=chunk_id).step.step
        if step == "lapse":
            stop["holder"] = _wait("the lapse chunk claimed by the worker", lambda: holding_the_lapse_chunk(chunk_id),
                                   20, stalled)
            stalled.pause()
            stop["at"], stop["chunk"] = timezone.now(), chunk_id
        elif not stop:  # before the lapse step the worker does every chunk; after it, the orchestrator
            _wait(f"{step} chunk done by the worker", lambda: ChunkRun.objects.filter(pk=chunk_id, done=True).exists(),
                  20, stalled)

    try:
        stalled.wait_ready()
        run = nightly_run(as_of=AS_OF, enqueue=enqueue)
        assert run.status == "finished"
        # the worker is still stopped: the chunk was taken from it, not given back
        assert [_process_state(pid) for pid in [stalled.process.pid, *stalled.children()]] == ["T", "T"]
        # the server ended the stopped worker's session (its transaction rolled back, its lock freed),
        # after the idle-in-transaction timeout, and the orchestrator did the chunk
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [stop["holder"]["pid"]])
            assert cursor.fetchone() == (0,)
        lapse_chunk = ChunkRun.objects.get(pk=stop["chunk"])
        assert lapse_chunk.done and lapse_chunk.finished_at - stop["at"] >= dt.timedelta(seconds=2)
        _assert_done_once(expected)

        # woken up, the worker finds its session gone: its attempt fails and changes nothing
        stalled.resume()
        _wait("every task sent to the worker finished", lambda: all(app.AsyncResult(t).ready() for t in sent), 60,
              stalled)
        assert len(sent) == len(STEP_NAMES)  # one chunk a step
        lapse_at = STEP_NAMES.index("lapse")
        outcomes = [app.AsyncResult(t).result if app.AsyncResult(t).successful() else "failed" for t in sent]
        assert outcomes[:lapse_at] == [True] * lapse_at
        assert outcomes[lapse_at] in ("failed", False)  # False: the message came again after the chunk was done
        assert outcomes[lapse_at + 1:] == [False] * (len(sent) - lapse_at - 1)
        assert "terminating connection due to idle-in-transaction timeout" in stalled.output(), stalled.output()
        _assert_done_once(expected)
    finally:
        stalled.stop()


# --- 5. the orchestrator's own threads -----------------------------------------------------------

def _sessions() -> tuple[int, int]:
    """(client sessions of this database open now besides this one, sessions ever established to it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "        AND backend_type = 'client backend' AND pid <> pg_backend_pid()), "
                       "       (SELECT sessions FROM pg_stat_database WHERE datname = current_database())")
        return cursor.fetchone()


def test_the_orchestrator_s_threads_keep_one_connection_each_for_the_run_and_close_them(portfolio, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 1)  # the two policies: two chunks for every chunked step
    open_before, sessions_before = _sessions()
    run = nightly_run(as_of=AS_OF)
    assert run.status == "finished"
    chunked = [name for name, _function, is_chunked in STEPS if is_chunked]
    chunks = list(ChunkRun.objects.select_related("step").order_by("step__position", "id_from"))
    assert len(chunks) == 2 * len(chunked) + (len(STEP_NAMES) - len(chunked))
    assert all(c.done and c.attempts == 1 and c.failures == 0 for c in chunks)
    # the threads' sessions end with the run (wait for the server to see them go) ...
    _wait("the orchestrator's thread sessions gone", lambda: _sessions()[0] == open_before, 30)
    _open_after, sessions_after = _sessions()
    # ... and there were at most one per thread, not one per chunk (2 x len(chunked) chunks)
    assert 1 <= sessions_after - sessions_before <= pipeline.LOCAL_THREADS
