"""Actions in the admin: scoped to the user's region, editable only as a draft and only
through the service; releasing, updating and ending happen in the operator console."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from apps.governance import policy
from apps.governance.admin_scope import (
    NationalSettingsAdminMixin,
    ReadOnlyAdminMixin,
    ScopedAdminMixin,
)
from apps.governance.models import PoliceUnit
from apps.governance.widgets import AdminCheckedFileInput, checked_link
from apps.web.forms import PhotoField

from . import approval, partners, selectors, services
from .forms import console_photo_url
from .models import (
    Action,
    ActionUpdate,
    ApprovalRule,
    EndMessage,
    PartnerFeed,
    PersonDescription,
    Tip,
    VehicleDescription,
)


class _DraftOnlyInline:
    """Rows that can be added, changed and deleted while their action is a draft."""

    extra = 0

    def _editable(self, request, obj) -> bool:
        return obj is None or (obj.can_edit() and policy.can(request.user, "action.manage", obj))

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._editable(request, obj)


class PersonDescriptionInline(_DraftOnlyInline, admin.TabularInline):
    model = PersonDescription


class VehicleDescriptionInline(_DraftOnlyInline, admin.TabularInline):
    model = VehicleDescription


class _ReadOnlyInline(ReadOnlyAdminMixin):
    extra = 0
    can_delete = False


class ActionUpdateInline(_ReadOnlyInline, admin.TabularInline):
    model = ActionUpdate
    fields = readonly_fields = ("created_at", "created_by", "text")


class EndMessageInline(_ReadOnlyInline, admin.StackedInline):
    model = EndMessage
    fields = readonly_fields = ("created_at", "created_by", "text")


class TipInline(_ReadOnlyInline, admin.TabularInline):
    model = Tip
    fields = readonly_fields = ("created_at", "text", "photo_link", "phone", "is_read")

    @admin.display(description=_("foto"))
    def photo_link(self, tip):
        # Through the checked view: a tip photo is for the staff of the action's region.
        if not tip.photo:
            return None
        return checked_link(reverse("console:tip_photo", kwargs={"pk": tip.pk}), _("foto bekijken"))


def _photo_as_link(fields) -> tuple:
    return tuple("photo_link" if name == "photo" else name for name in fields)


@admin.register(Action)
class ActionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "title",
        "kind",
        "state",
        "is_time_critical",
        "is_exercise",
        "police_unit",
        "released_at",
    )
    list_filter = ("state", "kind", "is_time_critical", "is_exercise", "result", "police_unit")
    list_select_related = ("police_unit",)
    search_fields = ("title", "text")
    date_hierarchy = "created_at"
    # Written by the services, never by hand: read-only on a draft too.
    history_fields = (
        "state",
        "approval_history",
        "result",
        "information_contributed",
        "calls_registered",
        "tips_counted",
        "municipality",
        "correction",
        "organisation",
        "created_by",
        "created_at",
        "released_at",
        "ended_at",
        "cancelled_at",
    )
    fieldsets = (
        (None, {"fields": ("kind", "is_time_critical", "is_exercise", "title", "text", "photo")}),
        (
            _("Tekst in andere talen en eigen sms"),
            {"fields": ("text_en", "text_de", "text_fr", "sms_text"), "classes": ("collapse",)},
        ),
        (_("Plaats"), {"fields": ("lat", "lon", "radius_m", "police_unit")}),
        (_("Verloop"), {"fields": history_fields}),
    )
    inlines = (
        PersonDescriptionInline,
        VehicleDescriptionInline,
        ActionUpdateInline,
        EndMessageInline,
        TipInline,
    )

    def scope_queryset(self, request, queryset):
        return queryset.filter(pk__in=selectors.visible_actions(request.user).values("pk"))

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self._editable(request, obj):
            # Read-only, the photo is a link to the checked view, not to its file.
            return [
                (name, {**options, "fields": _photo_as_link(options["fields"])})
                for name, options in self.fieldsets
            ]
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not self._editable(request, obj):
            return [
                f for _name, options in self.get_fieldsets(request, obj) for f in options["fields"]
            ]
        return self.history_fields

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "photo":
            kwargs["form_class"] = PhotoField  # refused on the form, not in save_model
            kwargs["widget"] = AdminCheckedFileInput(
                url_for=console_photo_url, label=_("huidige foto")
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("goedkeuring"))
    def approval_history(self, action):
        """The action's requests for approval (actions/approval.py), newest first."""
        rows = [
            format_html(
                "{}: {} ({}){}",
                row.get_state_display(),
                row.submitted_by.get_username(),
                date_format(localtime(row.submitted_at), "DATETIME_FORMAT"),
                format_html(", {}", row.decided_by.get_username()) if row.decided_by else "",
            )
            for row in action.approvals.select_related("submitted_by", "decided_by")
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((row,) for row in rows)) or "—"

    @admin.display(description=_("foto"))
    def photo_link(self, action):
        if not action.photo:
            return None
        return checked_link(console_photo_url(action), _("foto bekijken"))

    def _editable(self, request, obj) -> bool:
        return obj.can_edit() and policy.can(request.user, "action.manage", obj)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and policy.can(request.user, "action.manage")

    def has_delete_permission(self, request, obj=None):
        return False  # actions are records; a draft simply stays a draft

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is PoliceUnit:
            kwargs["queryset"] = selectors.units_in_scope(policy.user_scope(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        user = request.user

        class PlacedActionForm(form_class):
            """The centre must lie in the user's region: the service's rule, asked here
            too so that the admin shows it on the form instead of failing on save."""

            def clean(self):
                data = super().clean()
                kind = data.get("kind", getattr(self.instance, "kind", ""))
                if data.get("lat") is not None and data.get("lon") is not None:
                    problem = services.action_point_problem(
                        by=user, kind=kind, lat=data["lat"], lon=data["lon"]
                    )
                    if problem:
                        self.add_error("lat", problem)
                return data

        return PlacedActionForm

    def save_model(self, request, obj, form, change):
        services.action_save_draft(action=obj, by=request.user, changed=form.changed_data)


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(NationalSettingsAdminMixin, admin.ModelAdmin):
    """Which kinds need a second national operator's approval (actions/approval.py):
    country-wide managers add and remove them; an AMBER Alert needs it always and is not
    offered. Every change goes through approval.approval_rule_add / _remove (audited)."""

    fields = ("kind",)
    list_display = ("kind", "changed_by", "changed_at")

    def has_change_permission(self, request, obj=None):
        return False  # a rule is added or removed, not changed

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "kind":
            kwargs["choices"] = [
                (value, label)
                for value, label in Action.Kind.choices
                if value not in approval.ALWAYS
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        saved = approval.approval_rule_add(kind=obj.kind, by=request.user)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        approval.approval_rule_remove(rule=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            approval.approval_rule_remove(rule=rule, by=request.user)


# Alerts from across the border (partners.py) ---------------------------------------------------


@admin.register(PartnerFeed)
class PartnerFeedAdmin(NationalSettingsAdminMixin, admin.ModelAdmin):
    """The partners' alert feeds (Belgium, Germany) the scheduled task reads: nationwide
    managers add, change and remove them, through partners.partner_feed_save / _delete
    (URL rule, audit). When it was last read, and what went wrong, is shown read-only."""

    fields = ("name", "country", "url", "kind", "is_active", "last_checked_at", "last_error")
    readonly_fields = ("last_checked_at", "last_error")
    list_display = ("name", "country", "kind", "is_active", "last_checked_at", "last_error")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)

        class FeedForm(form_class):
            def clean_url(self):
                url = self.cleaned_data["url"]
                problem = partners.url_problem(url)
                if problem:
                    raise ValidationError(partners.MSG_URL % {"reason": problem})
                return url

        return FeedForm

    def save_model(self, request, obj, form, change):
        partners.partner_feed_save(feed=obj, by=request.user, changed=form.changed_data)

    def delete_model(self, request, obj):
        partners.partner_feed_delete(feed=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for feed in queryset:
            partners.partner_feed_delete(feed=feed, by=request.user)
