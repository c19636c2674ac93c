"""A test-only page whose query outlives a statement timeout (core/tests/test_statement_timeout.py)."""

from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import path


def slow(request):
    with transaction.atomic(), connection.cursor() as cursor:
        # what the web's session option does, for this transaction only and 50 ms instead of seconds
        cursor.execute("SET LOCAL statement_timeout = '50ms'")
        cursor.execute("SELECT pg_sleep(2)")
    return HttpResponse("not reached")


urlpatterns = [path("slow/", slow)]
