"""The e-mail sender: batch sends through anymail (its test backend counts the API calls),
per-recipient merge data and unsubscribe headers, message ids, and local rendering."""

from datetime import timedelta

import pytest
import requests
from anymail.exceptions import AnymailAPIError, AnymailRequestsAPIError
from anymail.message import AnymailRecipientStatus
from anymail.signals import pre_send
from django.core import mail
from django.core.checks import Error
from django.utils import timezone

from apps.channels import outbox
from apps.channels.email import EmailContent, RecipientData, composer_for, register_composer
from apps.channels.models import Channel, Delivery
from apps.channels.senders import email as email_sender
from apps.participants.models import Participant

TEST_BACKEND = "anymail.backends.test.EmailBackend"


class MailingComposer:
    """A composer like Burgernetmail's: a respond link and an unsubscribe link per recipient."""

    def content(self, message):
        return EmailContent(
            subject=message.title,
            text=f"{message.body}\nReageer: ${{respond_url}}\nAfmelden: ${{unsubscribe_url}}",
            html=f"<p>{message.body}</p><a href='${{respond_url}}'>Reageer</a>"
            "<a href='${unsubscribe_url}'>Afmelden</a>",
        )

    def recipients(self, message, deliveries):
        return {
            d.pk: RecipientData(
                merge={
                    "respond_url": f"https://burgernet.test/r/{d.participant_id}/?a=1&b=2",
                    "unsubscribe_url": f"https://burgernet.test/af/{d.participant_id}/",
                },
                unsubscribe_url=f"https://burgernet.test/af/{d.participant_id}/",
            )
            for d in deliveries
        }


register_composer("tests.mailing", MailingComposer())


@pytest.fixture
def esp(settings):
    """anymail's test backend: every API call lands in mail.outbox."""
    settings.EMAIL_BACKEND = TEST_BACKEND
    settings.EMAIL_BATCH_SIZE = 500
    settings.EMAIL_MERGE_FIELD_FORMAT = ""
    settings.EMAIL_BATCH_TEMPLATE_ID = ""
    mail.outbox.clear()


@pytest.fixture
def readers(db):
    """readers(n) → n participants with a confirmed e-mail address."""

    def make(n: int, *, start: int = 0, **fields):
        now = timezone.now()
        fields.setdefault("email_confirmed_at", now)
        Participant.objects.bulk_create(
            Participant(
                phone=f"+3162{i:07d}",
                phone_confirmed_at=now,
                email=fields.pop("email", None) or f"lezer{i}@example.nl",
                **fields,
            )
            for i in range(start, start + n)
        )
        return list(Participant.objects.filter(phone__startswith="+3162").order_by("pk"))

    return make


def _enqueue(message, participants):
    outbox.enqueue(
        message=message, channel=Channel.EMAIL, participant_ids=[p.pk for p in participants]
    )


@pytest.fixture
def answer_with(request):
    """answer_with(statuses_by_address | exception): what the test backend will answer."""

    def install(answer):
        def receiver(sender, message, **kwargs):
            if isinstance(answer, Exception):
                message.anymail_test_response = answer
            else:
                message.anymail_test_response = {
                    "recipient_status": {
                        address: AnymailRecipientStatus(*answer(address)) for address in message.to
                    }
                }

        pre_send.connect(receiver, weak=False, dispatch_uid="test-answer")
        request.addfinalizer(lambda: pre_send.disconnect(dispatch_uid="test-answer"))

    return install


# Batches -----------------------------------------------------------------------------------


def test_it_sends_1200_recipients_in_three_api_calls_of_at_most_500(
    esp, readers, make_message, send_all
):
    message = make_message(source="tests.mailing:1")
    _enqueue(message, readers(1200))

    assert send_all(message, chunk_size=1200) == {"sent": 1200}

    assert sorted(len(m.to) for m in mail.outbox) == [200, 500, 500]
    assert all(m.anymail_test_params["is_batch_send"] for m in mail.outbox)
    assert {a for m in mail.outbox for a in m.to} == set(
        Participant.objects.values_list("email", flat=True)
    )


