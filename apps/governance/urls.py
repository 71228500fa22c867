"""Staff screens: /medewerkers/."""

from django.urls import path

from . import manager_views, report_views, views

app_name = "governance"

urlpatterns = [
    path("", views.home, name="home"),
    path("inloggen/", views.login, name="login"),
    path("uitloggen/", views.logout, name="logout"),
    path("kanalen/", views.channels, name="channels"),
    path("kanalen/<str:channel>/", views.channel, name="channel"),
    path("kanalen/<str:channel>/plafond/", views.ceiling_add, name="ceiling_add"),
    path("kanalen/<str:channel>/test/", views.channel_test, name="channel_test"),
    path("plafonds/<int:pk>/verwijderen/", views.ceiling_remove, name="ceiling_remove"),
    path("jaarverslag/", report_views.annual_report, name="report"),
    path("jaarverslag/<slug:table>.csv", report_views.annual_report_csv, name="report_csv"),
    # The managers' pages (manager_views.py).
    path("audittrail/", manager_views.audit, name="audit"),
    path("audittrail/export/", manager_views.audit_export, name="audit_export"),
    path("bijdragen/", manager_views.contributions_index, name="contributions"),
    path("bijdragen/export/", manager_views.contributions_export, name="contributions_export"),
    path("bijdragen/tarief/", manager_views.contribution_rate_set, name="contribution_rate_set"),
    path("organisaties/", manager_views.organisations, name="organisations"),
    path("organisaties/<int:pk>/", manager_views.organisation, name="organisation"),
    path("bewaartermijnen/", manager_views.retention, name="retention"),
]
