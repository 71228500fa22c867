"""The e-mail sender: the outbox's "email" deliveries, as batch sends through django-anymail.

Per message, the composer registered for its source (channels/email.py) gives the content
shared by all recipients and each recipient's merge values and unsubscribe link. Then:

- With an anymail ESP backend (and anymail's test backend) the recipients go out in batches
  of at most EMAIL_BATCH_SIZE: one API call per batch, `to` holding the batch's addresses,
  `merge_data` each one's values (the `${name}` fields rewritten into the service's syntax,
  EMAIL_MERGE_FIELD_FORMAT), `merge_headers` each one's List-Unsubscribe (RFC 8058). The
  message id per recipient (`anymail_status`) goes into Delivery.provider_id, where the
  tracking webhooks (channels/webhooks.py) find it. anymail does not split batches itself.
- Services that merge only into stored templates (Postmark, Amazon SES) take
  EMAIL_BATCH_TEMPLATE_ID: a stored template whose subject, text and HTML are the fields
  `subject`, `text` and `html` unescaped; each recipient's mail is filled in here and
  handed over as that recipient's merge data, still one API call per batch.
- Any other backend (console, locmem, smtp in development and tests) gets each recipient's
  mail filled in here, with its own headers, all over one connection.
"""

import html
import logging
import smtplib
import time
from collections import defaultdict
from collections.abc import Sequence
from email.utils import make_msgid

from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME
from django.utils import translation

from .. import email as composers
from .. import texts
from .base import Outcome, Reporter
from .webpush import retry_after_seconds

logger = logging.getLogger(__name__)

# The most recipients one API call of each service takes (anymail does not split batches).
BATCH_LIMITS = {"postmark": 500, "sendgrid": 1000, "mailgun": 1000, "amazon_ses": 50}
# How each service writes a merge field in on-the-fly content ("{}" stands for the name),
# where anymail's code or documentation shows it; others need EMAIL_MERGE_FIELD_FORMAT.
MERGE_FIELD_FORMATS = {
    "anymail.backends.mailgun.EmailBackend": "%recipient.{}%",
    "anymail.backends.mailjet.EmailBackend": "{{var:{}}}",
    "anymail.backends.mandrill.EmailBackend": "*|{}|*",
    "anymail.backends.sendgrid.EmailBackend": "-{}-",
    "anymail.backends.sparkpost.EmailBackend": "{{{}}}",
    "anymail.backends.test.EmailBackend": "{{{}}}",
}
# Services whose batch sends merge only into stored templates.
TEMPLATE_ONLY = ("postmark", "amazon_ses", "resend")
ONE_CLICK = "List-Unsubscribe=One-Click"
# anymail's per-recipient statuses that mean the service will not deliver.
REFUSED = {"rejected", "invalid", "failed"}


def batch_size(backend_path: str) -> int:
    """EMAIL_BATCH_SIZE, kept within what the configured service takes in one call."""
    size = int(settings.EMAIL_BATCH_SIZE)
    if size < 1:
        raise ImproperlyConfigured("EMAIL_BATCH_SIZE must be at least 1.")
    parts = backend_path.split(".")
    esp = parts[2] if len(parts) == 4 and parts[:2] == ["anymail", "backends"] else ""
    return min(size, BATCH_LIMITS.get(esp, size))


def merge_field_format(backend_path: str) -> str:
    """How the `${name}` fields are written for the configured service."""
    fmt = settings.EMAIL_MERGE_FIELD_FORMAT or MERGE_FIELD_FORMATS.get(backend_path, "")
    if not fmt:
        hint = (
            "EMAIL_BATCH_TEMPLATE_ID"
            if any(f".{esp}." in backend_path for esp in TEMPLATE_ONLY)
            else "EMAIL_MERGE_FIELD_FORMAT"
        )
        raise ImproperlyConfigured(
            f"Batch e-mail through {backend_path} needs {hint} (see README, E-mail)."
        )
    if fmt.count("{}") != 1:
        raise ImproperlyConfigured('EMAIL_MERGE_FIELD_FORMAT must hold "{}" exactly once.')
    return fmt