def test_it_keeps_a_batch_within_the_services_own_limit(settings):
    settings.EMAIL_BATCH_SIZE = 1000
    assert email_sender.batch_size("anymail.backends.amazon_ses.EmailBackend") == 50
    assert email_sender.batch_size("anymail.backends.postmark.EmailBackend") == 500
    assert email_sender.batch_size("anymail.backends.mailgun.EmailBackend") == 1000
    settings.EMAIL_BATCH_SIZE = 200
    assert email_sender.batch_size("anymail.backends.mailgun.EmailBackend") == 200


def test_it_gives_each_recipient_its_merge_data_and_unsubscribe_headers(
    esp, readers, make_message, send_all
):
    message = make_message(source="tests.mailing:2", title="Inbraak", body="Wie zag iets?")
    first, second = readers(2)
    _enqueue(message, [first, second])

    send_all(message)

    [sent] = mail.outbox
    params = sent.anymail_test_params
    assert params["subject"] == "Inbraak"
    assert "Reageer: {{respond_url}}" in params["text_body"]
    html = params["html_body"]
    # A value HTML would read differently ("&") goes into the HTML as its escaped twin.
    assert "href='{{respond_url_html}}'" in html
    assert "href='{{unsubscribe_url}}'" in html
    assert params["merge_data"][first.email] == {
        "respond_url": f"https://burgernet.test/r/{first.pk}/?a=1&b=2",
        "respond_url_html": f"https://burgernet.test/r/{first.pk}/?a=1&amp;b=2",
        "unsubscribe_url": f"https://burgernet.test/af/{first.pk}/",
    }
    assert params["merge_headers"][second.email] == {
        "List-Unsubscribe": f"<https://burgernet.test/af/{second.pk}/>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_it_writes_merge_fields_in_the_configured_services_syntax(
    esp, settings, readers, make_message, send_all
):
    settings.EMAIL_MERGE_FIELD_FORMAT = "%recipient.{}%"
    message = make_message(source="tests.mailing:3")
    _enqueue(message, readers(1))

    send_all(message)

    assert (
        "Afmelden: %recipient.unsubscribe_url%" in mail.outbox[0].anymail_test_params["text_body"]
    )


def test_it_stores_each_recipients_message_id(esp, readers, make_message, send_all, answer_with):
    answer_with(lambda address: (f"esp-{address}", "queued"))
    message = make_message(source="tests.mailing:4")
    people = readers(3)
    _enqueue(message, people)

    assert send_all(message) == {"sent": 3}

    for person in people:
        delivery = Delivery.objects.get(participant=person)
        assert delivery.provider_id == f"esp-{person.email}"


def test_it_fails_the_recipients_the_service_rejects(
    esp, readers, make_message, send_all, answer_with
):
    answer_with(lambda a: (f"id-{a}", "rejected" if a.startswith("lezer1@") else "sent"))
    message = make_message(source="tests.mailing:5")
    _enqueue(message, readers(3))

    assert send_all(message) == {"sent": 2, "failed": 1}
    failed = Delivery.objects.get(state=Delivery.State.FAILED)
    assert failed.participant.email == "lezer1@example.nl"
    assert failed.error == "e-mail rejected"


def test_it_fails_a_batch_whose_recipients_are_all_refused(
    esp, readers, make_message, send_all, answer_with
):
    answer_with(lambda a: (None, "invalid"))
    message = make_message(source="tests.mailing:6")
    _enqueue(message, readers(2))

    assert send_all(message) == {"failed": 2}
    assert set(Delivery.objects.values_list("error", flat=True)) == {"e-mail invalid"}


def test_it_sends_an_address_shared_by_two_participants_in_separate_api_calls(
    esp, make_message, send_all
):
    now = timezone.now()
    household = [
        Participant.objects.create(
            phone=f"+3163000000{i}",
            phone_confirmed_at=now,
            email="gezin@example.nl",
            email_confirmed_at=now,
        )
        for i in range(2)
    ]
    message = make_message(source="tests.mailing:7")
    _enqueue(message, household)

    assert send_all(message) == {"sent": 2}
    assert [m.to for m in mail.outbox] == [["gezin@example.nl"], ["gezin@example.nl"]]
    links = {
        m.anymail_test_params["merge_data"]["gezin@example.nl"]["unsubscribe_url"]
        for m in mail.outbox
    }
    assert len(links) == 2


