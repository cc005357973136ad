"""Properties over random catalogues, businesses and dates: nothing ineligible is ever recommended.

The recommender decides eligibility for the whole catalogue at once with bit masks; these tests hold it to
``eligibility.check``, programme by programme: the programmes recommended are exactly the eligible ones,
the programmes listed as not available are exactly the others (retired ones aside) with the same reasons,
and only vetted, current partners that serve the business ever appear. With and without a trained model.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from app import recommender
from app.extensions import db
from app.models import Partner, PartnerStatus, PriceBand, Programme, ProgrammeKind
from app.recommender import engine, outcome_model, snapshot
from app.recommender.features import ORG_KINDS, PRICE_BANDS, PROGRAMME_KINDS, SIZE_CLASSES
from app.recommender.snapshot import CATEGORIES, PartnerRow, ProgrammeRow
from app.services import eligibility, frameworks
from tests.recommender_factories import partner, programme, synthetic_records

PILLARS = ("customer", "strategy", "infrastructure", "operations", "culture", "data")
SECTORS = ("A", "C", "G", "I")
COMMUNES = ("21025", "21211", "21484")
WORDS = ("phần mềm", "kế toán", "hoá đơn", "bán hàng online", "dữ liệu", "đào tạo", "website", "truy xuất", "vay vốn")
START = date(2025, 1, 1)
PROPERTY = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def subset(values, min_size=0):
    return st.lists(st.sampled_from(values), min_size=min_size, max_size=len(values), unique=True)


days = st.integers(0, 3 * 365).map(lambda n: START + timedelta(days=n))


@st.composite
def programme_values(draw, code: str) -> dict:
    low = draw(st.integers(0, 5))
    opens = draw(days)
    budget = draw(st.integers(1, 10**9))
    return {
        "code": code,
        "name": {"vi": f"Chương trình {code}", "en": f"Programme {code}"},
        "sponsor": {"vi": "Sở", "en": "Department"},
        "summary": {"vi": draw(st.sampled_from(WORDS)), "en": "support"},
        "kind": draw(st.sampled_from(PROGRAMME_KINDS)),
        "pillars": draw(subset(PILLARS)),
        "sectors": draw(subset(SECTORS)),
        "org_kinds": draw(subset(ORG_KINDS, min_size=1)),
        "size_classes": draw(subset(SIZE_CLASSES)),
        "communes": draw(subset(COMMUNES)),
        "level_min": low,
        "level_max": draw(st.integers(low, 5)),
        "support_rate": draw(st.sampled_from((0.3, 0.5, 1.0))),
        "caps_vnd": {size: 10_000_000 for size in draw(subset(SIZE_CLASSES))},
        "budget_vnd": budget,
        "committed_vnd": draw(st.sampled_from((0, budget // 2, budget, budget + 1))),
        "opens_on": opens,
        "closes_on": opens + timedelta(days=draw(st.integers(0, 400))),
        "retired_at": draw(st.sampled_from((None, None, None, datetime(2025, 6, 1, tzinfo=UTC)))),
    }


@st.composite
def partner_values(draw, code: str) -> dict:
    return {
        "code": code,
        "name": f"Công ty {code}",
        "summary": {"vi": draw(st.sampled_from(WORDS)), "en": "software"},
        "website": None, "email": None, "phone": None,
        "categories": draw(subset(CATEGORIES[:8])),
        "pillars": draw(subset(PILLARS)),
        "sectors": draw(subset(SECTORS)),
        "org_kinds": draw(subset(ORG_KINDS, min_size=1)),
        "communes": draw(subset(COMMUNES)),
        "price_band": draw(st.sampled_from(PRICE_BANDS)),
        "status": draw(st.sampled_from(("vetted", "vetted", "pending", "suspended"))),
        "retired_at": draw(st.sampled_from((None, None, None, datetime(2025, 6, 1, tzinfo=UTC)))),
    }


@st.composite
def catalogues(draw):
    n_programmes = draw(st.integers(0, 12))
    n_partners = draw(st.integers(0, 12))
    return ([draw(programme_values(f"PR-{i}")) for i in range(n_programmes)],
            [draw(partner_values(f"PA-{i}")) for i in range(n_partners)])


profiles = st.builds(recommender.Profile, kind=st.sampled_from(ORG_KINDS), sector=st.sampled_from(SECTORS),
                     size_class=st.sampled_from((*SIZE_CLASSES, None)), commune_code=st.sampled_from((*COMMUNES, None)))
scores = st.fixed_dictionaries({p: st.floats(0, 100, allow_nan=False) for p in PILLARS})
needs = st.lists(st.sampled_from(WORDS), max_size=3).map(" ".join)


def serves(row, profile) -> bool:
    return (row.status == "vetted" and row.retired_at is None
            and (not row.org_kinds or profile.kind in row.org_kinds)
            and (not row.sectors or profile.sector in row.sectors)
            and (not row.communes or (profile.commune_code is not None and profile.commune_code in row.communes)))


def assert_sound(result, programmes, partners, profile, level, on_date, locale):
    """Exactly the eligible programmes, the others with check()'s reasons, only partners that serve."""
    checks = {row.code: eligibility.check(row, profile, level, on_date, locale=locale) for row in programmes}
    recommended = [item.code for item in result.programmes]
    assert set(recommended) == {code for code, result_ in checks.items() if result_.eligible}
    for item in result.programmes:
        assert checks[item.code].eligible
    live = {row.code for row in programmes if row.retired_at is None}
    assert {entry.code for entry in result.not_eligible} == {code for code in live if not checks[code].eligible}
    for entry in result.not_eligible:
        assert entry.reasons == checks[entry.code].reasons and entry.reasons
    by_code = {row.code: row for row in partners}
    assert {item.code for item in result.partners} == {row.code for row in partners if serves(row, profile)}
    for group in (result.programmes, result.partners):
        ranked = [(-item.score, item.code) for item in group]
        assert ranked == sorted(ranked)
        for item in group:
            assert 0.0 <= item.score <= 1.0
            assert 1 <= len(item.reasons) <= 3
    for item in result.partners:
        assert by_code[item.code].status == "vetted" and by_code[item.code].retired_at is None


