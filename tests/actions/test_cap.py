"""CAP 1.2: every message of an action as a CAP alert, valid against the OASIS schema, with
the right msgType and references; signatures; the public addresses and their Atom index."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.urls import reverse
from lxml import etree
from signxml.exceptions import InvalidSignature

from apps.actions import cap, cap_schema, services
from apps.actions.models import Action
from apps.channels.models import OutgoingMessage

from .conftest import action_fields, approve_and_release, release

NS = {"cap": cap_schema.NAMESPACE}
ATOM = {"a": "http://www.w3.org/2005/Atom"}
OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def messages_of(action: Action) -> list[tuple[str, OutgoingMessage]]:
    action.refresh_from_db()
    return [(what, OutgoingMessage.objects.get(pk=pk)) for what, pk in action.sent_messages()]


def alerts_of(action: Action) -> list[etree._Element]:
    """Each message of the action as CAP, parsed and checked by the schema again."""
    return [cap_schema.parse(cap.alert_xml(action, m)) for _what, m in messages_of(action)]


def one(root, path: str) -> str:
    return root.findtext(path, namespaces=NS)


def key_and_cert(tmp_path) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "burgernet-cap-test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "cap.key").write_bytes(key_pem)
    (tmp_path / "cap.crt").write_bytes(cert_pem)
    return key_pem, cert_pem


@pytest.fixture
def signing(settings, tmp_path):
    key, cert = key_and_cert(tmp_path)
    settings.CAP_SIGNING_KEY_FILE = str(tmp_path / "cap.key")
    settings.CAP_SIGNING_CERT_FILE = str(tmp_path / "cap.crt")
    return key, cert


@pytest.fixture
def released_mn(draft_mn, operator_mn):
    return release(draft_mn, operator_mn)


# The alerts of an action ---------------------------------------------------------------------


def test_it_makes_a_release_update_end_sequence_of_valid_alerts(released_mn, operator_mn):
    services.action_update(action=released_mn, by=operator_mn, text="Gezien bij het station.")
    services.action_end(
        action=released_mn,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Hij is thuis.",
    )

    alerts = alerts_of(released_mn)

    assert [one(a, "cap:msgType") for a in alerts] == ["Alert", "Update", "Update"]
    assert [one(a, "cap:info/cap:responseType") for a in alerts] == [
        "Monitor",
        "Monitor",
        "AllClear",
    ]
    assert one(alerts[2], "cap:info/cap:urgency") == "Past"
    assert one(alerts[0], "cap:info/cap:urgency") == "Immediate"
    for alert in alerts:
        assert one(alert, "cap:status") == "Actual"
        assert one(alert, "cap:scope") == "Public"
        assert one(alert, "cap:sender") == "burgernet@politie.nl"
        assert OFFSET.match(one(alert, "cap:sent"))
        assert not one(alert, "cap:sent").endswith("Z")


def test_it_references_exactly_the_earlier_messages_in_order(released_mn, operator_mn):
    services.action_update(action=released_mn, by=operator_mn, text="Gezien bij het station.")
    services.action_end(
        action=released_mn,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Thuis.",
    )

    alerts = alerts_of(released_mn)
    own = [
        f"{one(a, 'cap:sender')},{one(a, 'cap:identifier')},{one(a, 'cap:sent')}" for a in alerts
    ]

    assert alerts[0].find("cap:references", NS) is None
    assert one(alerts[1], "cap:references").split(" ") == own[:1]
    assert one(alerts[2], "cap:references").split(" ") == own[:2]
    assert len(set(one(a, "cap:identifier") for a in alerts)) == 3


def test_it_makes_a_correction_a_cancel_of_the_release(released_mn, operator_mn):
    services.action_cancel(action=released_mn, by=operator_mn, text="Verstuurd door een fout.")

    alerts = alerts_of(released_mn)

    assert [one(a, "cap:msgType") for a in alerts] == ["Alert", "Cancel"]
    release_ref = (
        f"{one(alerts[0], 'cap:sender')},{one(alerts[0], 'cap:identifier')},"
        f"{one(alerts[0], 'cap:sent')}"
    )
    assert one(alerts[1], "cap:references") == release_ref
    assert one(alerts[1], "cap:info/cap:urgency") == "Past"
    assert "Verstuurd door een fout." in one(alerts[1], "cap:info/cap:description")


def test_it_keeps_the_identifier_and_sent_of_a_message_the_same(released_mn):
    ((_what, message),) = messages_of(released_mn)

    first = cap_schema.parse(cap.alert_xml(released_mn, message))
    again = cap_schema.parse(cap.alert_xml(released_mn, message))

    assert one(first, "cap:identifier") == f"burgernet-{released_mn.ref}-{message.pk}"
    assert one(first, "cap:identifier") == one(again, "cap:identifier")
    assert one(first, "cap:sent") == one(again, "cap:sent")


def test_it_gives_the_sent_time_in_dutch_time_with_its_offset(released_mn):
    ((_what, message),) = messages_of(released_mn)
    OutgoingMessage.objects.filter(pk=message.pk).update(
        created_at=datetime(2024, 1, 3, 13, 0, tzinfo=UTC)
    )
    message.refresh_from_db()

    alert = cap_schema.parse(cap.alert_xml(released_mn, message))

    assert one(alert, "cap:sent") == "2024-01-03T14:00:00+01:00"


def test_it_marks_an_exercise_as_an_exercise(operator_mn):
    action = services.action_create(by=operator_mn, **action_fields(is_exercise=True))
    release(action, operator_mn)

    (alert,) = alerts_of(action)

    assert one(alert, "cap:status") == "Exercise"


def test_it_writes_one_info_per_language_the_operator_wrote(operator_mn):
    action = services.action_create(
        by=operator_mn,
        **action_fields(text_en="Walks with difficulty, confused.", text_fr=""),
    )
    release(action, operator_mn)

    (alert,) = alerts_of(action)
    infos = alert.findall("cap:info", NS)

    assert [one(i, "cap:language") for i in infos] == ["nl-NL", "en-GB"]
    dutch, english = infos
    assert "Loopt slecht" in one(dutch, "cap:description")
    assert "Walks with difficulty" in one(english, "cap:description")
    assert one(dutch, "cap:instruction") == "Gezien? Bel 0800-0011 (bij spoed 112)."
    assert one(english, "cap:instruction").startswith("Seen anything? Call 0800-0011")
    assert "0800-0011" not in one(dutch, "cap:description")  # the instruction carries it
    for info in infos:
        assert one(info, "cap:category") == "Rescue"
        assert one(info, "cap:event") == "missing person"
        assert one(info, "cap:web") == action.page_url()
        assert len(one(info, "cap:headline")) <= 160


def test_it_writes_only_dutch_when_the_operator_wrote_only_dutch(released_mn):
    (alert,) = alerts_of(released_mn)

    assert [one(i, "cap:language") for i in alert.findall("cap:info", NS)] == ["nl-NL"]


def test_it_gives_the_circle_and_the_municipalities_it_reaches(released_mn):
    (alert,) = alerts_of(released_mn)
    area = alert.find("cap:info/cap:area", NS)

    assert one(area, "cap:circle") == "52.09070,5.12140 2"
    assert one(area, "cap:areaDesc") == "Straal van 2 km rond Utrecht"
    names = {one(g, "cap:valueName") for g in area.findall("cap:geocode", NS)}
    codes = {one(g, "cap:value") for g in area.findall("cap:geocode", NS)}
    assert names == {"CBS-gemeentecode"}
    assert "GM0344" in codes  # Utrecht
    assert "GM0363" not in codes  # Amsterdam lies 35 km away


def test_it_calls_a_crime_a_security_event_in_the_readers_words(draft_ams, operator_ams):
    release(draft_ams, operator_ams)

    (alert,) = alerts_of(draft_ams)

    assert one(alert, "cap:info/cap:category") == "Security"
    assert one(alert, "cap:info/cap:event") == "overval"


def test_it_calls_an_amber_alert_a_child_abduction_across_the_country(
    national_operator, second_national_operator, photo
):
    action = services.action_create(
        by=national_operator,
        **action_fields(kind="amber_alert", title="Ontvoerd meisje (6)", photo=photo),
    )
    approve_and_release(action, national_operator, second_national_operator)

    (alert,) = alerts_of(action)
    info = alert.find("cap:info", NS)

    assert one(info, "cap:event") == "child abduction"
    assert one(info, "cap:category") == "Rescue"
    assert one(info, "cap:area/cap:areaDesc") == "Nederland"
    polygon = one(info, "cap:area/cap:polygon").split(" ")
    assert len(polygon) == 5 and polygon[0] == polygon[-1]


def test_it_refuses_a_message_that_is_not_the_actions(released_mn, draft_ams, operator_ams):
    release(draft_ams, operator_ams)
    other = OutgoingMessage.objects.get(pk=draft_ams.release_message_id)

    with pytest.raises(cap.NotAMessageOfTheAction):
        cap.alert_xml(released_mn, other)


def test_the_spec_example_parses_with_the_reader(settings):
    from pathlib import Path

    data = (Path(settings.BASE_DIR) / "tests/data/cap/example-amber-alert.xml").read_bytes()

    assert one(cap_schema.parse(data), "cap:info/cap:event") == "Child Abduction"


# Signatures ----------------------------------------------------------------------------------


def test_a_signed_alert_is_valid_cap_and_verifies(released_mn, tmp_path):
    key, cert = key_and_cert(tmp_path)
    ((_what, message),) = messages_of(released_mn)

    signed = cap.sign(cap.alert_xml(released_mn, message), key=key, cert=cert)

    root = cap_schema.parse(signed)
    assert root[-1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
    verified = cap.verify(signed, cert=cert)
    assert one(verified, "cap:identifier") == one(root, "cap:identifier")


def test_a_changed_signed_alert_fails_verification(released_mn, tmp_path):
    key, cert = key_and_cert(tmp_path)
    ((_what, message),) = messages_of(released_mn)
    signed = cap.sign(cap.alert_xml(released_mn, message), key=key, cert=cert)

    tampered = signed.replace(b"Loopt slecht", b"Loopt snel")

    assert tampered != signed
    with pytest.raises(InvalidSignature):
        cap.verify(tampered, cert=cert)


def test_another_certificate_does_not_verify_it(released_mn, tmp_path):
    (tmp_path / "ours").mkdir()
    key, cert = key_and_cert(tmp_path / "ours")
    _key, their_cert = key_and_cert(tmp_path)
    ((_what, message),) = messages_of(released_mn)
    signed = cap.sign(cap.alert_xml(released_mn, message), key=key, cert=cert)

    with pytest.raises(InvalidSignature):
        cap.verify(signed, cert=their_cert)


def test_it_publishes_signed_alerts_with_a_key_in_the_settings(released_mn, client, signing):
    _key, cert = signing
    ((_what, message),) = messages_of(released_mn)

    response = client.get(cap.message_url(released_mn, message))

    assert response.status_code == 200
    cap.verify(response.content, cert=cert)


def test_signing_without_a_key_is_refused(released_mn, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.CAP_SIGNING_KEY_FILE = settings.CAP_SIGNING_CERT_FILE = ""
    ((_what, message),) = messages_of(released_mn)

    with pytest.raises(ImproperlyConfigured):
        cap.sign(cap.alert_xml(released_mn, message))


# The public addresses ------------------------------------------------------------------------


def test_it_serves_each_message_as_cap(released_mn, operator_mn, client):
    services.action_end(
        action=released_mn,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Thuis.",
    )

    for _what, message in messages_of(released_mn):
        response = client.get(cap.message_url(released_mn, message))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/cap+xml"
        assert "public" in response["Cache-Control"]
        assert "max-age" in response["Cache-Control"]
        cap_schema.parse(response.content)


def test_it_does_not_publish_a_draft(draft_mn, client):
    message = services.action_message_preview(draft_mn)
    message.save()  # a message that exists, but the action was never released

    url = reverse("caps:message", kwargs={"ref": draft_mn.ref, "message_pk": message.pk})

    assert client.get(url).status_code == 404


def test_it_answers_404_for_another_actions_message(released_mn, draft_ams, operator_ams, client):
    release(draft_ams, operator_ams)
    url = reverse(
        "caps:message",
        kwargs={"ref": released_mn.ref, "message_pk": draft_ams.release_message_id},
    )

    assert client.get(url).status_code == 404


def test_it_refuses_to_change_a_message(released_mn, client):
    message = OutgoingMessage.objects.get(pk=released_mn.release_message_id)
    url = cap.message_url(released_mn, message)

    assert client.post(url).status_code == 405


def test_the_index_is_atom_with_an_entry_per_cap_message(released_mn, operator_mn, client):
    services.action_update(action=released_mn, by=operator_mn, text="Gezien bij het station.")

    response = client.get(reverse("caps:index"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = etree.fromstring(response.content)
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    for required in ("a:id", "a:title", "a:updated", "a:author/a:name"):
        assert feed.findtext(required, namespaces=ATOM)
    entries = feed.findall("a:entry", ATOM)
    assert len(entries) == 2
    for entry in entries:
        for required in ("a:id", "a:title", "a:updated"):
            assert entry.findtext(required, namespaces=ATOM)
        assert OFFSET.match(entry.findtext("a:updated", namespaces=ATOM))
        (link,) = entry.xpath("a:link[@type='application/cap+xml']", namespaces=ATOM)
        cap_url = link.get("href")
        assert cap_url.startswith("http")
        path = cap_url.split("://", 1)[1].split("/", 1)[1]
        cap_schema.parse(client.get("/" + path).content)


def test_the_index_leaves_out_drafts_exercises_and_old_messages(operator_mn, draft_mn, client):
    exercise = services.action_create(by=operator_mn, **action_fields(is_exercise=True))
    release(exercise, operator_mn)
    old = services.action_create(by=operator_mn, **action_fields(title="Oud"))
    release(old, operator_mn)
    OutgoingMessage.objects.filter(pk=old.release_message_id).update(
        created_at=datetime.now(UTC) - timedelta(days=8)
    )

    feed = etree.fromstring(client.get(reverse("caps:index")).content)

    assert feed.findall("a:entry", ATOM) == []
    assert feed.findtext("a:updated", namespaces=ATOM)


def test_it_expects_rather_than_rushes_what_is_not_time_critical(operator_mn, settings):
    settings.CAP_SENDER = "cap@burgernet.test"
    action = services.action_create(
        by=operator_mn, **action_fields(kind="suspicious_situation", is_time_critical=False)
    )
    release(action, operator_mn)

    (alert,) = alerts_of(action)

    assert one(alert, "cap:sender") == "cap@burgernet.test"
    assert one(alert, "cap:info/cap:urgency") == "Expected"
    assert one(alert, "cap:info/cap:certainty") == "Likely"


def test_it_leaves_out_what_xml_cannot_carry(operator_mn):
    action = services.action_create(
        by=operator_mn, **action_fields(text="Loopt\x0b slecht\x07, is in de war.")
    )
    release(action, operator_mn)

    (alert,) = alerts_of(action)

    assert "Loopt slecht, is in de war." in one(alert, "cap:info/cap:description")