# Who gets nothing ------------------------------------------------------------------------


def test_it_fails_unconfirmed_and_suppressed_addresses_without_sending(esp, make_message, send_all):
    now = timezone.now()
    no_address = Participant.objects.create(phone="+31640000001", phone_confirmed_at=now)
    unconfirmed = Participant.objects.create(
        phone="+31640000002", phone_confirmed_at=now, email="nog@example.nl"
    )
    bounced = Participant.objects.create(
        phone="+31640000003",
        phone_confirmed_at=now,
        email="weg@example.nl",
        email_confirmed_at=now,
        email_suppressed_at=now,
        email_suppressed_reason="bounced",
    )
    message = make_message(source="tests.mailing:8")
    _enqueue(message, [no_address, unconfirmed, bounced])

    assert send_all(message) == {"failed": 3}
    assert mail.outbox == []
    assert set(Delivery.objects.values_list("error", flat=True)) == {"no confirmed e-mail"}


def test_it_does_not_send_a_row_again_once_it_is_recorded_as_sent(
    esp, readers, make_message, send_all
):
    message = make_message(source="tests.mailing:9")
    _enqueue(message, readers(3))
    assert send_all(message) == {"sent": 3}

    outbox.sweep(now=timezone.now() + timedelta(minutes=30))
    assert send_all(message) == {}
    _enqueue(message, Participant.objects.all())  # the same recipients once more

    assert send_all(message) == {}
    assert len(mail.outbox) == 1


# Errors ------------------------------------------------------------------------------------


def _api_error(status: int, retry_after: str = "") -> AnymailRequestsAPIError:
    response = requests.Response()
    response.status_code = status
    response.reason = "test"
    response._content = b"{}"
    if retry_after:
        response.headers["Retry-After"] = retry_after
    return AnymailRequestsAPIError("test", response=response)


def test_it_retries_a_batch_when_the_service_answers_503(esp, readers, make_message, answer_with):
    answer_with(_api_error(503, retry_after="120"))
    message = make_message(source="tests.mailing:10")
    _enqueue(message, readers(2))
    before = timezone.now()

    assert outbox.send_chunk(outbox.claim_chunk(message_id=message.pk)) == {"retry": 2}

    for delivery in Delivery.objects.all():
        assert delivery.state == Delivery.State.QUEUED
        assert delivery.error == "e-mail service answered 503"
        assert delivery.next_attempt_at >= before + timedelta(seconds=120)


def test_it_retries_a_batch_when_the_service_cannot_be_reached(
    esp, readers, make_message, answer_with
):
    error = AnymailAPIError("posting failed")
    error.__cause__ = requests.Timeout()
    answer_with(error)
    message = make_message(source="tests.mailing:11")
    _enqueue(message, readers(1))

    assert outbox.send_chunk(outbox.claim_chunk(message_id=message.pk)) == {"retry": 1}
    assert Delivery.objects.get().error == "e-mail service unreachable (Timeout)"


def test_it_fails_a_batch_the_service_refuses(esp, readers, make_message, answer_with):
    answer_with(_api_error(422))
    message = make_message(source="tests.mailing:12")
    _enqueue(message, readers(2))

    assert outbox.send_chunk(outbox.claim_chunk(message_id=message.pk)) == {"failed": 2}
    assert set(Delivery.objects.values_list("error", flat=True)) == {"e-mail service answered 422"}


# Stored templates (Postmark, Amazon SES) and other backends ------------------------------


def test_it_fills_in_each_mail_for_a_stored_template_in_one_api_call(
    esp, settings, readers, make_message, send_all
):
    settings.EMAIL_BATCH_TEMPLATE_ID = "burgernet-batch"
    message = make_message(source="tests.mailing:13", title="Inbraak", body="Wie zag iets?")
    first, second = readers(2)
    _enqueue(message, [first, second])

    assert send_all(message) == {"sent": 2}

    [sent] = mail.outbox
    params = sent.anymail_test_params
    assert params["template_id"] == "burgernet-batch"
    data = params["merge_data"][second.email]
    assert data["subject"] == "Inbraak"
    assert f"Afmelden: https://burgernet.test/af/{second.pk}/" in data["text"]
    assert f"href='https://burgernet.test/r/{second.pk}/?a=1&amp;b=2'" in data["html"]
    assert params["merge_headers"][first.email]["List-Unsubscribe"] == (
        f"<https://burgernet.test/af/{first.pk}/>"
    )