@pytest.fixture(scope="module")
def trained():
    """An outcome model fitted once on codes the random catalogues reuse."""
    framework = frameworks.current_framework()
    rows = [ProgrammeRow(code=f"PR-{i}", name={"vi": "x", "en": "x"}, kind=PROGRAMME_KINDS[i % 6],
                         pillars=[PILLARS[i % 6]], opens_on=START, closes_on=START, level_min=0, level_max=5,
                         budget_vnd=1) for i in range(12)]
    partners_ = [PartnerRow(code=f"PA-{i}", name="x", pillars=[PILLARS[(i + 2) % 6]], categories=[CATEGORIES[i % 8]],
                            price_band=PRICE_BANDS[i % 3], status="vetted") for i in range(12)]
    snap = snapshot.build(rows, partners_, framework)
    return outcome_model.fit(synthetic_records(snap, n=300), snap, seed=0)


@PROPERTY
@given(catalogue=catalogues(), profile=profiles, pillar_scores=scores, level=st.integers(0, 5), on_date=days,
       needs_text=needs, locale=st.sampled_from(("vi", "en")), with_model=st.booleans())
def test_no_recommendation_is_ever_ineligible(trained, catalogue, profile, pillar_scores, level, on_date, needs_text,
                                              locale, with_model):
    programmes = [ProgrammeRow(**values) for values in catalogue[0]]
    partners = [PartnerRow(**values) for values in catalogue[1]]
    snap = snapshot.build(programmes, partners, frameworks.current_framework())
    runner = engine.Engine(snap, trained if with_model else None)
    query = recommender.Query(profile, pillar_scores, level, needs_text)
    result = runner.recommend(query, locale=locale, on_date=on_date, limit=50, not_eligible_limit=None)
    assert_sound(result, programmes, partners, profile, level, on_date, locale)
    assert runner.recommend(query, locale=locale, on_date=on_date, limit=50, not_eligible_limit=None) == result
    assert result.model_version == (trained.version if with_model else "content-1")


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(catalogue=catalogues(), profile=profiles, pillar_scores=scores, level=st.integers(0, 5), on_date=days)
def test_through_the_database_suspended_pending_and_retired_never_appear(app, catalogue, profile, pillar_scores,
                                                                       level, on_date):
    db.session.execute(delete(Programme))
    db.session.execute(delete(Partner))
    for values in catalogue[0]:
        programme(commit=False, **{**values, "kind": ProgrammeKind(values["kind"])})
    for values in catalogue[1]:
        partner(commit=False, **{**values, "status": PartnerStatus(values["status"]),
                                 "price_band": PriceBand(values["price_band"])})
    db.session.commit()
    result = recommender.recommend(profile, pillar_scores, level, locale="en", on_date=on_date, limit=50,
                                   not_eligible_limit=None)
    programmes = [ProgrammeRow(**values) for values in catalogue[0]]
    partners = [PartnerRow(**values) for values in catalogue[1]]
    assert_sound(result, programmes, partners, profile, level, on_date, "en")
    hidden = {values["code"] for values in catalogue[1] if values["status"] != "vetted" or values["retired_at"]}
    assert not hidden & {item.code for item in result.partners}


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(catalogue=catalogues(), queries=st.lists(st.tuples(profiles, scores, st.integers(0, 5), needs), min_size=2,
                                                max_size=6),
       on_date=days, with_model=st.booleans())
def test_a_batch_gives_each_business_what_it_would_get_alone(trained, catalogue, queries, on_date, with_model):
    snap = snapshot.build([ProgrammeRow(**v) for v in catalogue[0]], [PartnerRow(**v) for v in catalogue[1]],
                          frameworks.current_framework())
    runner = engine.Engine(snap, trained if with_model else None)
    batch = [recommender.Query(profile, pillar_scores, level, text) for profile, pillar_scores, level, text in queries]
    together = runner.recommend_many(batch, locale="en", on_date=on_date, limit=3)
    alone = [runner.recommend(query, locale="en", on_date=on_date, limit=3) for query in batch]
    assert together == alone
