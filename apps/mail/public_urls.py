"""Citizens' side of Burgernetmail: respond to a mailing, unsubscribe."""

from django.urls import path

from . import public

app_name = "mail_public"

urlpatterns = [
    path("afbeelding/<uuid:ref>/", public.mailing_image, name="image"),
    path("reageren/<str:token>/", public.respond, name="respond"),
    path("afmelden/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path(
        "afmelden/<str:token>/een-klik/",
        public.unsubscribe_one_click,
        name="unsubscribe_one_click",
    ),
]