def is_esp(connection) -> bool:
    """Whether the connection is an anymail backend (anymail's test backend included)."""
    return isinstance(connection, AnymailBaseBackend)


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 / RFC 8058 one-click unsubscribe headers, or none without a link."""
    if not url:
        return {}
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}


def api_error_outcome(exc: AnymailError) -> Outcome:
    """Transient for timeouts, lost connections, 429 and 5xx; permanent otherwise. The
    error text stays short and generic: anymail's own may quote addresses."""
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    if status is None and isinstance(exc, AnymailAPIError) and response is None:
        # No answer at all (anymail raised it from a requests or boto error).
        cause = type(exc.__cause__ or exc).__name__
        return Outcome.transient(f"e-mail service unreachable ({cause})")
    if status is not None and (status == 429 or status >= 500):
        headers = getattr(response, "headers", None) or {}
        return Outcome.transient(
            f"e-mail service answered {status}",
            retry_after=retry_after_seconds(headers.get("Retry-After")),
        )
    if status is not None:
        return Outcome.permanent(f"e-mail service answered {status}")
    return Outcome.permanent(f"e-mail service refused the message ({type(exc).__name__})")


def _batches(rows: list, limit: int) -> list[list]:
    """`rows` (delivery, address) in batches of at most `limit`, an address at most once per
    batch: merge data is keyed by address, and a household may share one."""
    rounds: dict[int, list] = defaultdict(list)
    seen: dict[str, int] = defaultdict(int)
    for row in rows:
        key = row[1].lower()
        rounds[seen[key]].append(row)
        seen[key] += 1
    return [r[i : i + limit] for r in rounds.values() for i in range(0, len(r), limit)]


