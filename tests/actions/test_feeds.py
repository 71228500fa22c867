"""The open Atom feeds: valid Atom (checked against a small RELAX NG of RFC 4287's required
structure), only released real actions of the last week, per unit and per province, and
the manager's feed channel honoured."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from apps.actions import services
from apps.actions.models import Action
from apps.channels.models import Channel, ChannelSetting

from .conftest import action_fields, release

SITE = "https://www.burgernet.example"
ATOM = "http://www.w3.org/2005/Atom"
NS = {"a": ATOM}

# RFC 4287's structure, as much as a reader relies on: a feed has an id, a title, an
# updated moment (RFC 3339), an author (or every entry has one) and links; an entry has an
# id, a title, an updated moment and a link. Elements may come in any order.
ATOM_RNG = """
<grammar xmlns="http://relaxng.org/ns/structure/1.0"
         datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes"
         ns="http://www.w3.org/2005/Atom">
  <start>
    <element name="feed">
      <optional>
        <attribute><name ns="http://www.w3.org/XML/1998/namespace">lang</name></attribute>
      </optional>
      <interleave>
        <element name="id"><data type="anyURI"/></element>
        <element name="title"><optional><attribute name="type"/></optional><text/></element>
        <element name="updated"><ref name="date"/></element>
        <oneOrMore><ref name="author"/></oneOrMore>
        <oneOrMore><ref name="link"/></oneOrMore>
        <optional><element name="subtitle"><text/></element></optional>
        <zeroOrMore><ref name="entry"/></zeroOrMore>
      </interleave>
    </element>
  </start>
  <define name="date">
    <data type="dateTime"><param name="pattern">.*(Z|[+\\-]\\d\\d:\\d\\d)</param></data>
  </define>
  <define name="author">
    <element name="author">
      <interleave>
        <element name="name"><text/></element>
        <optional><element name="uri"><text/></element></optional>
        <optional><element name="email"><text/></element></optional>
      </interleave>
    </element>
  </define>
  <define name="link">
    <element name="link">
      <attribute name="href"><data type="anyURI"/></attribute>
      <optional><attribute name="rel"/></optional>
      <optional><attribute name="type"/></optional>
      <optional><attribute name="hreflang"/></optional>
      <optional><attribute name="length"/></optional>
      <optional><attribute name="title"/></optional>
    </element>
  </define>
  <define name="entry">
    <element name="entry">
      <interleave>
        <element name="id"><data type="anyURI"/></element>
        <element name="title"><optional><attribute name="type"/></optional><text/></element>
        <element name="updated"><ref name="date"/></element>
        <oneOrMore><ref name="link"/></oneOrMore>
        <optional><element name="published"><ref name="date"/></element></optional>
        <optional>
          <element name="summary"><optional><attribute name="type"/></optional><text/></element>
        </optional>
      </interleave>
    </element>
  </define>
