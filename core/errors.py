from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ApplicationError(Exception):
    """A business rule refused the operation. The message is for the person who asked.

    `errors` maps a field name to a list of reasons, for forms and the API.
    """

    def __init__(self, message: StrOrPromise, *, errors: dict | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.status = status


class OutOfScope(Http404):
    """The object lies outside the actor's branches: answered exactly like one that does not
    exist (404), by pages and the API alike. Raised by the service that acts, so no view can
    forget the check; being an Http404, a view's `except ApplicationError` does not swallow it.

    The attempt is recorded at the edge (core.middleware for pages, core.api for the API), once
    the service's transaction has rolled back: a trail row written inside it would vanish with it.
    """

    def __init__(self, message: str = "not found", *, user=None, obj=None, what: str = ""):
        super().__init__(message)
        self.user, self.obj, self.what = user, obj, what


# Called with (exc, request_path) for every refused attempt; apps register in ready() (the trail
# entry, the security log, an alert on repeated attempts), so core imports none of them.
_OUT_OF_SCOPE_RECORDERS: list = []


def out_of_scope_recorder_register(recorder) -> None:
    if recorder not in _OUT_OF_SCOPE_RECORDERS:
        _OUT_OF_SCOPE_RECORDERS.append(recorder)


def out_of_scope_record(exc: OutOfScope, *, request_path: str = "") -> None:
    if getattr(exc, "recorded", False):
        return
    exc.recorded = True  # type: ignore[attr-defined]
    for recorder in list(_OUT_OF_SCOPE_RECORDERS):
        recorder(exc, request_path=request_path)
