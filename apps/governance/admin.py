"""Admin of geography, organisations, staff users, their authenticators and the audit trail."""

import datetime as dt
from decimal import Decimal

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, Model, OuterRef, QuerySet
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.channels import kinds as channel_kinds
from apps.channels.models import CeilingStep, ChannelSetting, OutgoingMessage, WebhookSubscription
from apps.channels.senders import webhook as webhook_sender

from . import audit, policy, services, totp
from .admin_scope import NationalSettingsAdminMixin, ReadOnlyAdminMixin, ScopedAdminMixin
from .models import (
    AuditEntry,
    Municipality,
    Organisation,
    PoliceUnit,
    PostcodeArea,
    Province,
    SafetyRegion,
    User,
)
from .roles import ROLE_LABELS, Role, group_name

# Fields whose values never reach the audit trail, only that they changed: passwords,
# secrets, keys and tokens, and a staff member's private mobile number.
_HIDDEN_FIELD_PARTS = ("password", "secret", "key", "token", "otp")
_HIDDEN_FIELDS = frozenset({"phone"})


def _is_hidden(name: str) -> bool:
    return name in _HIDDEN_FIELDS or any(part in name.lower() for part in _HIDDEN_FIELD_PARTS)


def _audit_value(value):
    """A field's value as the audit trail keeps it: plain JSON, objects by their name,
    roles by their label, lists sorted."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Group):
        return str(ROLE_LABELS.get(value.name, value.name))
    if isinstance(value, Model):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, QuerySet | list | tuple | set | frozenset):
        return sorted((_audit_value(item) for item in value), key=str)
    return str(value)


def _as_objects(field, value):
    """A model choice field's initial value (pks, or objects) as objects, found without the
    field's scoped queryset so that an old value outside the scope still has its name."""
    model = field.queryset.model
    if isinstance(field, forms.ModelMultipleChoiceField):
        items = list(value or [])
        pks = [item.pk if isinstance(item, Model) else item for item in items]
        return list(model._default_manager.filter(pk__in=pks))
    if value is None or value == "" or isinstance(value, Model):
        return value
    return model._default_manager.filter(pk=value).first() or value


def form_changes(form, *, add: bool, hidden: frozenset[str] = frozenset()) -> list[dict]:
    """What a submitted admin form changed: per field its name, label, old and new value;
    for a hidden field (a password, a secret) only that it changed."""
    changes = []
    for name in form.changed_data:
        field = form.fields.get(name)
        if field is None:
            # A name the form made up (the password form's "password").
            secret = _is_hidden(name) or name in hidden
            changes.append({"field": name, "hidden": True} if secret else {"field": name})
            continue
        change = {"field": name, "label": str(field.label or name)}
        if _is_hidden(name) or name in hidden:
            change["hidden"] = True
        else:
            old = None if add else form.get_initial_for_field(field, name)
            if isinstance(field, forms.ModelChoiceField) and not add:
                old = _as_objects(field, old)
            change["old"] = _audit_value(old)
            change["new"] = _audit_value(form.cleaned_data.get(name))
        changes.append(change)
    return changes


class AuditedAdminMixin:
    """Admin additions, changes and deletions of governance objects also reach the audit
    trail: the names of the changed fields (Django's change message) and, per field, its
    old and new value ("changes"); passwords, secrets and private numbers only by name,
    and the fields an admin names in `audit_hidden_fields`."""

    audit_hidden_fields: frozenset[str] = frozenset()

    def construct_change_message(self, request, form, formsets, add=False):
        # Called after the form is saved and before log_addition / log_change: the form
        # still knows its initial (old) values.
        try:
            request._audit_changes = form_changes(
                form, add=add, hidden=frozenset(self.audit_hidden_fields)
            )
        except Exception:  # noqa: BLE001 — never lose the save over the audit's detail
            request._audit_changes = [{"field": name} for name in form.changed_data]
        return super().construct_change_message(request, form, formsets, add)

    def audit_target(self, obj):
        """What the audit entry is about (the object itself; an admin may name its owner)."""
        return obj

    def audit_verb(self, obj, what: str) -> str:
        return f"{obj._meta.model_name}.{what}"

    def _audit(self, request, obj, what: str, message="") -> None:
        detail = {"fields": message} if message else {}
        changes = getattr(request, "_audit_changes", None)
        if changes and what in ("added", "changed"):
            detail["changes"] = changes
            request._audit_changes = None
        audit.record(
            verb=self.audit_verb(obj, what),
            actor=request.user,
            target=self.audit_target(obj),
            request=request,
            detail=detail,
        )

    def log_addition(self, request, obj, message):
        self._audit(request, obj, "added", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, obj, "changed", message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "deleted")
        return super().log_deletions(request, queryset)


