"""Staff screens of Burgernetmail: compose, approve, send, the mailing page."""

app_name = "mail"

urlpatterns: list = []
