"""Pages: a refused out-of-scope attempt is recorded once the view (and the service's
transaction) has unwound; Django then answers 404 as for anything that does not exist."""

from core.errors import OutOfScope, out_of_scope_record


class OutOfScopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OutOfScope):
            out_of_scope_record(exception, request_path=request.path)
        return None
