"""The responses inbox of a mailing, for its organisation."""

from django.urls import path

from . import inbox

app_name = "mail_inbox"

urlpatterns = [
    path("<int:pk>/", inbox.inbox, name="inbox"),
    path("<int:pk>/export.csv", inbox.export, name="export"),
    path("<int:pk>/reactie/<int:response_pk>/", inbox.response_detail, name="response"),
    path(
        "<int:pk>/reactie/<int:response_pk>/status/",
        inbox.response_status,
        name="response_status",
    ),
    path("<int:pk>/foto/<int:entry_pk>/", inbox.photo, name="photo"),
]
