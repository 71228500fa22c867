"""The site's URLs: the public registration site, staff screens and the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("beheer/", admin.site.urls),
    path("medewerkers/", include("apps.governance.urls")),
    path("meldkamer/", include("apps.actions.console_urls")),
    path("actie/", include("apps.actions.public_urls")),
    # Open publishing (issue 12): CAP 1.2 messages, Atom feeds, displays.
    path("cap/", include("apps.actions.cap_urls")),
    path("feeds/", include("apps.actions.feed_urls")),
    path("displays/", include("apps.actions.display_urls")),
    path("mail/", include("apps.mail.urls")),
    path("mail/reacties/", include("apps.mail.inbox_urls")),
    path("burgernetmail/", include("apps.mail.public_urls")),
    # The configured e-mail service's tracking webhook (anymail checks its auth or
    # signature); the other services' answer 404 (apps/channels/urls.py).
    path("anymail/", include("apps.channels.urls")),
    # The SMS and voice gateways' signed delivery reports (apps/channels/report_urls.py).
    path("kanalen/", include("apps.channels.report_urls")),
    path("", include("apps.participants.urls")),
]
# Uploads (MEDIA_ROOT) are never served as a folder, not even in development: photos go
# through views that check who may see them (as apps/actions/media.py).

# Error pages: 403, 404 and 500 are Django's handlers with templates/<status>.html; the
# 400 handler renders with the request so that 400.html can use the site's layout.
handler400 = "apps.governance.views.bad_request"