def test_it_renders_each_mail_itself_with_a_backend_that_is_not_anymail(
    settings, readers, make_message, send_all, mailoutbox
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = make_message(source="tests.mailing:14", title="Inbraak", body="Wie zag iets?")
    first, second = readers(2)
    _enqueue(message, [first, second])

    assert send_all(message) == {"sent": 2}

    by_address = {m.to[0]: m for m in mailoutbox}
    mine = by_address[first.email]
    assert mine.subject == "Inbraak"
    assert f"Reageer: https://burgernet.test/r/{first.pk}/?a=1&b=2" in mine.body
    [(html, _)] = mine.alternatives
    assert f"href='https://burgernet.test/r/{first.pk}/?a=1&amp;b=2'" in html
    assert mine.extra_headers["List-Unsubscribe"] == f"<https://burgernet.test/af/{first.pk}/>"
    assert mine.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    delivery = Delivery.objects.get(participant=first)
    assert delivery.provider_id == mine.extra_headers["Message-ID"]


def test_it_sends_a_message_without_a_composer_as_title_body_and_link(
    settings, readers, make_message, send_all, mailoutbox
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://burgernet.test"
    message = make_message(title="Let op <b>", body="Tekst met ${veld}.")
    _enqueue(message, readers(1))

    assert send_all(message) == {"sent": 1}

    [sent] = mailoutbox
    assert sent.subject == "Let op <b>"
    assert "https://burgernet.test/app/acties/1/" in sent.body
    assert "List-Unsubscribe" not in sent.extra_headers
    [(html, _)] = sent.alternatives
    assert "Let op &lt;b&gt;" in html
    assert "{veld}." in sent.body  # a literal ${…} in a text is no merge field


# Configuration -----------------------------------------------------------------------------


def test_it_asks_for_a_stored_template_with_a_service_that_merges_only_into_templates(settings):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.EMAIL_MERGE_FIELD_FORMAT = ""
    settings.EMAIL_BATCH_TEMPLATE_ID = ""

    [error] = email_sender.check_settings()

    assert isinstance(error, Error)
    assert "EMAIL_BATCH_TEMPLATE_ID" in error.msg
    settings.EMAIL_BATCH_TEMPLATE_ID = "burgernet-batch"
    assert email_sender.check_settings() == []


def test_it_accepts_the_console_backend_without_merge_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert email_sender.check_settings() == []


def test_it_finds_the_composer_by_the_source_before_the_first_colon(make_message):
    assert isinstance(composer_for(make_message(source="tests.mailing:1:x")), MailingComposer)
    assert not isinstance(composer_for(make_message(source="tests.other:1")), MailingComposer)
    with pytest.raises(ValueError):
        register_composer("tests.mailing:1", MailingComposer())


def test_it_mails_an_action_with_its_page_and_a_link_to_manage_the_registration(
    settings, readers, make_message, send_all, mailoutbox
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://burgernet.test"
    message = make_message(
        source="actions.action:7:release",
        title="Burgernet: Inbraak <Woerden>",
        body="Twee mannen, donkere kleding.\nGezien? Bel 0800-0011.",
        url="https://burgernet.test/actie/abc/",
    )
    _enqueue(message, readers(1))

    assert send_all(message) == {"sent": 1}

    [sent] = mailoutbox
    assert sent.subject == "Burgernet: Inbraak <Woerden>"
    assert "Twee mannen, donkere kleding." in sent.body
    assert "https://burgernet.test/actie/abc/" in sent.body
    assert "https://burgernet.test/beheren/" in sent.body
    [(html, _)] = sent.alternatives
    assert "Inbraak &lt;Woerden&gt;" in html
    assert 'href="https://burgernet.test/actie/abc/"' in html
    assert 'href="https://burgernet.test/beheren/"' in html
    assert '<html lang="nl">' in html