@admin.register(Province)
class ProvinceAdmin(admin.ModelAdmin):
    list_display = ["name", "municipality_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_municipalities=Count("municipalities"))

    @admin.display(description=_("gemeenten"), ordering="_municipalities")
    def municipality_count(self, obj):
        return obj._municipalities


@admin.register(SafetyRegion)
class SafetyRegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "province"]
    list_filter = ["province"]
    search_fields = ["code", "name"]


@admin.register(PoliceUnit)
class PoliceUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "is_national"]
    list_filter = ["is_national"]
    search_fields = ["name"]


@admin.register(Municipality)
class MunicipalityAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    scope_municipality_path = "pk"
    list_display = ["code", "name", "province", "safety_region", "police_unit", "inhabitants"]
    list_filter = ["province", "police_unit", "safety_region"]
    list_select_related = ["province", "safety_region", "police_unit"]
    search_fields = ["code", "name"]
    readonly_fields = ["code"]


@admin.register(PostcodeArea)
class PostcodeAreaAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_municipality_path = "municipality"
    list_display = ["pc4", "place", "municipality", "lat", "lon"]
    list_filter = ["municipality__province", "municipality__police_unit"]
    list_select_related = ["municipality"]
    search_fields = ["pc4", "place", "municipality__name"]
    autocomplete_fields = ["municipality"]


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = [
            "name",
            "kind",
            "police_unit",
            "municipality",
            "municipalities",
            "requires_mail_approval",
            "is_active",
        ]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        Kind = Organisation.Kind
        if kind == Kind.CONTROL_ROOM and not cleaned.get("police_unit"):
            self.add_error("police_unit", _("Een meldkamer hoort bij een regionale eenheid."))
        if kind == Kind.MUNICIPALITY and not cleaned.get("municipality"):
            self.add_error("municipality", _("Kies de gemeente."))
        if kind == Kind.POLICE_TEAM and not cleaned.get("municipalities"):
            self.add_error("municipalities", _("Kies de gemeenten van het team."))
        return cleaned


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    form = OrganisationForm
    list_display = ["name", "kind", "police_unit", "municipality", "is_active", "user_count"]
    list_filter = ["kind", "is_active", "requires_mail_approval", "police_unit"]
    list_select_related = ["police_unit", "municipality"]
    search_fields = ["name", "municipality__name", "municipalities__name"]
    filter_horizontal = ["municipalities"]
    autocomplete_fields = ["municipality"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(pk__in=policy.visible_organisations(request.user).values("pk"))

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_users=Count("users", distinct=True))

    @admin.display(description=_("medewerkers"), ordering="_users")
    def user_count(self, obj):
        return obj._users


class RoleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return ROLE_LABELS.get(obj.name, obj.name)


