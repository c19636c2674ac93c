from .base import *  # noqa: F401,F403
from .base import env

# bin/dev serves as production does: DEBUG off, the product's own 403/404/500 pages, static files
# by whitenoise from var/staticfiles (bin/dev collects them). DJANGO_DEBUG=1 asks for Django's
# debug pages.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
