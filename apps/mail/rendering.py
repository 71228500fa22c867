"""A mailing's body, written as plain text with light formatting, rendered to text and HTML.

The formatting an author may use:
- a blank line starts a new paragraph; a single line break stays a line break;
- *words between asterisks* become bold;
- lines starting with "- " form a bulleted list;
- bare https:// addresses become links.

Nothing the author writes passes as HTML: every piece of text is escaped before the few
tags above are added around it, so `render_html` is safe to put in an e-mail or a page.
"""

import re

from django.utils.html import escape
from django.utils.safestring import mark_safe

_BOLD = re.compile(r"\*(?=\S)([^*\n]*?\S)\*")
# An https URL up to whitespace or "<" ; trailing punctuation belongs to the sentence.
_URL = re.compile(r"https://[^\s<>\"']+")
_URL_TRAILING = ".,;:!?)]}*'\""
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")


def _normalise(body: str) -> str:
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def _blocks(body: str) -> list[list[str]]:
    """The paragraphs of the body, each a list of its lines."""
    text = _normalise(body)
    if not text.strip():
        return []
    return [block.split("\n") for block in _BLANK_LINES.split(text) if block.strip()]


def _is_item(line: str) -> bool:
    return line.lstrip().startswith("- ")


def _item_text(line: str) -> str:
    return line.lstrip()[2:].strip()


def render_text(body: str) -> str:
    """The plain-text part of the e-mail: the body tidied, paragraphs one blank line apart.

    The asterisks around bold words stay: in plain text they read as emphasis.
    """
    paragraphs = []
    for lines in _blocks(body):
        out = []
        for line in lines:
            out.append(f"- {_item_text(line)}" if _is_item(line) else line.strip())
        paragraphs.append("\n".join(out))
    return "\n\n".join(paragraphs) + ("\n" if paragraphs else "")


def _inline(text: str) -> str:
    """Escape one line of text, then add links and bold."""
    parts = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        trailing = ""
        while url and url[-1] in _URL_TRAILING:
            trailing = url[-1] + trailing
            url = url[:-1]
        if len(url) <= len("https://"):
            continue
        parts.append(_bold(escape(text[position : match.start()])))
        href = escape(url)
        parts.append(f'<a href="{href}">{href}</a>')
        position = match.start() + len(url)
    parts.append(_bold(escape(text[position:])))
    return "".join(parts)


def _bold(escaped: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", escaped)


def _runs(lines: list[str]) -> list[tuple[bool, list[str]]]:
    """A block's lines grouped into runs of list items and runs of other lines."""
    runs: list[tuple[bool, list[str]]] = []
    for line in lines:
        is_item = _is_item(line)
        if runs and runs[-1][0] == is_item:
            runs[-1][1].append(line)
        else:
            runs.append((is_item, [line]))
    return runs


def render_html(body: str) -> str:
    """The HTML of the body: paragraphs, lists, bold and links; everything else escaped.

    Returned marked safe, so a template may print it as it is."""
    html = []
    for lines in _blocks(body):
        for is_list, run in _runs(lines):
            if is_list:
                items = "\n".join(f"<li>{_inline(_item_text(line))}</li>" for line in run)
                html.append(f"<ul>\n{items}\n</ul>")
            else:
                html.append("<p>" + "<br>\n".join(_inline(line.strip()) for line in run) + "</p>")
    # Safe: every piece of author text went through escape() above.
    return mark_safe("\n".join(html))  # noqa: S308
