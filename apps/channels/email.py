"""E-mail composers: what a domain's outbox message looks like as an e-mail.

The e-mail sender knows no action or mailing. For every message it asks the composer
registered for the message's source ("actions.action", "mail.mailing", …) for the content,
shared by all recipients, and for each recipient's merge values and unsubscribe link. The
content may hold merge fields written `${name}`: the sender rewrites them into the e-mail
service's own syntax (one API call for a whole batch) or fills them in itself.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.html import format_html, linebreaks
from django.utils.translation import gettext

if TYPE_CHECKING:
    from .models import Delivery, OutgoingMessage

# `${name}`: a merge field in a subject, text or HTML body.
MERGE_FIELD = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str  # plain-text body; may hold merge fields written ${name}
    html: str  # HTML body; may hold merge fields written ${name}
    from_email: str = ""  # the From header; "" for DEFAULT_FROM_EMAIL


@dataclass(frozen=True)
class RecipientData:
    merge: dict[str, str]  # values for the ${name} fields of this recipient
    unsubscribe_url: str  # absolute https URL accepting the RFC 8058 one-click POST; "" for none


class EmailComposer(Protocol):
    def content(self, message: "OutgoingMessage") -> EmailContent: ...

    def recipients(
        self, message: "OutgoingMessage", deliveries: Sequence["Delivery"]
    ) -> dict[int, RecipientData]:
        """Per delivery.pk; a delivery left out is not sent (failed "no recipient data")."""
        ...


_COMPOSERS: dict[str, EmailComposer] = {}


def register_composer(source_prefix: str, composer: EmailComposer) -> None:
    """Let `composer` write the e-mails of messages whose source starts with
    `source_prefix:` (e.g. "mail.mailing"). Call it from the domain app's ready()."""
    if ":" in source_prefix or not source_prefix:
        raise ValueError("a source prefix is the part of a message's source before the first ':'")
    _COMPOSERS[source_prefix] = composer


def composer_for(message: "OutgoingMessage") -> EmailComposer:
    """The composer registered for the message's source, or the plain default."""
    prefix = message.source.split(":", 1)[0]
    return _COMPOSERS.get(prefix, DEFAULT_COMPOSER)


def absolute_url(url: str) -> str:
    """A link as it must appear in an e-mail: absolute, on SITE_URL when given as a path."""
    return settings.SITE_URL + url if url.startswith("/") else url


def merge_fields(text: str) -> set[str]:
    """The names of the `${name}` fields in `text`."""
    return set(MERGE_FIELD.findall(text))


def fill(text: str, values: dict[str, str]) -> str:
    """`text` with its `${name}` fields replaced by `values` (a missing one by "")."""
    return MERGE_FIELD.sub(lambda match: values.get(match.group(1), ""), text)


def escape_fields(text: str) -> str:
    """`text` (content from a domain, not a template) with "${" written so that no merge
    field is read into it: a literal "${x}" in a citizen's or author's text stays as it is."""
    return text.replace("${", "$\u200b{")


class DefaultComposer:
    """Title, body and link of the message; no merge fields, no unsubscribe header."""

    def content(self, message: "OutgoingMessage") -> EmailContent:
        url = absolute_url(message.url)
        title, body = escape_fields(message.title), escape_fields(message.body)
        text = body + (f"\n\n{url}" if url else "")
        html = format_html(
            '<!doctype html><html lang="nl"><body><h1>{}</h1>{}{}</body></html>',
            title,
            linebreaks(body, autoescape=True),
            format_html('<p><a href="{}">{}</a></p>', url, gettext("Lees verder")) if url else "",
        )
        return EmailContent(subject=title, text=text, html=str(html))

    def recipients(self, message, deliveries) -> dict[int, RecipientData]:
        return {d.pk: RecipientData(merge={}, unsubscribe_url="") for d in deliveries}


DEFAULT_COMPOSER = DefaultComposer()
