"""Burgernetmail in the admin: templates managed here; mailings and responses shown read-only
(they are written through the mail screens and the respond form), each narrowed to the
sending organisation, with the personal fields of responses for managers only."""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from apps.governance import audit, policy
from apps.governance.admin_scope import ReadOnlyAdminMixin, ScopedAdminMixin
from apps.governance.roles import Role, roles_of
from apps.governance.widgets import checked_link

from .email import image_path
from .inbox import photo_path
from .models import Mailing, MailingArea, MailTemplate, Response, ResponseEntry


def _nationwide(request) -> bool:
    return policy.user_scope(request.user).nationwide


def _is_manager(request) -> bool:
    return request.user.is_superuser or Role.MANAGER in roles_of(request.user)


class _ReadOnly(ReadOnlyAdminMixin):
    """Shown, never written here: the mail screens and the respond form write these."""


# Templates ---------------------------------------------------------------------------------


@admin.register(MailTemplate)
class MailTemplateAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """National templates (no organisation) are kept by country-wide managers; an
    organisation's own by its mail authors and managers."""

    list_display = ("name", "kind", "organisation", "subject")
    list_filter = ("kind", ("organisation", admin.EmptyFieldListFilter))
    list_select_related = ("organisation",)
    search_fields = ("name", "subject", "body")
    fields = ("kind", "name", "organisation", "subject", "body")

    def scope_queryset(self, request, queryset):
        if _nationwide(request):
            return queryset
        return queryset.filter(
            Q(organisation__isnull=True) | Q(organisation_id=request.user.organisation_id)
        )

    def _may_write(self, request, obj) -> bool:
        if obj is None or _nationwide(request):
            return True
        return obj.organisation_id is not None and obj.organisation_id == (
            request.user.organisation_id
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_write(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_write(request, obj)

    def get_readonly_fields(self, request, obj=None):
        # Outside the country-wide organisations a template is always one's own.
        return () if _nationwide(request) else ("organisation",)

    def save_model(self, request, obj, form, change):
        if not _nationwide(request):
            obj.organisation_id = request.user.organisation_id
        super().save_model(request, obj, form, change)
        verb = "mail_template.changed" if change else "mail_template.created"
        audit.record(verb=verb, request=request, target=obj, detail={"kind": obj.kind})

    def delete_model(self, request, obj):
        audit.record(verb="mail_template.deleted", request=request, target=obj)
        super().delete_model(request, obj)


# Mailings ----------------------------------------------------------------------------------


class MailingAreaInline(_ReadOnly, admin.TabularInline):
    model = MailingArea
    extra = 0
    fields = readonly_fields = (
        "kind",
        "postcode",
        "house_number_from",
        "house_number_to",
        "municipality",
        "lat",
        "lon",
        "radius_m",
    )


@admin.register(Mailing)
class MailingAdmin(_ReadOnly, ScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "subject",
        "kind",
        "state",
        "organisation",
        "shown_recipient_count",
        "response_count",
        "sent_at",
    )
    list_filter = ("state", "kind", "organisation")
    list_select_related = ("organisation",)
    search_fields = ("subject", "body", "incident_place")
    date_hierarchy = "created_at"
    inlines = (MailingAreaInline,)
    fieldsets = (
        (None, {"fields": ("kind", "subject", "body", "image_link")}),
        (_("Voorval"), {"fields": ("incident_date", "incident_place", "response_days")}),
        (
            _("Verloop"),
            {
                "fields": (
                    "organisation",
                    "author",
                    "state",
                    "submitted_by",
                    "submitted_at",
                    "approved_by",
                    "approved_at",
                    "rejection_reason",
                    "sent_at",
                    "shown_recipient_count",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )

    def scope_queryset(self, request, queryset):
        return queryset.filter(pk__in=Mailing.objects.visible_to(request.user).values("pk"))

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_responses=Count("responses"))

    def get_list_filter(self, request):
        return self.list_filter if _nationwide(request) else ("state", "kind")

    @admin.display(description=_("aantal ontvangers"), ordering="recipient_count")
    def shown_recipient_count(self, obj):
        return policy.shown_count(obj.recipient_count)

    @admin.display(description=_("reacties"), ordering="_responses")
    def response_count(self, obj):
        return obj._responses

    @admin.display(description=_("afbeelding"))
    def image_link(self, mailing):
        # Through the checked view: before sending, the image is for the organisation only.
        if not mailing.image:
            return None
        return checked_link(image_path(mailing), _("afbeelding bekijken"))


# Responses ---------------------------------------------------------------------------------


class ResponseEntryInline(_ReadOnly, admin.TabularInline):
    model = ResponseEntry
    extra = 0
    fields = readonly_fields = ("created_at", "observation", "observed_when", "photo_link")

    @admin.display(description=_("foto"))
    def photo_link(self, entry):
        # Through the inbox's checked view, for those who may read the mailing's responses.
        if not entry.photo:
            return None
        response = entry.response
        position = list(response.entries.values_list("pk", flat=True)).index(entry.pk) + 1
        url = photo_path(response.mailing_id, response.number, position)
        return checked_link(url, _("foto bekijken"))


PERSONAL_FIELDS = ("participant", "contact_name", "contact_phone", "contact_email", "may_call")


@admin.register(Response)
class ResponseAdmin(_ReadOnly, ScopedAdminMixin, admin.ModelAdmin):
    """Who answered (the participant, contact details, permission to call) is shown to
    managers only; the sending organisation reads its responses in the inbox."""

    list_display = ("__str__", "mailing", "status", "entry_count", "updated_at")
    list_filter = ("status",)
    list_select_related = ("mailing",)
    search_fields = ("mailing__subject", "entries__observation")
    inlines = (ResponseEntryInline,)

    def scope_queryset(self, request, queryset):
        visible = Mailing.objects.visible_to(request.user).values("pk")
        return queryset.filter(mailing__in=visible)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_entries=Count("entries"))

    def get_fields(self, request, obj=None):
        fields = ["mailing", "status", "created_at", "updated_at"]
        if _is_manager(request):
            fields[1:1] = PERSONAL_FIELDS
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def get_list_filter(self, request):
        return ("status", "may_call") if _is_manager(request) else ("status",)

    @admin.display(description=_("aanvullingen"), ordering="_entries")
    def entry_count(self, obj):
        return obj._entries