@admin.register(User)
class UserAdmin(AuditedAdminMixin, ScopedAdminMixin, DjangoUserAdmin):
    """Staff users: managers add them, give them an organisation and roles, and set up
    their authenticator. Only superusers make superusers or hand out single permissions."""

    change_form_template = "admin/governance/user/change_form.html"
    list_display = [
        "username",
        "full_name",
        "organisation",
        "roles",
        "is_active",
        "is_staff",
        "has_authenticator",
    ]
    list_filter = ["organisation__kind", "groups", "is_active", "is_staff", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["username", "first_name", "last_name", "email", "organisation__name"]
    filter_horizontal = ["groups"]
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2"),
            },
        ),
        (_("Organisatie en rollen"), {"fields": ("organisation", "groups", "is_staff")}),
        (_("Persoonsgegevens"), {"fields": ("first_name", "last_name", "email", "phone")}),
    )
    staff_fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Persoonsgegevens"), {"fields": ("first_name", "last_name", "email", "phone")}),
        (_("Organisatie en rollen"), {"fields": ("organisation", "groups")}),
        (_("Toegang"), {"fields": ("is_active", "is_staff")}),
        (_("Data"), {"fields": ("last_login", "date_joined")}),
    )
    superuser_fieldsets = (
        *staff_fieldsets[:3],
        (_("Toegang"), {"fields": ("is_active", "is_staff", "is_superuser", "user_permissions")}),
        staff_fieldsets[4],
    )
    readonly_fields = ["last_login", "date_joined"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        return self.superuser_fieldsets if request.user.is_superuser else self.staff_fieldsets

    def get_queryset(self, request):
        confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return (
            super()
            .get_queryset(request)
            .prefetch_related("groups")
            .annotate(_has_authenticator=Exists(confirmed))
        )

    def scope_queryset(self, request, queryset):
        return queryset.filter(pk__in=policy.manageable_users(request.user).values("pk"))

    def has_change_permission(self, request, obj=None):
        # Nobody but a superuser changes a superuser (or could make one of themselves).
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["queryset"] = Group.objects.filter(name__in=[group_name(r) for r in Role])
            kwargs["form_class"] = RoleChoiceField
            kwargs.setdefault("label", _("rollen"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=_("naam"))
    def full_name(self, obj):
        return obj.get_full_name()

    @admin.display(description=_("rollen"))
    def roles(self, obj):
        return ", ".join(str(ROLE_LABELS.get(g.name, g.name)) for g in obj.groups.all())

    @admin.display(description=_("authenticator"), boolean=True)
    def has_authenticator(self, obj):
        return obj._has_authenticator

    # Setting up the authenticator of a staff member.
    def get_urls(self):
        return [
            path(
                "<path:object_id>/authenticator/",
                self.admin_site.admin_view(self.authenticator_view),
                name="governance_user_authenticator",
            ),
            *super().get_urls(),
        ]

    def authenticator_view(self, request, object_id):
        target = self.get_object(request, object_id)
        if target is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, target):
            raise PermissionDenied
        pending = services.pending_authenticator(target)
        form = AuthenticatorConfirmForm(request.POST or None)
        if request.method == "POST" and "start" in request.POST:
            services.authenticator_start(user=target)
            return redirect(request.path)
        if request.method == "POST" and pending is not None and form.is_valid():
            if services.authenticator_confirm(
                device=pending,
                token=form.cleaned_data["otp_token"],
                by=request.user,
                request=request,
            ):
                messages.success(
                    request,
                    gettext("De authenticator van %(user)s is ingesteld.")
                    % {"user": target.get_username()},
                )
                return redirect(reverse("admin:governance_user_change", args=[target.pk]))
            form.add_error(
                "otp_token", _("De code klopt niet. Probeer de code die de app nu toont.")
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Authenticator instellen"),
            "opts": self.opts,
            "original": target,
            "target": target,
            "devices": totp.confirmed_devices(target),
            "pending": pending,
            "secret": totp.secret_base32(pending) if pending else "",
            "qr_svg": totp.qr_svg(pending) if pending else "",
            "form": form,
        }
        return TemplateResponse(request, "admin/governance/user/authenticator.html", context)


class AuthenticatorConfirmForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Code uit de app"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_otp_token(self):
        token = "".join(self.cleaned_data["otp_token"].split())
        if not token.isdigit():
            raise ValidationError(_("De code bestaat alleen uit cijfers."))
        return token


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail: read by managers, written only by the services."""

    list_display = ["at", "actor_name", "organisation", "verb", "target_type", "target_repr", "ip"]
    list_filter = ["verb", "organisation", "target_type", "at"]
    list_select_related = ["organisation"]
    search_fields = ["actor_name", "verb", "target_repr", "target_id", "ip"]
    date_hierarchy = "at"
    fields = [
        "at",
        "actor",
        "actor_name",
        "organisation",
        "verb",
        "target_type",
        "target_id",
        "target_repr",
        "ip",
        "detail",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        visible = policy.visible_audit_entries(request.user)
        return super().get_queryset(request).filter(pk__in=visible.values("pk"))

    def has_module_permission(self, request):
        return policy.can(request.user, "audit.view") and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return policy.can(request.user, "audit.view") and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ManagedTOTPDeviceAdmin(AuditedAdminMixin, TOTPDeviceAdmin):
    """django-otp's device admin, for managers only and within their scope. A change to a
    device is a change to its user's second factor: audited about the user ("user.
    authenticator_added" …), so it shows in the history of the user's organisation; the
    device's key only by name."""

    def audit_target(self, obj):
        return obj.user

    def audit_verb(self, obj, what: str) -> str:
        return f"user.authenticator_{what}"

    def _manages(self, request) -> bool:
        return policy.can(request.user, "user.manage")

    def get_queryset(self, request):
        users = policy.manageable_users(request.user)
        return super().get_queryset(request).filter(user__in=users.values("pk"))

    def _in_scope(self, request, obj) -> bool:
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request):
        return self._manages(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return (
            self._manages(request)
            and self._in_scope(request, obj)
            and super().has_view_permission(request, obj)
        )

    def has_add_permission(self, request):
        return self._manages(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return (
            self._manages(request)
            and self._in_scope(request, obj)
            and super().has_change_permission(request, obj)
        )

    def has_delete_permission(self, request, obj=None):
        return (
            self._manages(request)
            and self._in_scope(request, obj)
            and super().has_delete_permission(request, obj)
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = policy.manageable_users(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, ManagedTOTPDeviceAdmin)


class ManagedAccessAttemptAdmin(AuditedAdminMixin, AccessAttemptAdmin):
    """django-axes' failed log-ins, where a manager lifts a lock-out by deleting the
    attempt: only those of the users they manage (all, country-wide:
    policy.visible_access_attempts), and each lift in the audit trail about the user
    ("user.lockout_lifted"). Without axes' action that cleans up expired attempts of
    everyone."""

    actions = []

    def get_queryset(self, request):
        return policy.visible_access_attempts(request.user, super().get_queryset(request))

    def audit_target(self, obj):
        return User.objects.filter(username=obj.username).first()

    def audit_verb(self, obj, what: str) -> str:
        return "user.lockout_lifted" if what == "deleted" else f"user.lockout_{what}"


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, ManagedAccessAttemptAdmin)


class _ChannelSettingsAdmin(ReadOnlyAdminMixin, NationalSettingsAdminMixin, admin.ModelAdmin):
    """Channel settings and ceilings in the admin: to look them up, for managers. They are
    changed on the channel screen (/medewerkers/kanalen/), through the services that check
    and audit every change (apps/governance/channel_settings.py)."""


@admin.register(ChannelSetting)
class ChannelSettingAdmin(_ChannelSettingsAdmin):
    list_display = ["channel", "state", "urgencies", "kinds", "updated_at"]


@admin.register(CeilingStep)
class CeilingStepAdmin(_ChannelSettingsAdmin):
    list_display = ["channel", "starts_on", "max_recipients", "amber_exempt", "note"]
    list_filter = ["channel"]


# Webhook subscriptions -----------------------------------------------------------------


def _region_choices(model) -> list[tuple[str, str]]:
    # The slug of a region's name, as apps/actions/regions.slug makes it (governance may
    # not import actions).
    return [(slugify(region.name), region.name) for region in model.objects.all()]


class WebhookSubscriptionForm(forms.ModelForm):
    """The filters as lists to tick; WebhookSubscription.clean checks the URL and the
    lists again, whatever path saves one."""

    units = forms.MultipleChoiceField(
        label=_("politie-eenheden"), required=False, widget=forms.CheckboxSelectMultiple
    )
    provinces = forms.MultipleChoiceField(
        label=_("provincies"), required=False, widget=forms.CheckboxSelectMultiple
    )
    kinds = forms.MultipleChoiceField(
        label=_("soorten"), required=False, widget=forms.CheckboxSelectMultiple
    )
    urgencies = forms.MultipleChoiceField(
        label=_("urgenties"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=OutgoingMessage.Urgency.choices,
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "is_active", "units", "provinces", "kinds", "urgencies", "format"]
        help_texts = {"url": _("Een https-adres op internet; redirects worden niet gevolgd.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["units"].choices = _region_choices(PoliceUnit)
        self.fields["provinces"].choices = _region_choices(Province)
        self.fields["kinds"].choices = channel_kinds.choices()


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(AuditedAdminMixin, NationalSettingsAdminMixin, admin.ModelAdmin):
    """Partners' webhooks, kept by nationwide managers. The secret is shown once, when the
    subscription is made; never again here, nor in the audit trail (field names only)."""

    form = WebhookSubscriptionForm
    # A partner's URL may carry its own token: in the audit trail by name only.
    audit_hidden_fields = frozenset({"url"})
    list_display = ["name", "is_active", "units", "provinces", "kinds", "urgencies", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["send_test"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(
                request,
                gettext(
                    "Het geheim van deze webhook is %(secret)s — bewaar het nu bij de partner: "
                    "het wordt niet meer getoond."
                )
                % {"secret": obj.secret},
            )

    @admin.action(description=_("Testbericht versturen"))
    def send_test(self, request, queryset):
        if not self.national_manager(request):
            raise PermissionDenied
        for subscription in queryset:
            outcome = webhook_sender.send_test(subscription)
            answer = outcome.provider_id or outcome.error
            audit.record(
                verb="webhooksubscription.tested",
                actor=request.user,
                target=subscription,
                request=request,
                detail={"outcome": outcome.status, "answer": answer},
            )
            level = messages.SUCCESS if outcome.status == outcome.SENT else messages.ERROR
            self.message_user(
                request,
                gettext("Test naar %(name)s: %(answer)s")
                % {"name": subscription.name, "answer": answer},
                level,
            )
