"""Staff screens of Burgernetmail: compose, approve, send, the mailing page."""

from django.urls import path

from . import views

app_name = "mail"

urlpatterns = [
    path("", views.index, name="index"),
    path("nieuw/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/bewerken/", views.edit, name="edit"),
    path("<int:pk>/gebieden/", views.areas, name="areas"),
    path("<int:pk>/gebieden/<int:area_pk>/verwijderen/", views.area_remove, name="area_remove"),
    path("<int:pk>/ontvangers/", views.recipient_count, name="recipient_count"),
    path("<int:pk>/versturen/", views.send, name="send"),
    path("<int:pk>/goedkeuren/", views.approve, name="approve"),
    path("<int:pk>/afwijzen/", views.reject, name="reject"),
    path("<int:pk>/terughalen/", views.withdraw, name="withdraw"),
    path("<int:pk>/beeindigen/", views.end, name="end"),
]
