"""The radar chart is well-formed SVG whose points sit where the scores say, with escaped texts."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from app.services import radar
from app.services.radar import Axis, radar_svg

NS = "{http://www.w3.org/2000/svg}"
LABELS = ["Customer", "Strategy", "Infrastructure", "Operations", "Culture", "Data"]


def parse(markup) -> ET.Element:
    """Parse the chart this code generated (trusted input, no external entities)."""
    return ET.fromstring(str(markup))  # noqa: S314


def _chart(scores, previous=None, **kwargs):
    axes = [Axis(label, score, previous[i] if previous else None) for i, (label, score) in
            enumerate(zip(LABELS, scores, strict=True))]
    options = {"title": "Scores", "description": "Six pillars", "current_label": "This time",
               "previous_label": "Last time" if previous else None}
    options.update(kwargs)
    return parse(radar_svg(axes, **options))


def _points(polygon) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in polygon.get("points").split()]


def _distances(points, centre) -> list[float]:
    return [math.dist(p, centre) for p in points]


def test_svg_is_well_formed_and_named_for_assistive_technology():
    root = _chart([50] * 6)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title.text == "Scores" and desc.text == "Six pillars"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    # CSP forbids inline styles: only presentation attributes are used.
    assert all("style" not in element.attrib for element in root.iter())


def test_six_axes_and_five_rings_from_20_to_100():
    root = _chart([10, 20, 30, 40, 50, 60])
    centre = radar.geometry(6)[:2]
    axes = root.findall(f".//{NS}line[@class='radar-axis']")
    assert len(axes) == 6
    for line in axes:
        assert (float(line.get("x1")), float(line.get("y1"))) == pytest.approx(centre)
        end = (float(line.get("x2")), float(line.get("y2")))
        assert math.dist(end, centre) == pytest.approx(radar.RADIUS, abs=0.01)
    rings = root.findall(f".//{NS}polygon[@class='radar-ring']")
    assert [int(r.get("data-value")) for r in rings] == [20, 40, 60, 80, 100]
    for ring in rings:
        expected = radar.RADIUS * int(ring.get("data-value")) / 100
        assert _distances(_points(ring), centre) == pytest.approx([expected] * 6, abs=0.01)
    assert [t.text for t in root.findall(f".//{NS}g[@class='radar-ring-labels']/{NS}text")] == \
        ["20", "40", "60", "80", "100"]


def test_points_lie_at_the_radius_of_their_score():
    scores = [100, 0, 50, 25, 75, 100]
    root = _chart(scores)
    centre = radar.geometry(6)[:2]
    current = root.find(f".//{NS}polygon[@class='radar-current']")
    points = _points(current)
    assert _distances(points, centre) == pytest.approx([radar.RADIUS * s / 100 for s in scores], abs=0.01)
    assert points[1] == pytest.approx(centre, abs=0.01)  # 0 is the centre
    # The first axis points straight up, the next ones go clockwise.
    assert points[0][0] == pytest.approx(centre[0]) and points[0][1] < centre[1]
    assert points[2][0] > centre[0]


def test_scores_outside_0_to_100_are_kept_inside_the_chart():
    root = _chart([140, -5, 50, 50, 50, 50])
    centre = radar.geometry(6)[:2]
    distances = _distances(_points(root.find(f".//{NS}polygon[@class='radar-current']")), centre)
    assert distances[0] == pytest.approx(radar.RADIUS, abs=0.01)
    assert distances[1] == pytest.approx(0, abs=0.01)


def test_previous_outline_only_when_given():
    assert _chart([50] * 6).find(f".//{NS}polygon[@class='radar-previous']") is None
    root = _chart([50] * 6, previous=[20, 40, 60, 80, 100, 0])
    previous = root.find(f".//{NS}polygon[@class='radar-previous']")
    assert previous is not None
    assert previous.get("stroke-dasharray")
    centre = radar.geometry(6)[:2]
    assert _distances(_points(previous), centre) == pytest.approx(
        [radar.RADIUS * s / 100 for s in (20, 40, 60, 80, 100, 0)], abs=0.01)
    legend = [t.text for t in root.findall(f".//{NS}g[@class='radar-legend']/{NS}text")]
    assert legend == ["This time", "Last time"]


def test_texts_are_escaped():
    hostile = '<script>alert("x")</script> & "quotes"'
    axes = [Axis(hostile if i == 0 else label, 50) for i, label in enumerate(LABELS)]
    markup = str(radar_svg(axes, title=hostile, description=hostile, current_label=hostile, id_prefix='a"b'))
    assert "<script>" not in markup
    root = parse(markup)
    assert root.find(f"{NS}title").text == hostile
    label = "".join(root.find(f".//{NS}text[@class='radar-label']").itertext())
    assert "<script>" in label  # shown as text, not markup


def test_long_labels_wrap_and_carry_the_score():
    axes = [Axis("Dữ liệu và tài sản thông tin của doanh nghiệp", 42.5)] + [Axis(x, 10) for x in LABELS[1:]]
    root = parse(radar_svg(axes, title="t", description="d", current_label="c",
                           score_format=lambda v: f"{v:.1f}".replace(".", ",")))
    spans = [s.text for s in root.find(f".//{NS}text[@class='radar-label']")]
    assert len(spans) >= 3 and all(len(s) <= 20 for s in spans[:-1])
    assert spans[-1] == "42,5"


def test_needs_at_least_three_axes():
    with pytest.raises(ValueError):
        radar_svg([Axis("a", 1), Axis("b", 2)], title="t", description="d", current_label="c")
