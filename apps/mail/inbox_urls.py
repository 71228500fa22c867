"""The responses inbox of a mailing, for its organisation."""

from django.urls import path

from . import inbox

app_name = "mail_inbox"

urlpatterns = [
    path("<int:pk>/", inbox.inbox, name="inbox"),
    path("<int:pk>/export.csv", inbox.export, name="export"),
    # A response by its number within the mailing (Response.number), a photo by the
    # number of its entry within the response: no database ids in the inbox's addresses.
    path("<int:pk>/reactie/<int:number>/", inbox.response_detail, name="response"),
    path(
        "<int:pk>/reactie/<int:number>/status/",
        inbox.response_status,
        name="response_status",
    ),
    path("<int:pk>/reactie/<int:number>/foto/<int:entry>/", inbox.photo, name="photo"),
]
