"""The open Atom feeds of actions (django.contrib.syndication): national, per police unit
and per province, for news sites and apps that read feeds.

A feed holds the running actions and those that ended or were withdrawn in the last
RECENT_DAYS days; never drafts or exercises; only the kinds and urgencies the manager's
"feed" channel carries (channels/plan.py). A paused feed channel gives a valid feed
without entries, with a subtitle that says so. An entry shows what the public page shows:
the Dutch alert text of the release (kind, signalement, description, the call line),
after the end its result and end text, after a withdrawal the correction.

Where an action lies:
- a unit's feed: the actions of the unit and those whose circle reaches into its region
  (Action.reaches_units, set when the draft is saved), and AMBER Alerts (nationwide);
- a province's feed: the same for the units with a municipality in the province, then
  kept when the circle holds the centre of one of the province's municipalities or its
  point lies nearest to one within 25 km (reference data: a few hundred rows, one
  query), and AMBER
  Alerts. Cheap, and right at the scale of a circle; an action just over a province border
  whose circle holds no centre there counts for the province of its nearest centre.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from apps.channels import plan
from apps.channels.models import Channel, OutgoingMessage
from apps.governance.geo import distance_m
from apps.governance.models import Municipality

from . import regions, wording
from .models import Action

RECENT_DAYS = 7
MAX_ENTRIES = 50
# How far from its point an action's nearest municipality centre is looked for.
NEAREST_SEARCH_M = 25_000
# Feed readers poll; a minute in shared caches spares the database.
CACHE_CONTROL = "public, max-age=60"


def published_actions(*, kinds=None, now=None):
    """The actions the open feeds may show: running, or over in the last RECENT_DAYS days;
    released for real (no drafts, no exercises); of `kinds` (None: every kind). Newest
    first."""
    since = (now or timezone.now()) - timedelta(days=RECENT_DAYS)
    actions = Action.objects.all() if kinds is None else Action.objects.filter(kind__in=kinds)
    return (
        actions.filter(is_exercise=False)
        .filter(
            Q(state=Action.State.RELEASED)
            | Q(state=Action.State.ENDED, ended_at__gte=since)
            | Q(state=Action.State.CANCELLED, cancelled_at__gte=since)
        )
        .select_related("release_message", "end_message")
        .order_by("-released_at", "-id")
    )


def in_unit(queryset, unit):
    """Actions of `unit`, reaching into its region, or nationwide (AMBER Alerts)."""
    reaching = Action.reaches_units.through.objects.filter(policeunit_id=unit.pk).values(
        "action_id"
    )
    return queryset.filter(
        Q(police_unit=unit) | Q(pk__in=reaching) | Q(kind=Action.Kind.AMBER_ALERT)
    )


def in_province(queryset, province) -> list[Action]:
    """Actions in `province` (see the module's docstring for the rule)."""
    centres = list(
        Municipality.objects.exclude(lat=None)
        .exclude(lon=None)
        .values_list("province_id", "police_unit_id", "lat", "lon")
    )
    units = {unit for prov, unit, _lat, _lon in centres if prov == province.pk}
    reaching = Action.reaches_units.through.objects.filter(policeunit_id__in=units).values(
        "action_id"
    )
    candidates = queryset.filter(
        Q(police_unit__in=units) | Q(pk__in=reaching) | Q(kind=Action.Kind.AMBER_ALERT)
    )
    candidates = candidates[:MAX_ENTRIES]
    return [a for a in candidates if a.is_amber or _lies_in(a, province.pk, centres)]


def _lies_in(action: Action, province_id: int, centres) -> bool:
    # Only the centres in a box around the circle are measured (a degree of latitude is
    # 111 km; of longitude, some 65 km here): a few instead of hundreds.
    reach_m = max(action.radius_m, NEAREST_SEARCH_M)
    dlat, dlon = reach_m / 111_000, reach_m / 60_000
    nearest, nearest_m = None, None
    for prov, _unit, lat, lon in centres:
        if abs(lat - action.lat) > dlat or abs(lon - action.lon) > dlon:
            continue
        metres = distance_m(action.lat, action.lon, lat, lon)
        if prov == province_id and metres <= action.radius_m:
            return True
        if nearest_m is None or metres < nearest_m:
            nearest, nearest_m = prov, metres
    return nearest == province_id


def entry_summary(action: Action) -> str:
    """What an entry says: the outcome once over, the alert's Dutch text while running."""
    if action.state == Action.State.ENDED:
        result = capfirst(wording.result(action.result)) if action.result else ""
        end = getattr(action, "end_message", None)
        text = end.text if end is not None else ""
        return " ".join(part for part in (f"{result}." if result else "", text) if part)
    if action.state == Action.State.CANCELLED:
        return action.correction or _("Deze actie is ingetrokken.")
    message = action.release_message
    return message.body if message is not None else action.text


def _page_url(action: Action) -> str:
    """The action's public page (asked twice per entry: its link and its id)."""
    if not hasattr(action, "_feed_page_url"):
        action._feed_page_url = action.page_url()
    return action._feed_page_url


def _carries(setting, action: Action) -> bool:
    # A national alert goes on every channel that carries its kind (plan.plan_for).
    if action.is_amber:
        urgency = None
    elif action.is_time_critical:
        urgency = OutgoingMessage.Urgency.HIGH
    else:
        urgency = OutgoingMessage.Urgency.NORMAL
    return setting.carries(kind=action.kind, urgency=urgency)


@dataclass(frozen=True)
class Shown:
    """What one request's feed is about: its region (None: the country) and the feed
    channel's setting as it is now (a Feed instance serves every request: no state on it)."""

    region: object
    setting: object


class ActionFeed(Feed):
    """The national feed; the unit and province feeds narrow it."""

    feed_type = Atom1Feed
    # Atom asks for an author of the feed when its entries name none.
    author_name = "Burgernet"

    def __call__(self, request, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        response["Cache-Control"] = CACHE_CONTROL
        return response

    def get_object(self, request, *args, **kwargs):
        return Shown(self.region(**kwargs), plan.settings_by_channel()[Channel.FEED.value])

    def region(self, **kwargs):
        return None

    def title(self, obj):
        return _("Burgernet: acties in Nederland")

    def subtitle(self, obj):
        if not obj.setting.in_use:
            return _("Deze feed is gepauzeerd: er worden nu geen acties gepubliceerd.")
        return _("Lopende Burgernetacties en acties van de afgelopen %(days)d dagen.") % {
            "days": RECENT_DAYS
        }

    def link(self, obj):
        return settings.SITE_URL + "/"

    def feed_url(self, obj):
        return settings.SITE_URL + self.path(obj)

    def feed_guid(self, obj):
        return self.feed_url(obj)

    def path(self, obj) -> str:
        return reverse("feeds:national")

    def selected(self, region, published):
        return published

    def items(self, obj):
        if not obj.setting.in_use:
            return []
        actions = self.selected(obj.region, published_actions(kinds=obj.setting.kinds or None))
        if not isinstance(actions, list):
            actions = list(actions[:MAX_ENTRIES])
        return [a for a in actions if _carries(obj.setting, a)]

    def item_title(self, item: Action):
        title = f"{capfirst(wording.kind(item.kind))}: {item.title}"
        if item.state == Action.State.ENDED:
            return wording.phrase("ended") % title
        if item.state == Action.State.CANCELLED:
            return wording.phrase("correction") % title
        return title

    def item_description(self, item: Action):
        return entry_summary(item)

    def item_link(self, item: Action):
        return _page_url(item)

    def item_guid(self, item: Action):
        return _page_url(item)

    def item_pubdate(self, item: Action):
        return item.released_at

    def item_updateddate(self, item: Action):
        return item.ended_at or item.cancelled_at or item.released_at


class UnitFeed(ActionFeed):
    def region(self, *, slug):
        return regions.unit_by_slug(slug)

    def title(self, obj):
        return _("Burgernet: acties in eenheid %(name)s") % {"name": obj.region.name}

    def path(self, obj) -> str:
        return reverse("feeds:unit", kwargs={"slug": regions.slug(obj.region)})

    def selected(self, region, published):
        return in_unit(published, region)


class ProvinceFeed(ActionFeed):
    def region(self, *, slug):
        return regions.province_by_slug(slug)

    def title(self, obj):
        return _("Burgernet: acties in provincie %(name)s") % {"name": obj.region.name}

    def path(self, obj) -> str:
        return reverse("feeds:province", kwargs={"slug": regions.slug(obj.region)})

    def selected(self, region, published):
        return in_province(published, region)
