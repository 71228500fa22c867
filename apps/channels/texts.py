"""A message in its reader's language, and shortening by importance, for every sender.

An OutgoingMessage's own `title` and `body` are Dutch. Its `data` may carry the same
message in other reader languages, and what the senders need to shorten it well:

- `texts`: {"en": {"title", "body", "shorten_first" (optional), "call" (optional)},
  "de": {…}, "fr": {…}};
- `call`: the Dutch call line exactly as it stands in the body ("Gezien? Bel 0800-0011
  (bij spoed 112).");
- `shorten_first`: the span (start, end) of the Dutch body a short channel shortens
  first, the free description;
- `sms`: {"nl": "…", "en": "…"}, an SMS text the operator edited per language (already
  checked to fit): sent as it is, with the link.

Every sender asks `localized(message, reader_language(recipient))` and uses what it
answers instead of the raw message: the reader's language where the message was written
in it, Dutch otherwise. `shorten()` is the one rule by which a channel with little room
makes a body fit: the free description gives way first, then whatever stands before the
call line, and only then the end.
"""

from collections.abc import Callable, Mapping
from types import MappingProxyType

LANGUAGES = ("nl", "en", "de", "fr")
DEFAULT_LANGUAGE = "nl"
# What a message's data holds for the senders only; the rest goes along (e.g. to a push).
TEXT_KEYS = frozenset({"texts", "call", "shorten_first", "sms"})


def reader_language(recipient) -> str:
    """The language a participant or device reads ("en" for "en-GB" too), Dutch when it
    has none of LANGUAGES (or there is no recipient)."""
    value = getattr(recipient, "language", None) if recipient is not None else None
    if not isinstance(value, str):
        return DEFAULT_LANGUAGE
    primary = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


class Localized:
    """One message as one reader gets it: `title`, `body`, `url` and `data` (with that
    language's `shorten_first`, `call` and `sms`, and the message's other data) in
    `language`, the language it is written in. Read-only; anything else (pk, source,
    topic, urgency, created_at, expires_at, …) is the message's own."""

    __slots__ = ("body", "data", "language", "message", "title", "url")

    def __init__(self, message, language: str, title: str, body: str, data: Mapping):
        for name, value in (
            ("message", message),
            ("language", language),
            ("title", title),
            ("body", body),
            ("url", message.url or ""),
            ("data", MappingProxyType(dict(data))),
        ):
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        return getattr(self.message, name)

    def __setattr__(self, name, value):
        raise AttributeError("a localized message is read-only")

    def __repr__(self) -> str:
        return f"<{self.language} text of {self.message!r}>"


def localized(message, language: str = DEFAULT_LANGUAGE) -> Localized:
    """`message` as a reader of `language` gets it: in that language where `data["texts"]`
    has it, in Dutch otherwise. A Localized message is taken back to its message first."""
    if isinstance(message, Localized):
        message = message.message
    data = message.data if isinstance(message.data, Mapping) else {}
    shared = {key: value for key, value in data.items() if key not in TEXT_KEYS}
    translations = data.get("texts")
    entry = translations.get(language) if isinstance(translations, Mapping) else None
    if language != DEFAULT_LANGUAGE and isinstance(entry, Mapping) and entry.get("body"):
        title, body = str(entry.get("title") or message.title), str(entry["body"])
        span, call = entry.get("shorten_first"), entry.get("call")
    else:
        language, title, body = DEFAULT_LANGUAGE, message.title, message.body
        span, call = data.get("shorten_first"), data.get("call")
    shared.update(
        shorten_first=_span(span, body), call=call if isinstance(call, str) and call else ""
    )
    edited = data.get("sms")
    if isinstance(edited, Mapping) and isinstance(edited.get(language), str):
        shared["sms"] = edited[language]
    return Localized(message, language, title, body, shared)


def as_localized(message) -> Localized:
    """A Localized message as it is; a raw one in Dutch (its own text)."""
    return message if isinstance(message, Localized) else localized(message)


class LocalizedCache:
    """localized() once per message and language: a chunk's rows share a few messages."""

    def __init__(self):
        self._made: dict[tuple, Localized] = {}

    def __call__(self, message, language: str) -> Localized:
        key = (message.pk if message.pk is not None else id(message), language)
        if key not in self._made:
            self._made[key] = localized(message, language)
        return self._made[key]


def _span(span, body: str) -> tuple[int, int] | None:
    if (
        isinstance(span, list | tuple)
        and len(span) == 2
        and all(isinstance(i, int) for i in span)
        and 0 <= span[0] <= span[1] <= len(body)
    ):
        return (span[0], span[1])
    return None


# Shortening by importance -------------------------------------------------------------------


def shorten(
    body: str,
    *,
    fits: Callable[[str], bool],
    span: tuple[int, int] | None = None,
    call: str = "",
    ellipsis: str = "…",
    convert: Callable[[str], str] = str,
) -> str:
    """`body` (each piece through `convert`) made to fit, as `fits(text)` says:

    1. whole, if it fits;
    2. the free description (`span`) shortened at a word, with `ellipsis`;
    3. without it, what stands before the call line (`call`, as it stands in the body)
       shortened at a word, so the call line and what follows it stay;
    4. cut at its end (at a word); "" when not even that fits.

    `fits` must not grow more willing as its text grows longer (true of a length, an SMS's
    parts, a JSON's bytes).
    """
    whole = convert(body)
    if fits(whole):
        return whole
    if span is not None and 0 <= span[0] <= span[1] <= len(body):
        before, free, after = body[: span[0]], body[span[0] : span[1]], body[span[1] :]
        fitted = _shorten_middle(convert(before), convert(free), convert(after), fits, ellipsis)
        if fitted is not None:
            return fitted
        body = _join(before, after)  # without the description: still too long
        whole = convert(body)
        if fits(whole):
            return whole
    at = body.rfind(call) if call else -1
    if at > 0:
        fitted = _shorten_middle("", convert(body[:at]), convert(body[at:]), fits, ellipsis)
        if fitted is not None:
            return fitted
    return _shorten_middle("", convert(body), "", fits, ellipsis) or ""


def shorten_text(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """`text` in at most `limit` characters, cut at a word with `ellipsis`."""
    return shorten(text, fits=lambda t: len(t) <= limit, ellipsis=ellipsis)


def _join(before: str, after: str) -> str:
    """Two pieces of a body with what stood between them taken out: one line break (or
    space, as the gap held) where it was."""
    left, right = before.rstrip(), after.lstrip()
    if not left or not right:
        return left + right
    gap = before[len(left) :] + after[: len(after) - len(right)]
    return left + ("\n" if "\n" in gap else " ") + right


def _shorten_middle(
    before: str, text: str, after: str, fits: Callable[[str], bool], ellipsis: str
) -> str | None:
    """before + the longest start of `text` that fits, cut at a word, + ellipsis + what
    whitespace ended `text` + after; None when not one word of `text` fits."""
    core = text.rstrip()
    trail = ""
    if after and not after[:1].isspace():  # what parts text and after: its whitespace, or a space
        trail = text[len(core) :] or " "

    def make(n: int) -> str:
        return f"{before}{core[:n].rstrip()}{ellipsis}{trail}{after}"

    low, high = 0, len(core)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(make(middle)):
            low = middle
        else:
            high = middle - 1
    cut = core[:low]
    if low < len(core) and not core[low].isspace():
        space = max(cut.rfind(" "), cut.rfind("\n"))
        if space > 0:
            cut = cut[:space]
    cut = cut.rstrip().rstrip(",;:-").rstrip()
    if not cut:
        return None
    return f"{before}{cut}{ellipsis}{trail}{after}"
