"""Why an item was recommended: one to three sentences drawn from what actually drove its score.

Each possible reason carries the share of the score it accounts for (the content model's weighted parts,
the outcome model's part when businesses like this one did well with the item); the largest ones are
kept. Sentences are translated message templates filled with catalogue and framework data in the same
language, and memoised per snapshot, since the same few sentences recur for thousands of businesses.
"""

from __future__ import annotations

from app.recommender import vocabulary
from app.recommender.features import SECTORS
from app.recommender.snapshot import Snapshot
from app.services import sectors
from app.services.eligibility import N_, translate

MAX_REASONS = 3
#: A pillar scored at or above this is not a weakness worth naming.
WEAK_PILLAR_BELOW = 70.0
#: Needs-text cosine below this is noise (common letter groups), not a match.
NEEDS_MATCH_MIN = 0.08
#: A label (category, pillar, kind) must match the needs text at least this well to be named.
LABEL_MATCH_MIN = 0.12
#: Successes among similar businesses needed before saying so.
PEER_MIN = 2


def _sentence(snapshot: Snapshot, key: tuple) -> str:
    """The sentence a reason key stands for (keys end with the locale); memoised per snapshot."""
    memo = snapshot.cache.setdefault("reasons", {})
    found = memo.get(key)
    if found is not None:
        return found
    kind, locale = key[0], key[-1]
    if kind == "pillar":
        _, item, pillar, score, _ = key
        text = pillar_reason(snapshot, item, pillar, score, locale)
    elif kind == "topic":
        text = translate(locale, N_("You wrote that you need help with %(topic)s."),
                         topic=_label_text(key[1], locale, snapshot))
    elif kind == "needs":
        text = translate(locale, N_("It matches what you wrote about your needs."))
    elif kind == "peers":
        text = translate(locale, N_("%(count)s businesses like yours had good results with it."), count=key[1])
    elif kind == "sector":
        text = translate(locale, N_("It is designed for your sector: %(sector)s."),
                         sector=sectors.name(key[1], locale) or key[1])
    elif kind == "price":
        text = translate(locale, N_("Low cost, suited to a business of your size."))
    elif kind == "programme":
        text = translate(locale, N_("You meet every condition of this programme."))
    else:
        text = translate(locale, N_("It serves businesses like yours in your area."))
    if len(memo) > 200_000:
        memo.clear()
    memo[key] = text
    return text


def pillar_reason(snapshot: Snapshot, item: int, pillar: str, score: float, locale: str) -> str:
    framework = snapshot.framework
    level = framework.level_for(score)
    name = framework.pillar(pillar).name.pick(locale)
    level_name = framework.level(level).name.pick(locale)
    if item < snapshot.n_programmes:
        return translate(locale, N_("Your “%(pillar)s” pillar is at level %(level)s (%(level_name)s); this programme "
                                 "supports %(help)s."), pillar=name, level=level, level_name=level_name,
                         help=vocabulary.label(vocabulary.PILLARS[pillar], locale)
                         if pillar in vocabulary.PILLARS else name)
    partner = snapshot.partners[item - snapshot.n_programmes]
    related = [code for code in partner.categories
               if vocabulary.CATEGORIES.get(code, {}).get("pillar") == pillar] or list(partner.categories)
    offers = [vocabulary.label(vocabulary.CATEGORIES[code], locale) for code in related[:2]
              if code in vocabulary.CATEGORIES]
    offer = ", ".join(offers) if offers else (vocabulary.label(vocabulary.PILLARS[pillar], locale)
                                              if pillar in vocabulary.PILLARS else name)
    return translate(locale, N_("Your “%(pillar)s” pillar is at level %(level)s (%(level_name)s); this partner "
                             "offers %(offer)s."), pillar=name, level=level, level_name=level_name, offer=offer)


