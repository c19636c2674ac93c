import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")
application = get_wsgi_application()

# the web's database sessions: a statement timeout (WEB_DB_STATEMENT_TIMEOUT), which commands lack
from core.db_sessions import web_database_sessions  # noqa: E402  (after Django is set up)

web_database_sessions()
