"""core.collector: the cyclic collector paused inside, as it was afterwards, whatever the nesting."""

import gc
import threading

import pytest

from core.collector import collection_paused


@pytest.fixture(autouse=True)
def collector_restored():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_paused_inside_and_enabled_again_after():
    gc.enable()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled_after():
    gc.disable()
    with collection_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_error_inside_still_ends_the_pause():
    gc.enable()
    with pytest.raises(ValueError), collection_paused():
        raise ValueError("a bad file")
    assert gc.isenabled()


def test_the_collector_is_enabled_again_only_when_the_last_thread_leaves():
    gc.enable()
    entered, leave = threading.Event(), threading.Event()

    def other() -> None:
        with collection_paused():
            entered.set()
            leave.wait(timeout=30)

    thread = threading.Thread(target=other)
    thread.start()
    assert entered.wait(timeout=30)
    with collection_paused():
        pass
    assert not gc.isenabled()  # the other thread is still inside
    leave.set()
    thread.join(timeout=30)
    assert gc.isenabled()
