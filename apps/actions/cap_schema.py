"""The CAP 1.2 schema (OASIS, apps/actions/data/cap): every CAP message Burgernet publishes,
and every one it reads from a partner, is checked against it here."""

from functools import cache
from pathlib import Path

from lxml import etree

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "cap" / "CAP-v1.2.xsd"


class InvalidCap(ValueError):
    """Not a CAP 1.2 message: not XML, or not valid against the schema."""


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE), parser=safe_parser()))


def safe_parser() -> etree.XMLParser:
    """A parser for XML from elsewhere: no entities expanded, no DTD or network fetched, no
    huge trees (an XML bomb or an external entity is refused, not followed)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse(data: bytes) -> etree._Element:
    """The root of a CAP message, checked against the schema; InvalidCap says why not."""
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidCap(f"not XML: {exc}") from None
    try:
        validate(root)
    except etree.Error:
        # libxml2's validator gives up on some documents (an entity the safe parser left
        # unexpanded): refused like any other invalid message.
        raise InvalidCap("not valid CAP 1.2: refused by the validator") from None
    return root


def validate(root) -> None:
    """Raise InvalidCap with the schema's first complaint unless `root` is a valid alert."""
    checker = schema()
    if not checker.validate(root):
        error = checker.error_log.last_error
        raise InvalidCap(f"not valid CAP 1.2: line {error.line}: {error.message}")