</grammar>
"""
SCHEMA = etree.RelaxNG(etree.fromstring(ATOM_RNG.encode()))


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def fetch(client, name="feeds:national", **kwargs) -> etree._Element:
    response = client.get(reverse(name, kwargs=kwargs or None))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert response["Cache-Control"] == "public, max-age=60"
    root = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False))
    assert root.tag == f"{{{ATOM}}}feed"
    SCHEMA.assertValid(root)
    return root


def entry_links(root) -> list[str]:
    return [e.find("a:link", NS).get("href") for e in root.findall("a:entry", NS)]


@pytest.fixture
def running_mn(draft_mn, operator_mn):
    return release(draft_mn, operator_mn)


@pytest.fixture
def running_ams(draft_ams, operator_ams):
    return release(draft_ams, operator_ams)


def test_it_validates_as_atom_with_the_required_elements(client, running_mn):
    root = fetch(client)
    assert root.findtext("a:id", namespaces=NS) == SITE + reverse("feeds:national")
    assert root.findtext("a:title", namespaces=NS)
    assert root.findtext("a:updated", namespaces=NS)
    (entry,) = root.findall("a:entry", NS)
    assert entry.findtext("a:id", namespaces=NS) == running_mn.page_url()
    assert entry.find("a:link", NS).get("href") == running_mn.page_url()
    assert entry.findtext("a:title", namespaces=NS) == "Vermissing: Vermiste man (82)"
    assert entry.findtext("a:updated", namespaces=NS)
    summary = entry.findtext("a:summary", namespaces=NS)
    assert "grijze jas" in summary and "0800-0011" in summary


def test_it_rejects_a_feed_without_its_id_in_the_schema():
    """The schema check can fail: the same feed without its id is not Atom."""
    root = etree.fromstring(
        f'<feed xmlns="{ATOM}"><title>x</title><updated>2024-01-01T00:00:00Z</updated>'
        '<author><name>a</name></author><link href="https://x.example/"/></feed>'.encode()
    )
    assert not SCHEMA.validate(root)


def test_it_leaves_out_drafts_exercises_and_actions_over_for_more_than_a_week(
    client, operator_mn, running_mn
):
    services.action_create(by=operator_mn, **action_fields(title="Concept"))
    exercise = release(
        services.action_create(by=operator_mn, **action_fields(is_exercise=True)), operator_mn
    )
    old = release(services.action_create(by=operator_mn, **action_fields(title="Oud")), operator_mn)
    services.action_end(
        action=old,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Gevonden.",
    )
    Action.objects.filter(pk=old.pk).update(ended_at=timezone.now() - timedelta(days=8))

    links = entry_links(fetch(client))

    assert links == [running_mn.page_url()]
    assert exercise.page_url() not in links


def test_it_shows_the_outcome_after_the_end(client, operator_mn, running_mn):
    services.action_end(
        action=running_mn,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Dank!",
    )

    (entry,) = fetch(client).findall("a:entry", NS)

    assert entry.findtext("a:title", namespaces=NS).startswith("Afgelopen: ")
    summary = entry.findtext("a:summary", namespaces=NS)
    assert summary == "Gevonden. Dank!"
    assert "grijze jas" not in summary


def test_it_gives_a_unit_its_own_actions_only(client, running_mn, running_ams):
    mn = entry_links(fetch(client, "feeds:unit", slug="midden-nederland"))
    ams = entry_links(fetch(client, "feeds:unit", slug="amsterdam"))

    assert mn == [running_mn.page_url()]
    assert ams == [running_ams.page_url()]


def test_it_gives_a_unit_the_actions_reaching_into_it(client, operator_mn, running_mn):
    # 30 km around the Dom of Utrecht reaches Amsterdam's region.
    wide = release(
        services.action_create(by=operator_mn, **action_fields(title="Breed", radius_m=30_000)),
        operator_mn,
    )
    assert wide.reaches_units.filter(name="Amsterdam").exists()

    assert entry_links(fetch(client, "feeds:unit", slug="amsterdam")) == [wide.page_url()]


def test_it_gives_a_province_the_actions_in_it(client, running_mn, running_ams):
    utrecht = entry_links(fetch(client, "feeds:province", slug="utrecht"))
    holland = entry_links(fetch(client, "feeds:province", slug="noord-holland"))
    limburg = entry_links(fetch(client, "feeds:province", slug="limburg"))

    assert utrecht == [running_mn.page_url()]
    assert holland == [running_ams.page_url()]
    assert limburg == []


def test_it_answers_404_for_an_unknown_region(client, geography):
    assert client.get(reverse("feeds:unit", kwargs={"slug": "atlantis"})).status_code == 404
    assert client.get(reverse("feeds:province", kwargs={"slug": "atlantis"})).status_code == 404
    national = reverse("feeds:unit", kwargs={"slug": "landelijke-eenheid"})
    assert client.get(national).status_code == 404


def test_it_publishes_nothing_while_the_feed_channel_is_paused(client, running_mn):
    ChannelSetting.objects.update_or_create(
        channel=Channel.FEED, defaults={"state": ChannelSetting.State.PAUSED}
    )

    root = fetch(client)

    assert root.findall("a:entry", NS) == []
    assert "gepauzeerd" in root.findtext("a:subtitle", namespaces=NS)


def test_it_publishes_only_the_kinds_the_feed_channel_carries(client, running_mn, running_ams):
    ChannelSetting.objects.update_or_create(channel=Channel.FEED, defaults={"kinds": ["robbery"]})

    assert entry_links(fetch(client)) == [running_ams.page_url()]


def test_it_reads_a_constant_number_of_queries(
    client, operator_mn, django_assert_max_num_queries, running_mn
):
    for n in range(5):
        release(
            services.action_create(by=operator_mn, **action_fields(title=f"Actie {n}")),
            operator_mn,
        )
    with django_assert_max_num_queries(3):
        fetch(client)
