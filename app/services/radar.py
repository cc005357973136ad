"""A radar (spider) chart as server-rendered SVG: one axis per pillar, scores 0-100.

Pure function, no Flask: texts come in already translated and are escaped here. The SVG uses only
presentation attributes (``fill``, ``stroke``...), never ``style``, so the site's CSP allows it, and it
prints and works without JavaScript. It is an image for sighted readers; the page carries a table with
the same figures for screen readers, and the SVG names itself with ``<title>``/``<desc>``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Rings drawn behind the polygons, in score points.
RINGS = (20, 40, 60, 80, 100)
MAX_SCORE = 100
#: Geometry in SVG user units. The page scales the drawing to its width, so the font is large enough
#: to stay readable when the chart shrinks to fit a 360 px phone.
RADIUS = 110
LABEL_GAP = 14
LINE_HEIGHT = 21
FONT_SIZE = 19
LABEL_LINE_CHARS = 13
WIDTH = 540
TOP = 60
LEGEND_HEIGHT = 64

CURRENT_COLOUR = "#0b5394"
PREVIOUS_COLOUR = "#7a4d00"
GRID_COLOUR = "#b0b0b0"
TEXT_COLOUR = "#1b1b1b"


@dataclass(frozen=True)
class Axis:
    """One spoke: its label (already translated) and the score on it for this and the previous time."""

    label: str
    score: float
    previous: float | None = None


def _clamp(value: float) -> float:
    return max(0.0, min(float(value), float(MAX_SCORE)))


def _num(value: float) -> str:
    """Coordinates with two decimals, without a trailing ``.00``; never ``-0``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def geometry(count: int) -> tuple[float, float, float]:
    """(centre x, centre y, outer radius) of a chart with ``count`` axes."""
    return WIDTH / 2, TOP + RADIUS + LINE_HEIGHT * 2, float(RADIUS)


def point(index: int, count: int, score: float) -> tuple[float, float]:
    """Where ``score`` lies on axis ``index``: the first axis points up, the others follow clockwise."""
    cx, cy, radius = geometry(count)
    angle = -math.pi / 2 + 2 * math.pi * index / count
    r = radius * _clamp(score) / MAX_SCORE
    return cx + r * math.cos(angle), cy + r * math.sin(angle)


def _points(count: int, scores: Sequence[float]) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in (point(i, count, s) for i, s in enumerate(scores)))


