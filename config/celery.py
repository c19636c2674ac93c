import os

from celery import Celery
from celery.signals import celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("renewal_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
def worker_database_sessions(**_kwargs) -> None:
    """A worker's database sessions get the workers' timeouts (settings.DATABASE_WORKER_SESSION_OPTIONS):
    workers hold the nightly chunks' transactions, and a worker that hangs or whose host vanishes must
    lose its chunk within minutes. Sent once when a worker starts, before its pool processes fork and
    before any of them connects; the web, beat and commands keep the default options."""
    from django.conf import settings

    settings.DATABASES["default"]["OPTIONS"]["options"] = settings.DATABASE_WORKER_SESSION_OPTIONS
