"""The responses inbox of a mailing, for its organisation."""

app_name = "mail_inbox"

urlpatterns: list = []