def _wrap(text: str, width: int = LABEL_LINE_CHARS) -> list[str]:
    """Split a label into lines of about ``width`` characters at spaces (long words stay whole)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines or [""]


def _label(index: int, count: int, axis: Axis, score_text: str) -> str:
    """The axis label outside the outer ring, anchored away from the centre, with its score below."""
    cx, cy, radius = geometry(count)
    angle = -math.pi / 2 + 2 * math.pi * index / count
    x = cx + (radius + LABEL_GAP) * math.cos(angle)
    y = cy + (radius + LABEL_GAP) * math.sin(angle)
    dx = math.cos(angle)
    anchor = "middle" if abs(dx) < 0.2 else ("start" if dx > 0 else "end")
    lines = [*_wrap(axis.label), score_text]
    # Labels above the centre grow upwards, labels below grow downwards, side labels are centred.
    dy = math.sin(angle)
    if dy < -0.2:
        first_y = y - LINE_HEIGHT * (len(lines) - 1)
    elif dy > 0.2:
        first_y = y + FONT_SIZE
    else:
        first_y = y - LINE_HEIGHT * (len(lines) - 1) / 2 + FONT_SIZE / 3
    spans = []
    for n, line in enumerate(lines):
        weight = ' font-weight="700"' if n == len(lines) - 1 else ""
        spans.append(f'<tspan x="{_num(x)}" y="{_num(first_y + n * LINE_HEIGHT)}"{weight}>{escape(line)}</tspan>')
    return f'<text class="radar-label" text-anchor="{anchor}" font-size="{FONT_SIZE}" fill="{TEXT_COLOUR}">' \
           f'{"".join(spans)}</text>'


def radar_svg(
    axes: Sequence[Axis],
    *,
    title: str,
    description: str,
    current_label: str,
    previous_label: str | None = None,
    id_prefix: str = "radar",
    score_format=None,
) -> Markup:
    """The chart as SVG markup, safe to place in a page.

    ``axes`` gives each pillar's label and scores; a dashed outline of the previous scores is drawn only
    when every axis has a previous score and ``previous_label`` names it. ``score_format`` turns a score
    into the text shown under each label (default: one decimal).
    """
    count = len(axes)
    if count < 3:
        raise ValueError("a radar chart needs at least three axes")
    fmt = score_format or (lambda value: f"{value:.1f}")
    cx, cy, radius = geometry(count)
    show_previous = previous_label is not None and all(a.previous is not None for a in axes)
    height = cy + radius + LABEL_GAP + LINE_HEIGHT * 4 + LEGEND_HEIGHT
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="radar" viewBox="0 0 {WIDTH} {_num(height)}" '
        f'role="img" aria-labelledby="{escape(title_id)} {escape(desc_id)}" '
        f'font-family="Noto Sans, DejaVu Sans, sans-serif">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>',
        '<g class="radar-grid" fill="none" stroke="' + GRID_COLOUR + '" stroke-width="1">',
    ]
    for ring in RINGS:
        parts.append(f'<polygon class="radar-ring" data-value="{ring}" points="{_points(count, [ring] * count)}"/>')
    for i in range(count):
        x, y = point(i, count, MAX_SCORE)
        parts.append(f'<line class="radar-axis" x1="{_num(cx)}" y1="{_num(cy)}" x2="{_num(x)}" y2="{_num(y)}"/>')
    parts.append("</g>")
    ring_labels = [
        f'<text x="{_num(cx + 3)}" y="{_num(point(0, count, ring)[1] - 2)}" font-size="14" fill="#555">{ring}</text>'
        for ring in RINGS
    ]
    parts.append('<g class="radar-ring-labels">' + "".join(ring_labels) + "</g>")
    if show_previous:
        parts.append(
            f'<polygon class="radar-previous" points="{_points(count, [a.previous for a in axes])}" '
            f'fill="none" stroke="{PREVIOUS_COLOUR}" stroke-width="2.5" stroke-dasharray="7 5"/>'
        )
    parts.append(
        f'<polygon class="radar-current" points="{_points(count, [a.score for a in axes])}" '
        f'fill="{CURRENT_COLOUR}" fill-opacity="0.22" stroke="{CURRENT_COLOUR}" stroke-width="3" '
        'stroke-linejoin="round"/>'
    )
    for i, axis in enumerate(axes):
        x, y = point(i, count, axis.score)
        parts.append(f'<circle class="radar-dot" cx="{_num(x)}" cy="{_num(y)}" r="4" fill="{CURRENT_COLOUR}"/>')
    parts.extend(_label(i, count, axis, fmt(_clamp(axis.score))) for i, axis in enumerate(axes))
    legend_y = height - LEGEND_HEIGHT + 18
    legend = [
        f'<line x1="20" y1="{_num(legend_y)}" x2="56" y2="{_num(legend_y)}" stroke="{CURRENT_COLOUR}" '
        'stroke-width="3"/>',
        f'<text x="64" y="{_num(legend_y + 5)}" font-size="{FONT_SIZE}" fill="{TEXT_COLOUR}">'
        f"{escape(current_label)}</text>",
    ]
    if show_previous:
        y2 = legend_y + 28
        legend += [
            f'<line x1="20" y1="{_num(y2)}" x2="56" y2="{_num(y2)}" stroke="{PREVIOUS_COLOUR}" stroke-width="2.5" '
            'stroke-dasharray="7 5"/>',
            f'<text x="64" y="{_num(y2 + 5)}" font-size="{FONT_SIZE}" fill="{TEXT_COLOUR}">'
            f"{escape(previous_label)}</text>",
        ]
    parts.append('<g class="radar-legend">' + "".join(legend) + "</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through escape())  # nosec B704
