"""Pages: a refused out-of-scope attempt is recorded once the view (and the service's
transaction) has unwound; Django then answers 404 as for anything that does not exist. A query
cancelled by the web's statement timeout answers with the "took too long" page."""

import logging

from django.db import OperationalError
from django.shortcuts import render
from psycopg.errors import QueryCanceled

from core.errors import OutOfScope, out_of_scope_record

logger = logging.getLogger(__name__)


class OutOfScopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OutOfScope):
            out_of_scope_record(exception, request_path=request.path)
        return None


class StatementTimeoutMiddleware:
    """A page whose query the web's statement timeout cancelled (settings.WEB_DB_STATEMENT_TIMEOUT)
    answers with the product's "took too long" page (503), logged with the path and the user, not a
    500. The page reads nothing from the database: the failed query may have left the request's
    transaction unusable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not (isinstance(exception, OperationalError) and isinstance(exception.__cause__, QueryCanceled)):
            return None
        user = getattr(request, "user", None)
        logger.warning("statement timeout: path=%s user=%s", request.get_full_path(),
                       user.get_username() if user is not None and user.is_authenticated else "-")
        return render(request, "errors/timeout.html", status=503)
