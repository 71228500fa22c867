"""Who a mailing reaches: each kind of area, the edges of ranges and circles, who may not
receive mail, each participant once, and never outside the sending organisation's scope."""

import pytest
from django.core.exceptions import ValidationError

from apps.governance.models import PostcodeArea
from apps.mail import selection, services
from apps.mail.models import MailingArea
from tests.fakes import point_at

from .conftest import UTRECHT, WOERDEN


def ids(mailing) -> list[int]:
    return sorted(row["pk"] for row in selection.recipients(mailing))


def street(postcode, low, high) -> dict:
    return {
        "kind": "street",
        "postcode": postcode,
        "house_number_from": low,
        "house_number_to": high,
    }


# Postcodes and areas -----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["3441AB", "3441 ab", " 3441  Ab ", "3441ab"])
def test_it_normalises_six_character_postcodes(raw):
    assert selection.normalise_pc6(raw) == "3441AB"


@pytest.mark.parametrize("raw", ["0441AB", "3441A", "3441 ABC", "ABCD EF", "", "34412AB"])
def test_it_refuses_malformed_six_character_postcodes(raw):
    with pytest.raises(ValidationError):
        selection.normalise_pc6(raw)


def test_it_refuses_an_unknown_four_digit_postcode_with_a_clear_message(geography):
    known = set(PostcodeArea.objects.values_list("pc4", flat=True))
    unknown = next(str(n) for n in range(1000, 10000) if str(n) not in known)
    area = MailingArea(kind="pc4", postcode=unknown)
    with pytest.raises(ValidationError) as caught:
        selection.clean_area(area)
    assert unknown in " ".join(caught.value.message_dict["postcode"])
    assert "kennen we niet" in " ".join(caught.value.message_dict["postcode"])


def test_it_refuses_a_house_number_range_that_runs_backwards(geography):
    with pytest.raises(ValidationError) as caught:
        selection.clean_area(MailingArea(**street("3441AB", 10, 4)))
    assert "house_number_to" in caught.value.message_dict


def test_it_asks_a_street_for_both_house_numbers(geography):
    with pytest.raises(ValidationError) as caught:
        selection.clean_area(MailingArea(kind="street", postcode="3441AB", house_number_from=3))
    assert "house_number_from" in caught.value.message_dict


def test_it_clears_the_fields_an_area_kind_does_not_use(geography):
    area = selection.clean_area(
        MailingArea(kind="pc4", postcode=" 3441 ", house_number_from=1, lat=52.0, radius_m=10)
    )
    assert (area.postcode, area.house_number_from, area.lat, area.radius_m) == (
        "3441",
        None,
        None,
        None,
    )


# Each kind of area -------------------------------------------------------------------------


def test_a_street_reaches_both_ends_of_its_house_number_range_and_no_further(
    woerden_author, make_mailing, make_reader
):
    inside = [make_reader(("3441 AB", n)) for n in (4, 5, 10)]
    make_reader(("3441 AB", 3))
    make_reader(("3441 AB", 11))
    make_reader(("3441 AC", 6))  # same numbers, another street
    make_reader(email_postcode="3441 AB")  # no house number known
    mailing = make_mailing(woerden_author, areas=[street("3441 ab", 4, 10)])
    assert ids(mailing) == sorted(p.pk for p in inside)
    assert selection.count(mailing) == 3


def test_a_six_character_postcode_reaches_addresses_and_e_mail_postcodes(
    woerden_author, make_mailing, make_reader
):
    by_address = make_reader(("3441 AB", 1))
    by_unspaced_address = make_reader(("3441AB", 99))
    by_email = make_reader(email_postcode="3441 AB")
    make_reader(("3441 AC", 1))
    make_reader(email_postcode="3441 AC")
    mailing = make_mailing(woerden_author, areas=[{"kind": "pc6", "postcode": "3441AB"}])
    assert ids(mailing) == sorted([by_address.pk, by_unspaced_address.pk, by_email.pk])


def test_a_four_digit_postcode_reaches_every_street_in_it_and_not_the_next_area(
    woerden_author, make_mailing, make_reader
):
    inside = [make_reader(("3441 AB", 1)), make_reader(("3441 ZZ", 200))]
    inside.append(make_reader(email_postcode="3441 XY"))
    make_reader(("3442 AA", 1))
    make_reader(("3441", 1), at=WOERDEN, country="BE")  # a Belgian postcode, same digits
    mailing = make_mailing(woerden_author, areas=[{"kind": "pc4", "postcode": "3441"}])
    assert ids(mailing) == sorted(p.pk for p in inside)


