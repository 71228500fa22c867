"""Participants and web-app devices in the admin: only for managers (policy
"participant.view"); read-only, and deleting goes through the same service as a citizen's
own deletion. Of a device, managers may change only whether it is a staff test device."""

import re
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from apps.governance import audit
from apps.governance.admin_scope import ReadOnlyAdminMixin
from apps.governance.policy import can

from . import devices, services, sms_budget
from .models import Address, Device, Participant, SmsBudget
from .phones import parse_mobile


class _ManagersOnly(ReadOnlyAdminMixin):
    def has_module_permission(self, request):
        return can(request.user, "participant.view")

    def has_view_permission(self, request, obj=None):
        return can(request.user, "participant.view")


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


class SearchByKey:
    """A search that keeps what was searched for (a phone number, an e-mail address) out
    of the address, and so out of the browser's history and every access log.

    The search box posts its term (templates/admin/participants/participant/
    search_form.html). The term is kept in the staff member's own session under a keyed
    digest of it, and the list's address carries only that key (`?q=k-…`), which the
    filters, the pages and the links back from a participant keep. The key means nothing
    outside the session that searched: in another session it finds nothing. A term typed
    into the address by hand is turned into a key the same way, at once.
    """

    SESSION_KEY = "participants.admin-searches"
    REMEMBERED = 20  # a staff member's last searches
    _KEY = re.compile(r"k-[0-9a-f]{20}")

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and SEARCH_VAR in request.POST:
            return self._search_redirect(request, request.POST)
        term = request.GET.get(SEARCH_VAR, "")
        if term and not self._KEY.fullmatch(term):
            return self._search_redirect(request, request.GET)
        return super().changelist_view(request, extra_context)

    def _search_redirect(self, request, params):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        query = [
            (name, values)
            for name, values in params.lists()
            if name not in (SEARCH_VAR, "csrfmiddlewaretoken")
        ]
        term = params.get(SEARCH_VAR, "")
        if term.strip():
            query.append((SEARCH_VAR, [self._remember(request, term)]))
        encoded = urlencode(query, doseq=True)
        return HttpResponseRedirect(request.path + (f"?{encoded}" if encoded else ""))

    def _remember(self, request, term: str) -> str:
        key = "k-" + salted_hmac(self.SESSION_KEY, term, algorithm="sha256").hexdigest()[:20]
        searches = dict(request.session.get(self.SESSION_KEY) or {})
        searches.pop(key, None)
        searches[key] = term
        request.session[self.SESSION_KEY] = dict(list(searches.items())[-self.REMEMBERED :])
        return key

    def searched_term(self, request, key: str) -> str:
        """The term behind a key of this session ("" for a key of another); anything that
        is not a key is the term itself."""
        if not self._KEY.fullmatch(key):
            return key
        return (request.session.get(self.SESSION_KEY) or {}).get(key, "")

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        changelist.query = self.searched_term(request, changelist.query)  # the box shows it
        return changelist

    def get_search_results(self, request, queryset, search_term):
        term = self.searched_term(request, search_term)
        if not term:
            return queryset, False
        return super().get_search_results(request, queryset, term)


