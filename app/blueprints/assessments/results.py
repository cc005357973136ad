"""What the results page shows, worked out from a submitted assessment: plain data for the template."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from babel import Locale
from flask_babel import get_locale
from flask_babel import gettext as _

from app.blueprints.assessments.advice import next_step
from app.models.assessment import Assessment
from app.services import assessments, radar
from app.services.formatting import format_date
from app.services.frameworks import Framework

#: How many strengths and priorities the page names.
HIGHLIGHTS = 3


@functools.cache
def _decimal_sign(locale: str) -> str:
    return Locale.parse(locale).number_symbols["latn"]["decimal"]


def score_text(value: float | None) -> str:
    """A score with one decimal in the reader's language (45,5 in Vietnamese, 45.5 in English).

    Scores run from 0 to 100 and are already rounded to tenths, so only the decimal sign depends on
    the language; a results page shows dozens of figures, and Babel's full number formatting for each
    of them was a noticeable share of the page's time.
    """
    if value is None:
        return "—"
    return f"{value:.1f}".replace(".", _decimal_sign(str(get_locale() or "vi")))


def change_text(value: float | None) -> str:
    """A change with its sign (+5,0 / −3,5 / 0,0); a dash when there is nothing to compare."""
    if value is None:
        return "—"
    if value == 0:
        return score_text(0)
    sign = "+" if value > 0 else "\u2212"
    return sign + score_text(abs(value))


@dataclass(frozen=True)
class PillarRow:
    code: str
    name: str
    description: str
    score: float
    level: int
    level_name: str
    change: float | None
    peer: assessments.PeerStats | None
    advice: Any = None


@dataclass(frozen=True)
class HistoryRow:
    assessment: Assessment
    level_name: str
    current: bool


def level_name(framework: Framework, number: int | None, lang: str) -> str:
    return framework.level(number).name.pick(lang) if number is not None else "—"


def history_rows(framework_for, history: list[Assessment], current_id: int | None, lang: str) -> list[HistoryRow]:
    return [
        HistoryRow(item, level_name(framework_for(item), item.overall_level, lang), item.id == current_id)
        for item in history
    ]


def build(assessment: Assessment, history: list[Assessment], lang: str) -> dict[str, Any]:
    """Everything the results template needs.

    ``history`` is the organisation's submitted assessments, newest first; the one after this
    assessment in it is the previous one (so no extra query is needed to find it).
    """
    framework = assessments.framework_of(assessment)
    ids = [item.id for item in history]
    position = ids.index(assessment.id) if assessment.id in ids else None
    previous = history[position + 1] if position is not None and position + 1 < len(history) else None
    changes = assessments.deltas(assessment, previous)
    benchmark = assessments.peer_benchmark(assessment)
    scores = assessment.pillar_score_map
    rows = []
    for pillar in framework.pillars:
        score = scores.get(pillar.code, 0.0)
        level = framework.level_for(score)
        rows.append(PillarRow(
            code=pillar.code,
            name=pillar.name.pick(lang),
            description=pillar.description.pick(lang),
            score=score,
            level=level,
            level_name=level_name(framework, level, lang),
            change=changes.get(pillar.code),
            peer=benchmark.stats.get(pillar.code) if benchmark.available else None,
            advice=next_step(pillar.code, score),
        ))
    # Weakest first, ties in the framework's order (as scoring.ScoreResult.weakest orders them).
    ordered = sorted(rows, key=lambda row: row.score)
    priorities = [row for row in ordered if row.score < 100][:HIGHLIGHTS]
    strongest = sorted(rows, key=lambda row: -row.score)
    strengths = [row for row in strongest if row.score > 0 and row not in priorities][:HIGHLIGHTS]
    overall_level = framework.level(assessment.overall_level or 0)
    chart = radar.radar_svg(
        [radar.Axis(row.name, row.score, previous.pillar_score_map.get(row.code) if previous else None)
         for row in rows],
        title=_("Scores by pillar, from 0 to 100"),
        description=_radar_description(rows, previous),
        current_label=_("This assessment (%(date)s)", date=format_date(assessment.submitted_at)),
        previous_label=(_("Previous assessment (%(date)s)", date=format_date(previous.submitted_at))
                        if previous else None),
        id_prefix=f"radar-{assessment.id}",
        score_format=score_text,
    )
    return {
        "framework": framework,
        "track": framework.track(assessment.track),
        "rows": rows,
        "overall_change": changes.get("overall"),
        "overall_level": overall_level,
        "overall_level_name": overall_level.name.pick(lang),
        "overall_level_description": overall_level.description.pick(lang),
        "overall_peer": benchmark.stats.get("overall") if benchmark.available else None,
        "previous": previous,
        "benchmark": benchmark,
        "min_peers": assessments.MIN_PEERS,
        "strengths": strengths,
        "priorities": priorities,
        "chart": chart,
        "history": history_rows(assessments.framework_of, history, assessment.id, lang),
    }


def _radar_description(rows: list[PillarRow], previous: Assessment | None) -> str:
    figures = "; ".join(f"{row.name}: {score_text(row.score)}" for row in rows)
    if previous is None:
        return _("Scores: %(figures)s.", figures=figures)
    return _("Scores: %(figures)s. The dashed outline shows the previous assessment.", figures=figures)
