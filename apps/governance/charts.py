"""Charts of the annual report as server-side SVG: no script, printable, and accessible as
an image with a title and a description (role="img"); the table beside each chart is its
accessible form. Colours come from classes in static/governance/report.css (the Content-
Security-Policy allows no inline styles)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from . import report_map
from .report import MAP_CLASSES, Participation, display


def nice_ceiling(value: float) -> int:
    """A round number at or above `value` for the top of an axis (1, 2, 5 × 10^n)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    short: Sequence[str] | None = None,
    series: Sequence[tuple[str, Sequence[int]]],
    width: int = 640,
    height: int = 260,
) -> SafeString:
    """Grouped vertical bars: one group per category, one bar per series (at most 3);
    `short` names the categories under the axis (the full names are in each bar's title)."""
    short = short or categories
    left, right, top, bottom = 48, 8, 28, 32
    plot_w, plot_h = width - left - right, height - top - bottom
    step = nice_ceiling(max((v for _label, values in series for v in values), default=0) / 4)
    top_value = step * 4
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    parts = [
        format_html(
            '<svg id="{}" class="chart" viewBox="0 0 {} {}" role="img" '
            'aria-labelledby="{}-title {}-desc" xmlns="http://www.w3.org/2000/svg">'
            '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>',
            chart_id,
            width,
            height,
            chart_id,
            chart_id,
            chart_id,
            title,
            chart_id,
            desc,
        )
    ]
    for tick in range(5):
        value = step * tick
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>',
                left,
                width - right,
                f"{y:.1f}",
                f"{y:.1f}",
                left - 4,
                f"{y + 4:.1f}",
                value,
            )
        )
    for i, category in enumerate(categories):
        x0 = left + group_w * i + group_w * 0.1
        for s, (label, values) in enumerate(series):
            value = values[i]
            h = plot_h * value / top_value
            parts.append(
                format_html(
                    '<rect class="bar series-{}" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{}, {}: {}</title></rect>",
                    s + 1,
                    f"{x0 + bar_w * s:.1f}",
                    f"{top + plot_h - h:.1f}",
                    f"{bar_w:.1f}",
                    f"{h:.1f}",
                    category,
                    label,
                    value,
                )
            )
        parts.append(
            format_html(
                '<text class="category" x="{}" y="{}" text-anchor="middle">{}</text>',
                f"{left + group_w * i + group_w / 2:.1f}",
                height - bottom + 16,
                short[i],
            )
        )
    x = left
    for s, (label, _values) in enumerate(series):
        parts.append(
            format_html(
                '<rect class="bar series-{}" x="{}" y="8" width="12" height="12"/>'
                '<text class="legend" x="{}" y="18">{}</text>',
                s + 1,
                x,
                x + 16,
                label,
            )
        )
        x += 16 + 8 * len(str(label)) + 16
    parts.append(mark_safe("</svg>"))  # noqa: S308 - a constant
    return mark_safe("".join(parts))  # noqa: S308 - every part escaped above


def participation_map(
    found: Sequence[Participation], bounds, *, title: str, desc: str
) -> SafeString:
    """The scope's municipalities coloured by participation in MAP_CLASSES classes
    ("band-1".."band-5"; "band-unknown" without inhabitants), a title per municipality, the
    legend beside it. Municipalities outside the scope are left out; the map is fitted to
    the scope."""
    shapes = report_map.shapes()
    codes = [p.municipality.code for p in found if p.municipality.code in shapes]
    box = report_map.view_box(codes)
    if not box:
        return mark_safe("")
    parts = [
        format_html(
            '<svg id="participation-map" class="map" viewBox="{}" role="img" '
            'aria-labelledby="map-title map-desc" xmlns="http://www.w3.org/2000/svg">'
            '<title id="map-title">{}</title><desc id="map-desc">{}</desc>',
            box,
            title,
            desc,
        )
    ]
    for p in sorted(found, key=lambda p: p.municipality.code):
        shape = shapes.get(p.municipality.code)
        if shape is None:
            continue
        band = f"band-{p.band}" if p.band else "band-unknown"
        rate = display(p.rate) if p.rate is not None else _("onbekend")
        parts.append(
            format_html(
                '<path class="municipality {}" data-code="{}" d="{}"><title>{}: {}</title></path>',
                band,
                shape.code,
                shape.d,
                p.municipality.name,
                rate,
            )
        )
    parts.append(mark_safe("</svg>"))  # noqa: S308 - a constant
    return mark_safe("".join(parts))  # noqa: S308 - every part escaped above


def legend(bounds) -> list[tuple[str, str]]:
    """(css class, label) per class of the map, and the unknown class."""
    found = [
        (f"band-{i + 1}", f"{display(low)} – {display(high)}")
        for i, (low, high) in enumerate(bounds[:MAP_CLASSES])
    ]
    found.append(("band-unknown", _("onbekend (geen inwonertal)")))
    return found