@admin.register(Participant)
class ParticipantAdmin(SearchByKey, _ManagersOnly, admin.ModelAdmin):
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
        search_term = self.searched_term(request, search_term)
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            phone = parse_mobile(search_term)
        except ValidationError:
            return results, may_have_duplicates
        return results | queryset.filter(phone=phone), may_have_duplicates

    def has_delete_permission(self, request, obj=None):
        return can(request.user, "participant.delete")

    def delete_model(self, request, obj):
        services.participant_delete(participant=obj, by=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for participant in queryset:
            services.participant_delete(participant=participant, by=request.user, request=request)


class CellFilter(admin.SimpleListFilter):
    title = _("gebied")
    parameter_name = "cell"

    def lookups(self, request, model_admin):
        return [
            ("fresh", _("bekend (jonger dan 24 uur)")),
            ("stale", _("verouderd, nog niet vergeten")),
            ("none", _("geen gebied")),
        ]

    def queryset(self, request, queryset):
        cutoff = timezone.now() - devices.CELL_MAX_AGE
        if self.value() == "fresh":
            return queryset.filter(cell_updated_at__gte=cutoff)
        if self.value() == "stale":
            return queryset.filter(cell_updated_at__lt=cutoff)
        if self.value() == "none":
            return queryset.filter(cell_updated_at__isnull=True)
        return queryset


_DEVICE_CODE = re.compile(r"[0-9a-f]{8}")


@admin.register(Device)
class DeviceAdmin(_ManagersOnly, admin.ModelAdmin):
    """The push endpoint and keys are the subscriber's secrets: the admin never shows them.
    Nor the names users gave their fixed places (one may say whose house it is): only the
    places' cells."""

    list_display = (
        "__str__",
        "device_code",
        "cell",
        "cell_fresh",
        "cell_age",
        "is_test_device",
        "language",
        "created_at",
        "last_seen_at",
    )
    list_filter = ("is_test_device", CellFilter, "language")
    search_fields = ("=cell",)
    date_hierarchy = "created_at"
    actions = ["mark_test_device", "unmark_test_device"]
    readonly_fields = (
        "device_code",
        "cell",
        "cell_updated_at",
        "cell_age",
        "place_cells",
        "language",
        "created_at",
        "last_seen_at",
    )
    fields = ("device_code", "is_test_device", *readonly_fields[1:])

    @admin.display(description=_("apparaatcode"))
    def device_code(self, obj):
        return str(obj.ref)[:8]

    @admin.display(description=_("vaste plekken"))
    def place_cells(self, obj):
        cells = [place.cell for place in obj.places.all()]
        return ", ".join(cells) if cells else "–"

    @admin.display(description=_("gebied actueel"), boolean=True)
    def cell_fresh(self, obj):
        if obj.cell_updated_at is None:
            return None
        return obj.cell_updated_at >= timezone.now() - devices.CELL_MAX_AGE

    @admin.display(description=_("gebied gemeld"), ordering="cell_updated_at")
    def cell_age(self, obj):
        if obj.cell_updated_at is None:
            return "–"
        return _("%(time)s geleden") % {"time": timesince(obj.cell_updated_at)}

    def get_queryset(self, request):
        if not can(request.user, "participant.view"):
            return Device.objects.none()
        return super().get_queryset(request).defer("endpoint", "p256dh", "auth")

    def get_search_results(self, request, queryset, search_term):
        # Staff find their own phone by the code the app shows on its page.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lower()
        if _DEVICE_CODE.fullmatch(term):
            results = results | queryset.filter(ref__startswith=term)
        return results, may_have_duplicates

    def has_change_permission(self, request, obj=None):
        return can(request.user, "participant.view")

    def save_model(self, request, obj, form, change):
        stored = Device.objects.get(pk=obj.pk)
        devices.device_set_test(
            device=stored, is_test_device=obj.is_test_device, by=request.user, request=request
        )

    def save_related(self, request, form, formsets, change):
        pass  # a device has no related rows to edit

    @admin.action(description=_("Markeren als testapparaat"), permissions=["change"])
    def mark_test_device(self, request, queryset):
        for device in queryset:
            devices.device_set_test(
                device=device, is_test_device=True, by=request.user, request=request
            )

    @admin.action(description=_("Markering testapparaat weghalen"), permissions=["change"])
    def unmark_test_device(self, request, queryset):
        for device in queryset:
            devices.device_set_test(
                device=device, is_test_device=False, by=request.user, request=request
            )


@admin.register(SmsBudget)
class SmsBudgetAdmin(admin.ModelAdmin):
    """The service SMS budget: managers see what was sent this hour and raise the limits
    (a TV appeal). One row; a change is audited."""

    fields = ("per_number_per_day", "per_hour", "sent_this_hour")
    readonly_fields = ("sent_this_hour",)
    list_display = ("__str__", "per_number_per_day", "per_hour", "sent_this_hour")

    @admin.display(description=_("verstuurd in het afgelopen uur"))
    def sent_this_hour(self, obj):
        return sms_budget.sent_in_hour()

    def _manager(self, request) -> bool:
        return can(request.user, "settings.manage")

    def has_module_permission(self, request):
        return self._manager(request)

    def has_view_permission(self, request, obj=None):
        return self._manager(request)

    def has_change_permission(self, request, obj=None):
        return self._manager(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        SmsBudget.current()  # the one row exists once a manager looks
        return super().get_queryset(request)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            verb="sms_budget.changed",
            request=request,
            target=obj,
            detail={"per_number_per_day": obj.per_number_per_day, "per_hour": obj.per_hour},
        )
