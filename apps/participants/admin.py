"""Participants in the admin: only for managers (policy "participant.view"); read-only,
and deleting goes through the same service as a citizen's own deletion."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.governance.policy import can

from . import services
from .models import Address, Participant
from .phones import parse_mobile


class _ManagersOnly:
    def has_module_permission(self, request):
        return can(request.user, "participant.view")

    def has_view_permission(self, request, obj=None):
        return can(request.user, "participant.view")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AddressInline(_ManagersOnly, admin.TabularInline):
    model = Address
    extra = 0
    fields = (
        "label",
        "country",
        "postcode",
        "house_number",
        "house_number_suffix",
        "municipality",
        "lat",
        "lon",
        "always_active",
        "windows_display",
    )
    readonly_fields = fields
    show_change_link = False

    @admin.display(description=_("actief op"))
    def windows_display(self, obj):
        if obj.always_active:
            return _("altijd")
        return "; ".join(str(w) for w in obj.windows.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("windows")


class ConfirmedFilter(admin.SimpleListFilter):
    title = _("nummer bevestigd")
    parameter_name = "confirmed"

    def lookups(self, request, model_admin):
        return [("yes", _("ja")), ("no", _("nee"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(phone_confirmed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(phone_confirmed_at__isnull=True)
        return queryset


@admin.register(Participant)
class ParticipantAdmin(_ManagersOnly, admin.ModelAdmin):
    list_display = (
        "__str__",
        "phone",
        "phone_confirmed_at",
        "email_confirmed_at",
        "wants_sms",
        "wants_voice",
        "wants_email",
        "created_at",
    )
    list_filter = (
        ConfirmedFilter,
        "wants_sms",
        "wants_voice",
        "wants_email",
        "addresses__country",
        ("addresses__municipality", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("=phone", "email", "addresses__postcode")
    date_hierarchy = "created_at"
    inlines = [AddressInline]
    readonly_fields = (
        "phone",
        "phone_confirmed_at",
        "email",
        "email_confirmed_at",
        "email_postcode",
        "email_municipality",
        "wants_sms",
        "wants_voice",
        "wants_email",
        "quiet_start",
        "quiet_end",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields

    def get_queryset(self, request):
        if not can(request.user, "participant.view"):
            return Participant.objects.none()
        return super().get_queryset(request)

    def get_search_results(self, request, queryset, search_term):
        # Staff type numbers as they are written ("06 1234 5678"); stored is E.164.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            phone = parse_mobile(search_term)
        except ValidationError:
            return results, may_have_duplicates
        return results | queryset.filter(phone=phone), may_have_duplicates

    def has_delete_permission(self, request, obj=None):
        return can(request.user, "participant.delete")

    def delete_model(self, request, obj):
        services.delete_participant(participant=obj, by=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for participant in queryset:
            services.delete_participant(participant=participant, by=request.user, request=request)
