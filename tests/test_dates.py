"""One way to write a moment and a day, per language, everywhere: the format files
(burgernet/formats) say it, and the templates name those formats instead of their own."""

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import date_format

MOMENT = datetime(2026, 12, 4, 15, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))
# Formats a template may still write itself: machine-readable ("c"), a tip's time of
# day ("H:i:s"), and the incident's day with its weekday in a sentence ("l j F Y").
OWN_FORMATS = {"DATETIME_FORMAT", "DATE_FORMAT", "c", "H:i:s", "l j F Y"}


def test_a_moment_and_a_day_read_the_same_in_each_language():
    with translation.override("nl"):
        assert date_format(MOMENT, "DATETIME_FORMAT") == "4 dec 2026 15:30"
        assert date_format(date(2026, 3, 4), "DATE_FORMAT") == "4 mrt 2026"
        # What a template and the admin show for a moment without a format of their own.
        assert Template("{{ when }}").render(Context({"when": MOMENT})) == "4 dec 2026 15:30"
    with translation.override("en"):
        assert date_format(MOMENT, "DATETIME_FORMAT") == "4 Dec. 2026 15:30"
        assert date_format(date(2026, 3, 4), "DATE_FORMAT") == "4 March 2026"


def test_templates_name_the_shared_formats():
    templates = Path(settings.BASE_DIR) / "templates"
    found = {}
    for path in templates.rglob("*"):
        if path.suffix in {".html", ".txt"}:
            for fmt in re.findall(r"""\|date:["']([^"']*)["']""", path.read_text()):
                found.setdefault(fmt, []).append(str(path.relative_to(templates)))
    own = {fmt: paths for fmt, paths in found.items() if fmt not in OWN_FORMATS}
    assert own == {}
    assert "DATETIME_FORMAT" in found