class EmailSender:
    kind = "email"

    def deliver(
        self, deliveries: Sequence, *, deadline: float | None = None, report=None
    ) -> list[Outcome]:
        position = {d.pk: i for i, d in enumerate(deliveries)}
        reporter = Reporter(report)
        outcomes: dict[int, Outcome] = {}

        def record(decided: dict[int, Outcome]) -> None:
            outcomes.update(decided)
            for pk, outcome in decided.items():
                reporter.add(position[pk], outcome)

        # Per message and reader language: each group gets its own content.
        by_message: dict[tuple[int, str], list] = defaultdict(list)
        for delivery in deliveries:
            participant = delivery.participant
            if participant is None or not participant.may_receive_email:
                record({delivery.pk: Outcome.permanent("no confirmed e-mail")})
            else:
                language = texts.reader_language(participant)
                by_message[(delivery.message_id, language)].append(delivery)
        if by_message:
            connection = get_connection()
            esp = is_esp(connection)
            connection.open()
            try:
                for (_, language), rows in by_message.items():
                    message = texts.localized(rows[0].message, language)
                    self._deliver_message(connection, esp, message, rows, deadline, record)
            finally:
                connection.close()
        reporter.flush()
        return [outcomes[d.pk] for d in deliveries]

    def _deliver_message(
        self, connection, esp: bool, message, rows: list, deadline, record
    ) -> None:
        """Send `message` (texts.Localized: in the language of `rows`' readers) to `rows`."""
        content, data = compose(message, rows)
        recipients = []
        for delivery in rows:
            if delivery.pk in data:
                recipients.append((delivery, delivery.participant.email, data[delivery.pk]))
            else:
                record({delivery.pk: Outcome.permanent("no recipient data")})
        if esp:
            send, limit = self._send_batch, batch_size(settings.EMAIL_BACKEND)
        else:
            send, limit = self._send_rendered, len(recipients) or 1
        for batch in _batches(recipients, limit):
            if deadline is not None and time.monotonic() > deadline:
                record({d.pk: Outcome.skipped() for d, _, _ in batch})
                continue
            record(send(connection, message, content, batch))

    # An ESP: one API call per batch --------------------------------------------------------

    def _send_batch(self, connection, message, content, batch) -> dict[int, Outcome]:
        backend = settings.EMAIL_BACKEND
        template_id = settings.EMAIL_BATCH_TEMPLATE_ID
        addresses = [address for _, address, _ in batch]
        if template_id:
            # The subject comes from the template (anymail leaves a None subject out).
            mail = EmailMultiAlternatives(
                subject=None,
                to=addresses,
                from_email=content.from_email or None,
                connection=connection,
            )
            mail.template_id = template_id
            mail.merge_data = {
                address: {
                    "subject": composers.fill(content.subject, r.merge),
                    "text": composers.fill(content.text, r.merge),
                    "html": _fill_html(content.html, r.merge),
                }
                for _, address, r in batch
            }
        else:
            fmt = merge_field_format(backend)
            fields = (
                composers.merge_fields(content.subject)
                | composers.merge_fields(content.text)
                | composers.merge_fields(content.html)
            )
            # A value that HTML would read differently goes into the HTML as an escaped twin.
            needs_escape = {
                name
                for _, _, r in batch
                for name, value in r.merge.items()
                if html.escape(value) != value
            }
            html_names = {name: f"{name}_html" if name in needs_escape else name for name in fields}

            def write(text: str, names: dict[str, str] | None = None) -> str:
                names = names or {}
                return composers.MERGE_FIELD.sub(
                    lambda m: fmt.replace("{}", names.get(m.group(1), m.group(1))), text
                )

            mail = EmailMultiAlternatives(
                subject=write(content.subject),
                body=write(content.text),
                to=addresses,
                from_email=content.from_email or None,
                connection=connection,
            )
            mail.attach_alternative(write(content.html, html_names), "text/html")
            mail.merge_data = {}
            for _, address, r in batch:
                values = {name: r.merge.get(name, "") for name in fields}
                values |= {f"{n}_html": html.escape(values[n]) for n in fields & needs_escape}
                mail.merge_data[address] = values
            if backend == "anymail.backends.sendgrid.EmailBackend":
                # SendGrid substitutes keys with their delimiters (anymail adds them).
                mail.esp_extra = {"merge_field_format": fmt}
        mail.merge_headers = {
            address: unsubscribe_headers(r.unsubscribe_url) for _, address, r in batch
        }
        try:
            mail.send()
        except AnymailRecipientsRefused:
            pass  # every recipient refused: the statuses below say so
        except AnymailError as exc:
            logger.warning(
                "email: batch of %s for message %s failed: %s",
                len(batch),
                message.pk,
                type(exc).__name__,
            )
            outcome = api_error_outcome(exc)
            return {d.pk: outcome for d, _, _ in batch}
        statuses = getattr(mail, "anymail_status", None)
        recipients = statuses.recipients if statuses else {}
        outcomes = {}
        for delivery, address, _ in batch:
            status = recipients.get(address)
            if status is None:
                outcomes[delivery.pk] = Outcome.permanent("no status from the e-mail service")
            elif status.status in REFUSED:
                outcomes[delivery.pk] = Outcome.permanent(f"e-mail {status.status}")
            else:
                outcomes[delivery.pk] = Outcome.sent(str(status.message_id or ""))
        logger.info("email: batch of %s for message %s handed over", len(batch), message.pk)
        return outcomes

    # Any other backend: each mail filled in here ------------------------------------------

    def _send_rendered(self, connection, message, content, batch) -> dict[int, Outcome]:
        outcomes = {}
        for delivery, address, r in batch:
            message_id = make_msgid(domain=DNS_NAME)
            mail = EmailMultiAlternatives(
                subject=composers.fill(content.subject, r.merge),
                body=composers.fill(content.text, r.merge),
                to=[address],
                from_email=content.from_email or None,
                headers={"Message-ID": message_id, **unsubscribe_headers(r.unsubscribe_url)},
                connection=connection,
            )
            mail.attach_alternative(_fill_html(content.html, r.merge), "text/html")
            try:
                connection.send_messages([mail])
            except smtplib.SMTPRecipientsRefused:
                outcomes[delivery.pk] = Outcome.permanent("e-mail refused")
            except smtplib.SMTPResponseException as exc:
                error = f"mail server answered {exc.smtp_code}"
                permanent = 500 <= exc.smtp_code < 600
                outcomes[delivery.pk] = (
                    Outcome.permanent(error) if permanent else Outcome.transient(error)
                )
            except OSError as exc:
                # smtplib's other errors are OSErrors too: a server that is down or busy.
                outcomes[delivery.pk] = Outcome.transient(f"mail server ({type(exc).__name__})")
            else:
                outcomes[delivery.pk] = Outcome.sent(message_id)
        logger.info("email: %s mails for message %s sent", len(batch), message.pk)
        return outcomes


def compose(message, rows: Sequence = ()) -> tuple[composers.EmailContent, dict]:
    """The e-mail of `message` (a texts.Localized one, or a raw one: Dutch) as its
    composer writes it, with the fixed wording (gettext) in the message's language, never
    the operator's; and the recipients' data of `rows`."""
    message = texts.as_localized(message)
    composer = composers.composer_for(message)
    with translation.override(message.language):
        content = composer.content(message)
        data = composer.recipients(message, rows) if rows else {}
    return content, data


def _fill_html(text: str, values: dict[str, str]) -> str:
    return composers.fill(text, {name: html.escape(value) for name, value in values.items()})


def check_settings(app_configs=None, **kwargs) -> list:
    """System check: an anymail backend that batch sends needs a way to merge fields."""
    from django.core.checks import Error
    from django.utils.module_loading import import_string

    backend = settings.EMAIL_BACKEND
    try:
        is_anymail = issubclass(import_string(backend), AnymailBaseBackend)
    except ImportError:
        return [Error(f"EMAIL_BACKEND {backend!r} cannot be imported.", id="channels.E001")]
    if not is_anymail or settings.EMAIL_BATCH_TEMPLATE_ID:
        return []
    try:
        merge_field_format(backend)
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="channels.E002")]
    return []
