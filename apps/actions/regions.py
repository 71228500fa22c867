"""Regions in public addresses: a police unit or a province named by the slug of its name
("midden-nederland", "noord-brabant"), as the open feeds and the displays use them."""

from django.http import Http404
from django.utils.text import slugify

from apps.governance.models import PoliceUnit, Province


def slug(region) -> str:
    return slugify(region.name)


def unit_by_slug(value: str) -> PoliceUnit:
    """The regional police unit with this slug (404 for none, and for the national unit,
    which has no region of its own)."""
    for unit in PoliceUnit.objects.filter(is_national=False):
        if slug(unit) == value:
            return unit
    raise Http404


def province_by_slug(value: str) -> Province:
    for province in Province.objects.all():
        if slug(province) == value:
            return province
    raise Http404