def _label_text(key: tuple[str, str], locale: str, snapshot: Snapshot) -> str:
    group, code = key
    if group == "category":
        return vocabulary.label(vocabulary.CATEGORIES[code], locale)
    if group == "pillar":
        return vocabulary.label(vocabulary.PILLARS[code], locale)
    return vocabulary.label(vocabulary.PROGRAMME_KINDS[code], locale)


def _item_labels(snapshot: Snapshot, item: int) -> list[tuple[str, str]]:
    if item < snapshot.n_programmes:
        row = snapshot.programmes[item]
        return [*(("pillar", p) for p in row.pillars), ("kind", row.kind)]
    row = snapshot.partners[item - snapshot.n_programmes]
    return [*(("category", c) for c in row.categories), *(("pillar", p) for p in row.pillars)]


def _level_floor(snapshot: Snapshot, score: float) -> float:
    floors = snapshot.cache.setdefault("level-floors", {})
    found = floors.get(score)
    if found is None:
        found = floors[score] = float(snapshot.framework.level(snapshot.framework.level_for(score)).lower)
    return found


def reasons_for(snapshot: Snapshot, item: int, *, locale: str, pillar_scores: dict[str, float], sector: str,
                content_weights: dict[str, float], pillar_fit: float, needs_fit: float, sector_match: bool,
                small_business: bool, label_fit: dict[tuple[str, str], float],
                peer_successes: int, model_share: float) -> tuple[str, ...]:
    """The 1-3 sentences for item ``item`` of the snapshot, strongest first.

    Each candidate is (its weight in the score, a tie-break priority, the key of its sentence).
    """
    is_programme = item < snapshot.n_programmes
    row = snapshot.programmes[item] if is_programme else snapshot.partners[item - snapshot.n_programmes]
    drivers: list[tuple[float, int, tuple]] = []
    order = snapshot.pillars
    covered = [p for p in row.pillars if p in pillar_scores and p in order]
    if covered and pillar_fit > 0:
        weakest = min(covered, key=lambda p: (pillar_scores[p], order.index(p)))
        score = float(pillar_scores[weakest])
        if score < WEAK_PILLAR_BELOW:
            # The sentence names the level, not the score: key on the level's lower bound so it is shared.
            drivers.append((content_weights["pillar"] * pillar_fit, 0,
                            ("pillar", item, weakest, _level_floor(snapshot, score), locale)))
    if needs_fit >= NEEDS_MATCH_MIN:
        best_fit, best_key = 0.0, None
        for key in _item_labels(snapshot, item):
            fit = label_fit.get(key, 0.0)
            if fit > best_fit:
                best_fit, best_key = fit, key
        weight = content_weights["needs"] * needs_fit
        if best_key is not None and best_fit >= LABEL_MATCH_MIN:
            drivers.append((weight, 1, ("topic", best_key, locale)))
        else:
            drivers.append((weight, 1, ("needs", locale)))
    if peer_successes >= PEER_MIN and model_share > 0:
        drivers.append((model_share, 2, ("peers", int(peer_successes), locale)))
    if sector_match and sector in SECTORS:
        drivers.append((content_weights["profile"] * 0.5, 3, ("sector", sector, locale)))
    if not is_programme and small_business and row.price_band == "low":
        drivers.append((content_weights["profile"] * 0.5, 4, ("price", locale)))
    drivers.sort(key=lambda d: (-d[0], d[1]))
    reasons = [_sentence(snapshot, key) for _, _, key in drivers[:MAX_REASONS]]
    if not reasons:
        reasons.append(_sentence(snapshot, ("programme" if is_programme else "partner", locale)))
    return tuple(reasons)


def label_fit(snapshot: Snapshot, needs_vector) -> dict[tuple[str, str], float]:
    """Cosine of the needs text with each category, pillar and programme-kind label."""
    if needs_vector is None:
        return {}
    sims = snapshot.text.label_similarity(needs_vector)
    return dict(zip(snapshot.text.label_keys, sims.tolist(), strict=True))
