"""Citizens' side of Burgernetmail: respond to a mailing, unsubscribe."""

app_name = "mail_public"

urlpatterns: list = []