def test_a_municipality_reaches_its_addresses_and_e_mail_postcodes(
    woerden_author, make_mailing, make_reader, woerden
):
    inside = [
        make_reader(("3441 AB", 1)),
        make_reader(("3447 GA", 30)),
        make_reader(email_postcode="3445 AA"),
    ]
    make_reader(("3511 AA", 1))
    mailing = make_mailing(
        woerden_author,
        kind="preventive",
        areas=[{"kind": "municipality", "municipality": woerden}],
    )
    assert ids(mailing) == sorted(p.pk for p in inside)


def test_a_circle_reaches_up_to_its_edge_by_address_and_by_e_mail_postcode(
    woerden_author, make_mailing, make_reader
):
    near = make_reader(("3441 AB", 1), at=point_at(WOERDEN, 495, 90))
    near_by_email = make_reader(email_postcode="3441 AB", email_at=point_at(WOERDEN, 490, 200))
    make_reader(("3441 AB", 2), at=point_at(WOERDEN, 506, 90))
    make_reader(email_postcode="3441 AB", email_at=point_at(WOERDEN, 510, 0))
    circle = {"kind": "circle", "lat": WOERDEN[0], "lon": WOERDEN[1], "radius_m": 500}
    mailing = make_mailing(woerden_author, areas=[circle])
    assert ids(mailing) == sorted([near.pk, near_by_email.pk])


# Who may receive mail ----------------------------------------------------------------------


def test_it_leaves_out_unconfirmed_suppressed_and_unwilling_participants(
    woerden_author, make_mailing, make_reader
):
    wanted = make_reader(("3441 AB", 1))
    make_reader(("3441 AB", 2), email_confirmed=False)
    make_reader(("3441 AB", 3), suppressed=True)
    make_reader(("3441 AB", 4), wants_email=False)
    make_reader(("3441 AB", 5), email="")
    mailing = make_mailing(woerden_author, areas=[{"kind": "pc6", "postcode": "3441AB"}])
    assert ids(mailing) == [wanted.pk]


def test_it_reaches_a_participant_once_however_many_areas_hold_it(
    woerden_author, make_mailing, make_reader, woerden
):
    twice = make_reader(("3441 AB", 4), ("3441 AB", 6), email_postcode="3441 AB")
    areas = [
        street("3441AB", 1, 10),
        {"kind": "pc6", "postcode": "3441AB"},
        {"kind": "pc4", "postcode": "3441"},
        {"kind": "municipality", "municipality": woerden},
        {"kind": "circle", "lat": WOERDEN[0], "lon": WOERDEN[1], "radius_m": 2000},
    ]
    mailing = make_mailing(woerden_author, kind="preventive", areas=areas)
    assert ids(mailing) == [twice.pk]
    assert selection.count(mailing) == 1


# Scope -------------------------------------------------------------------------------------


def test_a_municipalitys_circle_never_reaches_residents_of_another_municipality(
    woerden_author, make_mailing, make_reader
):
    resident = make_reader(("3441 AB", 1))
    make_reader(("3511 AA", 1))  # Utrecht, inside the 50 km circle
    make_reader(email_postcode="3511 AA")
    circle = {"kind": "circle", "lat": WOERDEN[0], "lon": WOERDEN[1], "radius_m": 50_000}
    mailing = make_mailing(woerden_author, kind="preventive", areas=[circle])
    assert ids(mailing) == [resident.pk]


def test_a_country_wide_organisations_circle_reaches_everyone_in_it(
    make_staff_user, org_management, make_mailing, make_reader
):
    from apps.governance.roles import Role

    # Managers write no mailings (docs/roles.md); a mail author of a country-wide
    # organisation does, and its circle is not clipped to a region.
    author = make_staff_user("mail-landelijk", org_management, [Role.MAIL_AUTHOR])
    woerden_resident = make_reader(("3441 AB", 1))
    utrecht_resident = make_reader(("3511 AA", 1))
    circle = {"kind": "circle", "lat": WOERDEN[0], "lon": WOERDEN[1], "radius_m": 50_000}
    mailing = make_mailing(author, kind="preventive", areas=[circle])
    assert ids(mailing) == sorted([woerden_resident.pk, utrecht_resident.pk])


def test_a_police_team_reaches_its_municipalities_only(police_team_user, make_mailing, make_reader):
    woerden_resident = make_reader(("3441 AB", 1))
    make_reader(("3511 AA", 1))
    circle = {"kind": "circle", "lat": WOERDEN[0], "lon": WOERDEN[1], "radius_m": 50_000}
    mailing = make_mailing(police_team_user, kind="preventive", areas=[circle])
    assert woerden_resident.pk in ids(mailing)
    assert len(ids(mailing)) == 1


