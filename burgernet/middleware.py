"""Language choice: Dutch unless the visitor chose another language with the switch.

Django's LocaleMiddleware would follow the browser's Accept-Language, and many Dutch
people run an English browser; a Dutch government site speaks Dutch until asked not to.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChosenLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
