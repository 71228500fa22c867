"""Where Burgernet works: one box (governance.geo.NETHERLANDS) for an action's centre, a
mailing circle's centre and the console's address search."""

import pytest
from django.core.exceptions import ValidationError

from apps.actions.forms import ReachForm
from apps.actions.models import Action
from apps.governance import geo
from apps.governance.models import PostcodeArea
from apps.mail import selection
from apps.mail.models import MailingArea

# The outermost points of the Netherlands, and places well beyond.
EXTREMES = {
    "Mesch, Zuid-Limburg (south)": (50.7504, 5.7376),
    "Vaals (south-east)": (50.7704, 6.0186),
    "Rottumerplaat (north)": (53.5600, 6.4800),
    "Cadzand (west)": (51.3700, 3.3580),
    "Bad Nieuweschans (east)": (53.1830, 7.2270),
    "the Wadden Sea north of Schiermonnikoog": (53.5500, 6.2000),
    "the North Sea off Scheveningen": (52.1500, 4.1000),
}
BEYOND = {
    "Paris": (48.8566, 2.3522),
    "München": (48.1374, 11.5755),
    "Hamburg": (53.5511, 9.9937),
    "London": (51.5074, -0.1278),
    "Oostende": (51.2300, 2.9200),
    "Münster": (51.9607, 7.6261),
    "the middle of the North Sea": (55.0000, 4.0000),
}


@pytest.mark.parametrize("point", EXTREMES.values(), ids=EXTREMES.keys())
def test_the_box_holds_the_netherlands_to_its_outermost_points(point):
    assert geo.NETHERLANDS.contains(*point)


@pytest.mark.parametrize("point", BEYOND.values(), ids=BEYOND.keys())
def test_the_box_leaves_out_what_lies_well_beyond(point):
    assert not geo.NETHERLANDS.contains(*point)


def test_the_box_holds_every_postcode_area(geography):
    outside = [
        area.pc4
        for area in PostcodeArea.objects.only("pc4", "lat", "lon")
        if not geo.NETHERLANDS.contains(area.lat, area.lon)
    ]
    assert outside == []


# Just inside and just outside each edge.
EDGES = [
    ((geo.MIN_LAT, 5.0), (geo.MIN_LAT - 0.001, 5.0)),
    ((geo.MAX_LAT, 6.0), (geo.MAX_LAT + 0.001, 6.0)),
    ((52.0, geo.MIN_LON), (52.0, geo.MIN_LON - 0.001)),
    ((52.0, geo.MAX_LON), (52.0, geo.MAX_LON + 0.001)),
]


def _action_point_errors(lat, lon) -> set[str]:
    action = Action(kind="other", title="t", lat=lat, lon=lon, radius_m=1000)
    try:
        action.clean_fields(exclude=["police_unit"])
    except ValidationError as exc:
        return {"lat", "lon"} & set(exc.message_dict)
    return set()


def _reach_form_errors(lat, lon) -> set[str]:
    form = ReachForm({"lat": lat, "lon": lon, "radius_m": 1000})
    form.is_valid()
    return {"lat", "lon"} & set(form.errors)


def _mail_circle_errors(lat, lon) -> set[str]:
    try:
        selection.clean_area(MailingArea(kind="circle", lat=lat, lon=lon, radius_m=1000))
    except ValidationError as exc:
        return {"lat", "lon"} & set(exc.message_dict)
    return set()


@pytest.mark.parametrize("check", [_action_point_errors, _reach_form_errors, _mail_circle_errors])
@pytest.mark.parametrize(("inside", "outside"), EDGES)
def test_actions_and_mail_hold_a_point_to_the_same_box(db, check, inside, outside):
    assert check(*inside) == set()
    assert check(*outside) != set()
