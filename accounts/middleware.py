import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

SESSION_STARTED = "_rd_started"
SESSION_LAST_SEEN = "_rd_last_seen"


class UserLanguageMiddleware:
    """Chinese unless the user chose English: the user's saved choice, else the language cookie.

    The browser's Accept-Language is not consulted (DESIGN.md section 4), so Django's
    LocaleMiddleware is not used.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = None
        if user is not None and user.is_authenticated:
            language = user.language
        if language not in self.supported:
            language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            # the thread serves the next request, task or test: one user's language must not stay
            translation.deactivate()
        response.headers.setdefault("Content-Language", language)
        return response


class SessionTimeoutMiddleware:
    """Ends a session idle for SESSION_IDLE_TIMEOUT_SECONDS or older than
    SESSION_ABSOLUTE_TIMEOUT_SECONDS, whatever the user does."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            started = request.session.get(SESSION_STARTED)
            last_seen = request.session.get(SESSION_LAST_SEEN)
            if started is None:
                request.session[SESSION_STARTED] = now
                started = now
            idle_over = last_seen is not None and now - last_seen > settings.SESSION_IDLE_TIMEOUT_SECONDS
            absolute_over = now - started > settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS
            if idle_over or absolute_over:
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                messages.info(request, _("Your session has expired. Please sign in again."))
                return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.path}")
            request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)
