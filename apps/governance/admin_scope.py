"""The admin's share of the scope policy: rows, objects and choices narrowed to the user's scope.

Every admin of an object that lies somewhere (organisations, mailings, actions,
participants …) uses ScopedAdminMixin, so staff see and choose only what lies in their
organisation's scope, and an object outside it cannot be opened (the admin answers that it
does not exist). Model permissions still come from the role groups (roles.py).
"""

from django.core.exceptions import ImproperlyConfigured

from . import policy
from .models import Municipality, Organisation


class ScopedAdminMixin:
    """Put before admin.ModelAdmin: `class MailingAdmin(ScopedAdminMixin, admin.ModelAdmin)`.

    Name the path from the model to its municipality in `scope_municipality_path`
    ("municipality", "address__municipality", "pk" for Municipality itself), or override
    `scope_queryset` where an object's place is not one municipality.
    """

    scope_municipality_path: str | None = None

    def scope_queryset(self, request, queryset):
        """The rows of `queryset` inside the user's scope."""
        if self.scope_municipality_path is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} needs scope_municipality_path or scope_queryset()"
            )
        return policy.user_scope(request.user).filter(queryset, self.scope_municipality_path)

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request))

    def in_scope(self, request, obj) -> bool:
        if obj is None or obj.pk is None:
            return True
        base = self.model._default_manager.filter(pk=obj.pk)
        return self.scope_queryset(request, base).exists()

    # Object permissions: also asked by custom admin views that fetch an object
    # themselves (django-otp's QR view does), so the queryset is not the only guard.
    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self.in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.in_scope(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self.in_scope(request, obj)

    # Choices: a municipality or organisation can only be picked from the user's scope.
    def _scoped_choices(self, request, model):
        if model is Municipality:
            return policy.user_scope(request.user).filter(Municipality.objects.all(), "pk")
        if model is Organisation:
            return policy.visible_organisations(request.user)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = self._scoped_choices(request, db_field.related_model)
        if choices is not None and "queryset" not in kwargs:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        choices = self._scoped_choices(request, db_field.related_model)
        if choices is not None and "queryset" not in kwargs:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ReadOnlyAdminMixin:
    """Shown in the admin, never written there: another path (a service, a public form)
    writes these rows, so the admin offers no add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class NationalSettingsAdminMixin:
    """Put before admin.ModelAdmin for settings that hold for the whole country (channels,
    approval rules, webhook subscriptions, partner feeds): only a manager with a nationwide
    scope sees them, and may add, change and delete them unless the admin says otherwise
    (a ReadOnlyAdminMixin before this one, or its own has_*_permission)."""

    def national_manager(self, request) -> bool:
        return policy.can(request.user, "settings.manage", policy.Scope.nation())

    def has_module_permission(self, request):
        return self.national_manager(request)

    def has_view_permission(self, request, obj=None):
        return self.national_manager(request)

    def has_add_permission(self, request, obj=None):
        return self.national_manager(request)

    def has_change_permission(self, request, obj=None):
        return self.national_manager(request)

    def has_delete_permission(self, request, obj=None):
        return self.national_manager(request)
