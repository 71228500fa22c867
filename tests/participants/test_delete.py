"""Deleting a registration: every row at once, the session ended, an audit entry by id."""

import json

from django.urls import reverse

from apps.governance.models import AuditEntry
from apps.participants import services
from apps.participants.models import ActiveWindow, Address, ManageLink, Participant, PhoneCode


def counts(participant_id):
    return {
        "participants": Participant.objects.filter(pk=participant_id).count(),
        "addresses": Address.objects.filter(participant_id=participant_id).count(),
        "windows": ActiveWindow.objects.filter(address__participant_id=participant_id).count(),
        "codes": PhoneCode.objects.filter(participant_id=participant_id).count(),
        "links": ManageLink.objects.filter(participant_id=participant_id).count(),
    }


def test_it_deletes_every_row_of_the_registration_and_ends_the_session(
    manage_client, make_participant
):
    participant = make_participant(email="iemand@example.org", addresses=3)
    other = make_participant("+31612345679")
    PhoneCode.for_participant(participant, "123456").save()
    services._new_manage_link(participant)  # an unused manage link
    client = manage_client(participant)  # and a used one
    before = counts(participant.pk)
    assert before == {"participants": 1, "addresses": 3, "windows": 3, "codes": 1, "links": 2}

    page = client.get(reverse("participants:delete"))
    assert "Dit kunt u niet ongedaan maken" in page.content.decode()
    response = client.post(reverse("participants:delete"))

    assert response.status_code == 302
    assert response.url == reverse("participants:deleted")
    assert set(counts(participant.pk).values()) == {0}
    assert counts(other.pk)["addresses"] == 1  # nobody else's data goes
    done = client.get(response.url).content.decode()
    assert "Uw aanmelding is verwijderd" in done
    # The session is gone with it.
    assert client.get(reverse("participants:manage")).status_code == 302
    assert client.post(reverse("participants:delete")).status_code == 302


def test_it_records_the_deletion_without_personal_data(manage_client, make_participant):
    participant = make_participant(email="iemand@example.org")
    pk = participant.pk
    client = manage_client(participant)
    client.post(reverse("participants:delete"), REMOTE_ADDR="192.0.2.44")

    entry = AuditEntry.objects.get(verb="participant.deleted")
    assert (entry.target_type, entry.target_id) == ("participants.participant", str(pk))
    assert entry.detail == {"by": "participant"}
    assert entry.actor is None
    assert entry.ip is None  # the citizen's address is personal data too
    text = json.dumps([entry.target_repr, entry.detail, entry.actor_name])
    for personal in ("+31612345678", "612345678", "iemand", "example.org", "3441"):
        assert personal not in text


def test_it_asks_before_deleting_and_deletes_only_by_post(manage_client, make_participant):
    participant = make_participant()
    client = manage_client(participant)
    assert client.get(reverse("participants:delete")).status_code == 200
    assert Participant.objects.filter(pk=participant.pk).exists()
