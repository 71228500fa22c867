"""The geography of the Netherlands: the shipped lists, and the CBS import for production."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.governance.geography import (
    NATIONAL_UNIT_NAME,
    GeographyError,
    load_reference_geography,
    read_municipality_csv,
)
from apps.governance.models import Municipality, PoliceUnit, PostcodeArea, Province, SafetyRegion

HEADER = "gm_code,name,province,vr_code,veiligheidsregio,police_unit,inhabitants,lat,lon"
WOERDEN = "GM0632,Woerden,Utrecht,VR09,Utrecht,Midden-Nederland,52860,52.085,4.883"
UTRECHT = "GM0344,Utrecht,Utrecht,VR09,Utrecht,Midden-Nederland,361924,52.09,5.12"


def write(tmp_path, *lines, name="gemeenten.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def counts():
    return (
        Province.objects.count(),
        SafetyRegion.objects.count(),
        PoliceUnit.objects.count(),
        Municipality.objects.count(),
        PostcodeArea.objects.count(),
    )


# The shipped geography (loaded once for the test database) -------------------------------


def test_it_has_every_municipality_region_and_unit(geography):
    assert Municipality.objects.count() == 342
    assert SafetyRegion.objects.count() == 25
    assert Province.objects.count() == 12
    assert PoliceUnit.objects.filter(is_national=False).count() == 10
    assert PoliceUnit.objects.get(is_national=True).name == NATIONAL_UNIT_NAME


def test_it_gives_every_postcode_area_a_municipality(geography):
    assert PostcodeArea.objects.count() == 4064
    assert not PostcodeArea.objects.filter(municipality__isnull=True).exists()


def test_it_places_municipalities_in_their_unit_and_region(woerden, amsterdam):
    assert woerden.police_unit.name == "Midden-Nederland"
    assert woerden.province.name == "Utrecht"
    assert amsterdam.police_unit.name == "Amsterdam"
    assert amsterdam.safety_region.name == "Amsterdam-Amstelland"
    assert not Municipality.objects.filter(police_unit__is_national=True).exists()


def test_it_gives_the_national_unit_no_municipalities(geography):
    assert not PoliceUnit.objects.get(is_national=True).municipalities.exists()


def test_it_finds_a_municipality_for_a_postcode(woerden):
    assert PostcodeArea.objects.get(pc4="3441").municipality == woerden


def test_it_loads_the_geography_again_without_changes(geography):
    before = counts()
    woerden = Municipality.objects.values().get(code="GM0632")

    load_reference_geography()

    assert counts() == before
    assert Municipality.objects.values().get(code="GM0632") == woerden


# Reading a municipality list -------------------------------------------------------------


def test_it_reads_a_comma_separated_list(tmp_path):
    rows = read_municipality_csv(write(tmp_path, HEADER, WOERDEN, UTRECHT))

    assert [r.gm_code for r in rows] == ["GM0632", "GM0344"]
    assert rows[0].inhabitants == 52860
    assert rows[0].lat == pytest.approx(52.085)


def test_it_reads_a_semicolon_separated_list(tmp_path):
    lines = [line.replace(",", ";") for line in (HEADER, WOERDEN, UTRECHT)]

    rows = read_municipality_csv(write(tmp_path, *lines))

    assert [r.name for r in rows] == ["Woerden", "Utrecht"]
    assert rows[1].police_unit == "Midden-Nederland"


def test_it_reads_a_list_without_the_optional_columns(tmp_path):
    path = write(
        tmp_path,
        "gm_code,name,province,vr_code,veiligheidsregio,police_unit",
        "GM0632,Woerden,Utrecht,VR09,Utrecht,Midden-Nederland",
    )

    [row] = read_municipality_csv(path)

    assert row.lat is None
    assert row.inhabitants is None


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["gm_code,name,province", "GM0632,Woerden,Utrecht"], "missing columns"),
        ([HEADER, WOERDEN.replace("GM0632", "0632")], "line 2: bad gm_code"),
        ([HEADER, WOERDEN.replace("GM0632", "GM06X2")], "line 2: bad gm_code"),
        ([HEADER, WOERDEN, UTRECHT, WOERDEN], "line 4: duplicate gm_code GM0632"),
        ([HEADER, WOERDEN.replace("52.085", "48.85")], "line 2: centre point outside"),
        ([HEADER, WOERDEN.replace("4.883", "-4.883")], "line 2: centre point outside"),
        ([HEADER, WOERDEN.replace("52.085", "noord")], "line 2"),
        ([HEADER, WOERDEN.replace(",4.883", ",")], "line 2: lat and lon go together"),
        ([HEADER, WOERDEN.replace("52860", "veel")], "line 2"),
        ([HEADER, WOERDEN.replace("Midden-Nederland", "")], "line 2: empty required column"),
        ([HEADER], "no municipalities"),
    ],
)
def test_it_refuses_a_bad_list_naming_the_line(tmp_path, lines, message):
    with pytest.raises(GeographyError, match=message):
        read_municipality_csv(write(tmp_path, *lines))


# The CBS import command ------------------------------------------------------------------


def test_it_imports_a_cbs_list(tmp_path, geography):
    path = write(
        tmp_path,
        HEADER.replace(",", ";"),
        WOERDEN.replace(",", ";").replace("52860", "53000"),
        "GM9999;Nieuwgemeente;Utrecht;VR09;Utrecht;Midden-Nederland;1000;52.1;5.0",
    )

    out = StringIO()
    call_command("import_cbs_municipalities", str(path), stdout=out)

    assert Municipality.objects.get(code="GM0632").inhabitants == 53000
    new = Municipality.objects.get(code="GM9999")
    assert new.police_unit.name == "Midden-Nederland"
    assert Municipality.objects.count() == 343
    assert out.getvalue().startswith("2 municipalities imported")


def test_it_creates_the_units_and_regions_a_cbs_list_names(tmp_path, geography):
    path = write(
        tmp_path,
        HEADER,
        "GM9998,Eilandgemeente,Zeeland,VR26,Nieuwe regio,Nieuwe eenheid,,,",
    )

    out = StringIO()
    call_command("import_cbs_municipalities", str(path), stdout=out)

    municipality = Municipality.objects.get(code="GM9998")
    assert municipality.safety_region.code == "VR26"
    assert municipality.police_unit.name == "Nieuwe eenheid"


def test_it_writes_nothing_when_a_line_is_bad(tmp_path, geography):
    before = counts()
    path = write(
        tmp_path,
        HEADER,
        WOERDEN.replace("Woerden", "Woerden-Nieuw"),
        "GM9999,Nieuwgemeente,Utrecht,VR09,Utrecht,Midden-Nederland,1000,52.1,5.0",
        UTRECHT.replace("GM0344", "GM344"),
    )

    with pytest.raises(CommandError, match="line 4: bad gm_code"):
        call_command("import_cbs_municipalities", str(path))

    assert counts() == before
    assert Municipality.objects.get(code="GM0632").name == "Woerden"
    assert not Municipality.objects.filter(code="GM9999").exists()


def test_it_names_a_missing_file(tmp_path, geography):
    with pytest.raises(CommandError, match="bestaat-niet.csv"):
        call_command("import_cbs_municipalities", str(tmp_path / "bestaat-niet.csv"))
