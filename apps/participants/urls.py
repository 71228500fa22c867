"""The public site's URLs (Dutch paths)."""

from django.urls import path

from . import staff, views, webapp

app_name = "participants"

urlpatterns = [
    path("", views.home, name="home"),
    path("aanmelden/", views.register, name="register"),
    path("aanmelden/code/<str:token>/", views.confirm_phone, name="confirm_phone"),
    path("aanmelden/code/<str:token>/nieuwe-code/", views.resend_code, name="resend_code"),
    path("aanmelden/klaar/", views.registered, name="registered"),
    path("e-mail/bevestigen/<str:token>/", views.confirm_email, name="confirm_email"),
    path("beheren/", views.manage_request, name="manage_request"),
    path("beheren/verstuurd/", views.manage_sent, name="manage_sent"),
    path("beheren/link/<str:token>/", views.manage_link, name="manage_link"),
    path("beheren/gegevens/", views.manage, name="manage"),
    path("beheren/keuzes/", views.manage_preferences, name="manage_preferences"),
    path("beheren/e-mail/", views.manage_email, name="manage_email"),
    path("beheren/adres/nieuw/", views.address_add, name="address_add"),
    path("beheren/adres/<int:pk>/", views.address_edit, name="address_edit"),
    path("beheren/adres/<int:pk>/verwijderen/", views.address_delete, name="address_delete"),
    path("beheren/afmelden/", views.delete, name="delete"),
    path("beheren/uitloggen/", views.manage_logout, name="manage_logout"),
    path("afgemeld/", views.deleted, name="deleted"),
    # The web app (installable; its service worker's scope is /app/).
    path("app/", webapp.app, name="webapp"),
    path("app/manifest.webmanifest", webapp.manifest, name="webapp_manifest"),
    path("app/sw.js", webapp.service_worker, name="webapp_worker"),
    path("app/abonnement/", webapp.subscribe, name="webapp_subscribe"),
    path("app/gebied/", webapp.report_cell, name="webapp_cell"),
    path("app/plekken/", webapp.places, name="webapp_places"),
    path("app/plekken/nieuw/", webapp.place_add, name="webapp_place_add"),
    path("app/plekken/verwijderen/", webapp.place_remove, name="webapp_place_remove"),
    path("app/test/", webapp.send_test, name="webapp_test"),
    path("app/uit/", webapp.unsubscribe, name="webapp_unsubscribe"),
    path("app/geopend/", webapp.opened, name="webapp_opened"),
    # A manager's test push to the web app on their own device (the channel settings).
    path("app/testmelding-beheer/", staff.device_test, name="staff_device_test"),
]
