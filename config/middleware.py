import time

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers


class ChosenLanguageMiddleware:
    """Simplified Chinese unless the user chose another language with the switch.

    Unlike Django's LocaleMiddleware this ignores the browser's Accept-Language, so an
    English-language browser in a township office still gets the Chinese interface.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ["Cookie"])
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


class NoStoreMiddleware:
    """Cache-Control: no-store on every page and export Liudong renders (static files are
    served before this by WhiteNoise, with their own long cache): member pages, ledgers and
    exports must not stay in a shared computer's browser cache or a proxy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        return response


class SlidingSessionMiddleware:
    """The idle timeout (SESSION_COOKIE_AGE after the last request) without a session write on
    every page: a signed-in session is saved, and its expiry moved on, at most once per
    SESSION_SLIDE_SECONDS. Three queries a page fewer than SESSION_SAVE_EVERY_REQUEST; the
    session ends between SESSION_COOKIE_AGE minus that and SESSION_COOKIE_AGE after the last
    request. Inside SessionMiddleware, which saves a modified session."""

    KEY = "_slid_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.session_key and not session.is_empty():
            now = int(time.time())
            if now - session.get(self.KEY, 0) >= settings.SESSION_SLIDE_SECONDS:
                session[self.KEY] = now
        return response
