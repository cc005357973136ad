"""Small bar charts as server-rendered SVG: plain and stacked horizontal bars.

Pure functions, no Flask, no JavaScript: texts come in already translated and are escaped here. Like the
radar chart, the SVG uses presentation attributes only (never ``style``), so the CSP allows it, and it
prints. Each chart names itself (``role="img"``, ``<title>``, ``<desc>``) and every segment carries a
``<title>`` with its figure; the page always shows the same figures in a table, which is what screen
readers and people who cannot tell the colours apart rely on.

Layout is mobile-first: each bar has its label on the line above it, so long Vietnamese labels never
squeeze the bars; the drawing scales to the width of its container.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
LEFT = 4
BAR_WIDTH = 560
LABEL_HEIGHT = 20
BAR_HEIGHT = 22
ROW_GAP = 10
FONT_SIZE = 15
SMALL_FONT = 13
LEGEND_ROW = 24
LEGEND_ITEM_WIDTH = 210
TEXT_COLOUR = "#1b1b1b"
TRACK_COLOUR = "#ffffff"
TRACK_STROKE = "#b0b0b0"
#: Room kept after the longest plain bar for its figure.
VALUE_ROOM = 170

#: Six levels, light to dark (ColorBrewer "Blues"): neighbours stay distinguishable, and in grey too;
#: segments are also separated by a white line.
LEVEL_COLOURS = ("#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
#: Colours of plain bars and of money (paid, committed, still available).
BAR_COLOUR = "#0b5394"
MONEY_COLOURS = ("#0b5394", "#6fa8dc", "#d9d9d9")


@dataclass(frozen=True)
class Segment:
    """One series of a stacked chart: its legend label and fill colour."""

    label: str
    colour: str


@dataclass(frozen=True)
class Bar:
    """One bar: its label (already translated), one value per segment, and a note drawn after the label."""

    label: str
    values: tuple[float, ...]
    note: str = ""


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text_colour(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (``#rrggbb``)."""
    red, green, blue = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return TEXT_COLOUR if (0.299 * red + 0.587 * green + 0.114 * blue) > 150 else "#ffffff"


def _percent(value: float) -> str:
    return f"{value:.0f}%"


def stacked_bars(
    bars: Sequence[Bar],
    segments: Sequence[Segment],
    *,
    title: str,
    description: str,
    normalise: bool = True,
    value_format: Callable[[float], str] | None = None,
    id_prefix: str = "chart",
) -> Markup:
    """Horizontal stacked bars as SVG markup, safe to place in a page.

    ``normalise`` draws every bar full width as shares of its total (figures shown as percentages);
    otherwise bars are scaled to the largest total and ``value_format`` writes the figures.
    """
    fmt = value_format or (lambda value: f"{value:,.0f}".replace(",", "."))
    largest = max((sum(bar.values) for bar in bars), default=0) or 1
    legend_rows = (len(segments) + 2) // 3 if len(segments) > 1 else 0
    top = legend_rows * LEGEND_ROW + (8 if legend_rows else 0)
    row_height = LABEL_HEIGHT + BAR_HEIGHT + ROW_GAP
    height = top + max(len(bars), 1) * row_height
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {_num(height)}" '
        f'role="img" aria-labelledby="{escape(title_id)} {escape(desc_id)}" '
        f'font-family="Noto Sans, DejaVu Sans, sans-serif">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>',
    ]
    if legend_rows:
        parts.append('<g class="chart-legend">')
        for index, segment in enumerate(segments):
            x = LEFT + (index % 3) * LEGEND_ITEM_WIDTH
            y = (index // 3) * LEGEND_ROW
            parts.append(f'<rect x="{x}" y="{y + 4}" width="16" height="16" fill="{escape(segment.colour)}" '
                         f'stroke="#555" stroke-width="0.5"/>')
            parts.append(f'<text x="{x + 22}" y="{y + 17}" font-size="{SMALL_FONT}" fill="{TEXT_COLOUR}">'
                         f'{escape(segment.label)}</text>')
        parts.append("</g>")
    for row, bar in enumerate(bars):
        y = top + row * row_height
        label = escape(bar.label)
        note = f' <tspan fill="#555">{escape(bar.note)}</tspan>' if bar.note else ""
        parts.append(f'<text x="{LEFT}" y="{y + LABEL_HEIGHT - 5}" font-size="{FONT_SIZE}" '
                     f'fill="{TEXT_COLOUR}">{label}{note}</text>')
        bar_y = y + LABEL_HEIGHT
        parts.append(f'<rect class="chart-track" x="{LEFT}" y="{bar_y}" width="{BAR_WIDTH}" '
                     f'height="{BAR_HEIGHT}" fill="{TRACK_COLOUR}" stroke="{TRACK_STROKE}" stroke-width="1"/>')
        total = sum(bar.values)
        scale = (BAR_WIDTH / total if total else 0) if normalise else (BAR_WIDTH - VALUE_ROOM) / largest
        x = float(LEFT)
        for value, segment in zip(bar.values, segments, strict=False):
            if value <= 0:
                continue
            width = value * scale
            shown = _percent(100 * value / total) if normalise else fmt(value)
            tip = f"{segment.label}: {fmt(value)}" + (f" ({shown})" if normalise else "")
            parts.append(f'<rect x="{_num(x)}" y="{bar_y}" width="{_num(width)}" height="{BAR_HEIGHT}" '
                         f'fill="{escape(segment.colour)}" stroke="#ffffff" stroke-width="1">'
                         f'<title>{escape(tip)}</title></rect>')
            if (normalise or len(segments) > 1) and width >= 9 * len(shown) + 6:
                parts.append(f'<text x="{_num(x + width / 2)}" y="{bar_y + BAR_HEIGHT - 6}" text-anchor="middle" '
                             f'font-size="{SMALL_FONT}" fill="{_text_colour(segment.colour)}">'
                             f'{escape(shown)}</text>')
            x += width
        if not normalise and len(segments) == 1:
            parts.append(f'<text x="{_num(x + 6)}" y="{bar_y + BAR_HEIGHT - 6}" font-size="{SMALL_FONT}" '
                         f'fill="{TEXT_COLOUR}">{escape(fmt(total))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through escape())  # nosec B704


def bars(items: Sequence[tuple[str, float]], *, title: str, description: str,
         value_format: Callable[[float], str] | None = None, colour: str = BAR_COLOUR,
         id_prefix: str = "chart") -> Markup:
    """Plain horizontal bars (one value each), scaled to the largest, the figure after each bar."""
    return stacked_bars([Bar(label, (float(value),)) for label, value in items], [Segment(title, colour)],
                        title=title, description=description, normalise=False, value_format=value_format,
                        id_prefix=id_prefix)
