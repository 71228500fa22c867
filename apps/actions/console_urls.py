"""The operator console (meldkamer): staff screens for actions."""

from django.urls import path

from . import console, media

app_name = "console"

urlpatterns = [
    path("", console.index, name="index"),
    path("actief/", console.active, name="active"),
    path("nieuw/", console.create, name="create"),
    path("bereik/", console.reach, name="reach"),
    path("adres/", console.address, name="address"),
    path("<int:pk>/", console.detail, name="detail"),
    path("buren/<int:pk>/", console.neighbour, name="neighbour"),
    path("<int:pk>/live/", console.live, name="live"),
    path("<int:pk>/foto/", media.console_action_photo, name="photo"),
    path("<int:pk>/bewerken/", console.edit, name="edit"),
    path("<int:pk>/versturen/", console.release, name="release"),
    path("<int:pk>/update/", console.update, name="update"),
    path("<int:pk>/beeindigen/", console.end, name="end"),
    path("<int:pk>/intrekken/", console.cancel, name="cancel"),
    path("<int:pk>/uitkomst/", console.outcome, name="outcome"),
    path("<int:pk>/stoppen/", console.stop, name="stop"),
    path("goedkeuring/", console.awaiting, name="awaiting"),
    path("<int:pk>/indienen/", console.submit, name="submit"),
    path("<int:pk>/terugnemen/", console.withdraw, name="withdraw"),
    path("<int:pk>/goedkeuren/", console.approve, name="approve"),
    path("<int:pk>/terugsturen/", console.return_, name="return"),
    path("tips/<int:pk>/gelezen/", console.tip_read, name="tip_read"),
    path("tips/<int:pk>/foto/", media.tip_photo, name="tip_photo"),
    path("grens/", console.partner_alerts, name="partner_alerts"),
    path("grens/<int:pk>/overnemen/", console.partner_adopt, name="partner_adopt"),
]
