"""Python's cyclic garbage collector paused while a bulk job builds objects that live until it
ends.

The collector runs after every 700 new container objects and, now and then, walks every object
the process holds. A 100,000-line bank statement builds hundreds of thousands of them (its parsed
lines, their texts and identities, the numbers each names) and keeps them all until the import
ends, so each walk finds nothing to free: on the migration bench the walks were 1.0-1.4 s of the
2.4-2.9 s the statement's parse, stage rows and numbers take before its parts start
(bench/RESULTS.md part 32). Nothing is lost by pausing: objects without reference cycles are freed
at once as always, and those with cycles at the first collection after the pause.

The pause is the process's (the collector is): while any thread is inside collection_paused()
nothing is collected, and the collector is enabled again when the last one leaves, if it was
enabled when the first came in.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0
_was_enabled = False


@contextmanager
def collection_paused() -> Iterator[None]:
    global _inside, _was_enabled
    with _lock:
        if _inside == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _was_enabled:
                gc.enable()
