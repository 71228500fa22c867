"""The admin's app config: Burgernet's own admin site, and admin discovery that skips
django-leaflet's admin module (it imports GeoDjango and so GDAL, which Burgernet does
not need: maps use plain latitude/longitude fields)."""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.contrib.admin.apps import SimpleAdminConfig

SKIP_ADMIN_MODULES = {"leaflet"}


class BurgernetAdminConfig(SimpleAdminConfig):
    default_site = "apps.governance.admin_site.BurgernetAdminSite"

    def ready(self):
        super().ready()
        for app_config in apps.get_app_configs():
            if app_config.name in SKIP_ADMIN_MODULES:
                continue
            if find_spec(f"{app_config.name}.admin") is not None:
                import_module(f"{app_config.name}.admin")