@pytest.mark.parametrize(
    "area",
    [
        {"kind": "pc6", "postcode": "3511AA"},
        {"kind": "pc4", "postcode": "3511"},
        {"kind": "street", "postcode": "3511AA", "house_number_from": 1, "house_number_to": 9},
        {"kind": "circle", "lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 500},
    ],
)
def test_it_refuses_an_area_outside_the_organisations_scope(woerden_author, make_mailing, area):
    mailing = make_mailing(woerden_author)
    with pytest.raises(ValidationError) as caught:
        services.area_add(mailing=mailing, by=woerden_author, **area)
    assert "buiten het werkgebied" in " ".join(caught.value.messages)
    assert not mailing.areas.exists()


def test_it_refuses_another_municipality_as_an_area(woerden_author, make_mailing, utrecht):
    mailing = make_mailing(woerden_author, kind="preventive")
    with pytest.raises(ValidationError) as caught:
        services.area_add(
            mailing=mailing, by=woerden_author, kind="municipality", municipality=utrecht
        )
    assert "buiten het werkgebied" in " ".join(caught.value.messages)
    assert not mailing.areas.exists()


# The size of the group follows the message ------------------------------------------------

WIDE_CIRCLE = {"kind": "circle", "lat": WOERDEN[0], "lon": WOERDEN[1], "radius_m": 2_500}


@pytest.mark.parametrize(
    "area, field",
    [({"kind": "municipality"}, "municipality"), (WIDE_CIRCLE, "radius_m")],
)
def test_a_buurtonderzoek_refuses_a_municipality_or_a_circle_over_2000_m(
    woerden_author, make_mailing, woerden, area, field
):
    if area["kind"] == "municipality":
        area = {**area, "municipality": woerden}
    mailing = make_mailing(woerden_author)
    with pytest.raises(ValidationError) as caught:
        services.area_add(mailing=mailing, by=woerden_author, **area)
    assert "buurtonderzoek" in " ".join(caught.value.message_dict[field])
    assert not mailing.areas.exists()


@pytest.mark.parametrize(
    "area",
    [
        street("3441AB", 1, 9),
        {"kind": "pc6", "postcode": "3441AB"},
        {"kind": "pc4", "postcode": "3441"},
        {"kind": "circle", "lat": WOERDEN[0], "lon": WOERDEN[1], "radius_m": 2_000},
    ],
)
def test_a_buurtonderzoek_takes_streets_postcodes_and_circles_up_to_2000_m(
    woerden_author, make_mailing, area
):
    mailing = make_mailing(woerden_author)
    services.area_add(mailing=mailing, by=woerden_author, **area)
    assert mailing.areas.count() == 1


@pytest.mark.parametrize("kind", ["preventive", "informative", "crisis"])
def test_other_kinds_of_mail_may_go_to_a_municipality_or_a_wide_circle(
    woerden_author, make_mailing, woerden, kind
):
    mailing = make_mailing(woerden_author, kind=kind)
    services.area_add(mailing=mailing, by=woerden_author, kind="municipality", municipality=woerden)
    services.area_add(mailing=mailing, by=woerden_author, **WIDE_CIRCLE)
    assert mailing.areas.count() == 2


def test_clean_area_checks_the_size_only_when_given_the_kind_of_mailing(geography):
    assert selection.clean_area(MailingArea(**WIDE_CIRCLE)).radius_m == 2_500
    with pytest.raises(ValidationError) as caught:
        selection.clean_area(MailingArea(**WIDE_CIRCLE), mailing_kind="inquiry")
    assert list(caught.value.message_dict) == ["radius_m"]
    assert selection.clean_area(MailingArea(**WIDE_CIRCLE), mailing_kind="crisis")


def test_it_counts_areas_that_are_not_saved_yet(woerden_author, make_mailing, make_reader):
    make_reader(("3441 AB", 1))
    make_reader(("3441 AC", 1))
    mailing = make_mailing(woerden_author, areas=[{"kind": "pc6", "postcode": "3441AB"}])
    extra = selection.clean_area(MailingArea(kind="pc6", postcode="3441 ac"))
    assert selection.count_for([*mailing.areas.all(), extra], mailing.scope()) == 2
    assert selection.count(mailing) == 1
    assert selection.count_for([], mailing.scope()) == 0


def test_the_demo_gives_every_kind_a_template_and_a_woerden_street_readers(
    woerden_author, make_mailing
):
    from apps.mail import demo
    from apps.mail.models import Kind, MailTemplate

    demo.load()
    demo.load()  # idempotent
    national = MailTemplate.objects.filter(organisation=None)
    assert set(national.values_list("kind", flat=True)) == set(Kind.values)
    assert national.count() == len(demo.TEMPLATES)
    mailing = make_mailing(woerden_author, areas=[street("3441AB", 1, 20)])
    # Five demo participants live there; one has not confirmed the e-mail address.
    assert selection.count(mailing) == 4
