"""Server-rendered SVG charts: no JavaScript, no CDN, readable on a projector and in print."""

from datetime import date

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()

WIDTH, HEIGHT, PAD = 320, 120, 24


@register.simple_tag
def line_chart(points: list[tuple[date, float]], label: str):
    """A line over time with its first and last values labelled; the table beside it has all."""
    if len(points) < 2:
        return ""
    values = [value for _, value in points]
    low, high = min(values), max(values)
    span = (high - low) or 1
    step = (WIDTH - 2 * PAD) / (len(points) - 1)
    coordinates = [
        (PAD + i * step, HEIGHT - PAD - (value - low) / span * (HEIGHT - 2 * PAD))
        for i, value in enumerate(values)
    ]
    polyline = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="2.5"></circle>',
        ((f"{x:.1f}", f"{y:.1f}") for x, y in coordinates),
    )
    first_day, last_day = points[0][0], points[-1][0]
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{label}">'
        '<line x1="{pad}" y1="{base}" x2="{right}" y2="{base}" class="axis"></line>'
        '<polyline points="{polyline}" class="series"></polyline>{dots}'
        '<text x="{pad}" y="{top}" class="value">{first}</text>'
        '<text x="{right}" y="{top}" class="value" text-anchor="end">{last}</text>'
        '<text x="{pad}" y="{bottom}" class="day">{first_day}</text>'
        '<text x="{right}" y="{bottom}" class="day" text-anchor="end">{last_day}</text>'
        "</svg>",
        w=WIDTH,
        h=HEIGHT,
        label=label,
        pad=PAD,
        right=WIDTH - PAD,
        base=HEIGHT - PAD,
        top=14,
        bottom=HEIGHT - 6,
        polyline=polyline,
        dots=dots,
        first=_number(values[0]),
        last=_number(values[-1]),
        first_day=f"{first_day:%Y-%m}",
        last_day=f"{last_day:%Y-%m}",
    )


def _number(value: float) -> str:
    return f"{value:g}"
