"""The staff dashboard: its figures equal a direct count on a known data set (read back from the CSV
exports), the filters, bad filters, charts and tables on the page, access, and a bounded query count."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Assessment,
    AssessmentStatus,
    DashboardFact,
    DashboardProgressCell,
    DashboardProgressPair,
    Organisation,
    OrganisationKind,
    Role,
)
from app.services import assessments, dashboard, frameworks, opendata
from tests.application_helpers import login
from tests.assessment_helpers import full_answers
from tests.catalogue_helpers import make_programme
from tests.factories import OrganisationFactory, UserFactory
from tests.opendata_helpers import (
    at,
    communes,
    csv_rows,
    fresh_statistics,  # noqa: F401 (autouse fixture)
    make_application,
    make_org,
    pillars,
    submit,
)
from tests.test_admin import count_queries

pytestmark = pytest.mark.usefixtures("fresh_statistics")

ENTERPRISE_SCORES = [5, 15, 15, 35, 35, 35, 55, 55, 75, 95]  # levels 0 1 1 2 2 2 3 3 4 5


@pytest.fixture
def known(app):
    """30 organisations with known levels, re-assessments and applications (see each comment)."""
    commune_a, commune_b = communes(2)
    early = at(2025, 1, 2)
    # 10 enterprises, trade (G), commune A, assessed once in 2026-Q1.
    for i, score in enumerate(ENTERPRISE_SCORES):
        submit(make_org("enterprise", "G", commune_a, created_at=early), at(2026, 2, 1 + i), score)
    # 12 household businesses, manufacturing (C), commune B, assessed in 2026-Q2 at 25 (level 1);
    # 4 of them again in 2026-Q3 at 60 (level 3).
    households = [make_org("household_business", "C", commune_b, created_at=early) for _ in range(12)]
    for i, organisation in enumerate(households):
        submit(organisation, at(2026, 5, 1 + i), 25)
    for organisation in households[:4]:
        submit(organisation, at(2026, 8, 3), 60)
    # 8 cooperatives, agriculture (A), commune A: 5 assessed in 2025-Q4 at 45 (level 2), 3 never.
    cooperatives = [make_org("cooperative", "A", commune_a, created_at=early) for _ in range(8)]
    for organisation in cooperatives[:5]:
        submit(organisation, at(2025, 11, 5), 45)
    # Applications to one programme: completed, rejected, still waiting.
    programme = make_programme(code="DX-KNOWN", budget_vnd=1_000_000_000,
                               name={"vi": "=HYPERLINK(\"http://x\")", "en": "Known programme"})
    make_application(households[0], programme, submitted=at(2026, 3, 1),
                     steps=[("start_review", at(2026, 3, 3)), ("recommend", at(2026, 3, 7)),
                            ("approve", at(2026, 3, 8)), ("complete", at(2026, 3, 18))],
                     approved_vnd=20_000_000, disbursed_vnd=15_000_000)
    make_application(households[1], programme, submitted=at(2026, 3, 1),
                     steps=[("start_review", at(2026, 3, 5)), ("reject", at(2026, 3, 11))])
    make_application(households[2], programme, submitted=at(2026, 3, 5))
    db.session.commit()
    return {"commune_a": commune_a, "commune_b": commune_b, "programme": programme}


@pytest.fixture
def staff_client(client):
    login(client, UserFactory(roles=[Role.REVIEWER], locale="en"))
    return client


def _table(client, name: str, **filters) -> dict[str, list[str]]:
    response = client.get(f"/dashboard/export/{name}.csv", query_string=filters)
    assert response.status_code == 200, response.status_code
    rows = csv_rows(response)
    return {row[0]: row[1:] for row in rows[1:]} | {"__header__": rows[0]}


def _ints(values: list[str]) -> list[int]:
    return [int(v) for v in values]


def test_organisations_and_assessments_by_kind_sector_and_commune(staff_client, known):
    kinds = _table(staff_client, "kinds")
    assert kinds["__header__"] == ["Kind of organisation", "Organisations", "Assessed", "Assessed (%)",
                                   "Assessments submitted"]
    # Columns: organisations, assessed, share, assessments.
    assert _ints(kinds["Enterprise"][:2]) == [10, 10] and kinds["Enterprise"][3] == "10"
    assert _ints(kinds["Household business"][:2]) == [12, 12] and kinds["Household business"][3] == "16"
    assert _ints(kinds["Cooperative"][:2]) == [8, 5] and kinds["Cooperative"][2] == "62.5"
    sectors = _table(staff_client, "sectors")
    assert [_ints([v[0], v[1], v[3]]) for k, v in sectors.items() if k.startswith(("G ", "C ", "A "))] == \
        [[8, 5, 5], [12, 12, 16], [10, 10, 10]]
    communes_table = _table(staff_client, "communes")
    by_count = sorted(_ints([v[0], v[1], v[3]]) for k, v in communes_table.items() if k != "__header__")
    assert by_count == [[12, 12, 16], [18, 15, 15]]


def test_levels_per_pillar_count_each_organisation_once_with_its_latest_assessment(staff_client, known):
    levels = _table(staff_client, "levels")
    framework = frameworks.current_framework()
    first_pillar = framework.pillars[0].name.en
    # Enterprises 0,1,1,2,2,2,3,3,4,5; households: 8 at level 1, 4 re-assessed at level 3; cooperatives 5 at 2.
    expected = [1, 2 + 8, 3 + 5, 2 + 4, 1, 1]
    assert _ints(levels[first_pillar]) == [*expected, 27]
    assert _ints(levels["Overall"]) == [*expected, 27]
    assert len([k for k in levels if k != "__header__"]) == len(framework.pillars) + 1


def test_progress_compares_first_and_latest_assessment(staff_client, known):
    progress = _table(staff_client, "progress")
    first_pillar = frameworks.current_framework().pillars[0].name.en
    organisations, first, latest, change, improved = progress[first_pillar]
    assert (int(organisations), float(first), float(latest), float(change), int(improved)) == (4, 25, 60, 35, 4)
    assert progress["Overall"][0] == "4" and progress["Overall"][-1] == "4"  # all moved from level 1 to 3


def test_share_at_each_level_per_quarter(staff_client, known):
    trend = _table(staff_client, "trend")
    assert _ints(trend["2025-Q4"]) == [0, 0, 5, 0, 0, 0, 5]
    assert _ints(trend["2026-Q1"]) == [1, 2, 3, 2, 1, 1, 10]
    assert _ints(trend["2026-Q2"]) == [0, 12, 0, 0, 0, 0, 12]
    assert _ints(trend["2026-Q3"]) == [0, 0, 0, 4, 0, 0, 4]


def test_programme_budgets_funnel_and_median_time_per_state(staff_client, known):
    programmes = _table(staff_client, "programmes")
    [row] = [v for k, v in programmes.items() if k == "DX-KNOWN"]
    name, budget, committed, paid, remaining, applications, approved, completed = row
    assert name == "Known programme"
    assert _ints([budget, committed, paid, remaining]) == [1_000_000_000, 15_000_000, 15_000_000, 985_000_000]
    assert _ints([applications, approved, completed]) == [3, 1, 1]
    funnel = _table(staff_client, "funnel")
    assert funnel["Submitted"][:3] == ["1", "3.0", "3.5"]       # stays of 2 and 4 days
    assert funnel["In review"][:3] == ["0", "5.0", "5.5"]       # 4 and 6 days
    assert funnel["Recommended for approval"][:2] == ["0", "1.0"]
    assert funnel["Approved"][:2] == ["0", "10.0"]
    assert funnel["Completed"][0] == "1" and funnel["Rejected"][0] == "1"
    assert funnel["Completed"][1] == ""  # a final state has no time in it


def test_filters_by_kind_commune_sector_and_period(staff_client, known):
    only_households = _table(staff_client, "kinds", kind="household_business")
    assert [k for k in only_households if k != "__header__"] == ["Household business"]
    first_pillar = frameworks.current_framework().pillars[0].name.en
    assert _ints(_table(staff_client, "levels", commune=known["commune_b"])[first_pillar]) == [0, 8, 0, 4, 0, 0, 12]
    assert _ints(_table(staff_client, "levels", sector="G")[first_pillar])[-1] == 10
    # From 2026-Q3: only the four re-assessments; nobody has two assessments in the period.
    late = _table(staff_client, "levels", start="2026-Q3")
    assert _ints(late[first_pillar]) == [0, 0, 0, 4, 0, 0, 4]
    assert [k for k in _table(staff_client, "progress", start="2026-Q3") if k != "__header__"] == []
    # Up to 2026-Q2: the households' latest assessment in the period is the first one (level 1).
    early = _table(staff_client, "levels", end="2026-Q2")
    assert _ints(early[first_pillar]) == [1, 2 + 12, 3 + 5, 2, 1, 1, 27]
    kinds = _table(staff_client, "kinds", start="2026-Q1", end="2026-Q1")
    assert kinds["Enterprise"][3] == "10" and kinds["Household business"][1] == "0"
    funnel = _table(staff_client, "funnel", start="2026-Q2")
    assert all(row[0] == "0" for key, row in funnel.items() if key != "__header__")


@pytest.mark.parametrize("query, message", [
    ("commune=00000", "Choose an option from the list."),
    ("sector=Z", "Choose an option from the list."),
    ("kind=company", "Choose an option from the list."),
    ("start=2026-Q5", "Choose an option from the list."),
    ("start=1999-Q1", "Choose an option from the list."),
    ("start=2026-Q3&end=2026-Q1", "The end quarter must not be before the start quarter."),
])
def test_bad_filters_are_refused_with_a_message(staff_client, known, query, message):
    response = staff_client.get(f"/dashboard/?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert staff_client.get(f"/dashboard/export/kinds.csv?{query}").status_code == 400


def test_the_page_shows_accessible_charts_and_tables(staff_client, known):
    response = staff_client.get("/dashboard/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('role="img"') == 4
    assert "<title id=\"chart-levels-title\">" in page
    assert 'style="' not in page and "<script" not in page
    assert '<th scope="col"' in page and '<th scope="row"' in page
    for table in dashboard.TABLES:
        assert f"/dashboard/export/{table}.csv" in page
    filtered = staff_client.get("/dashboard/?kind=cooperative").get_data(as_text=True)
    assert "/dashboard/export/kinds.csv?kind=cooperative" in filtered


def test_csv_exports_have_a_bom_and_defuse_formulas(staff_client, known):
    response = staff_client.get("/dashboard/export/programmes.csv")
    assert response.get_data().startswith("\ufeff".encode())
    assert response.headers["Content-Type"].startswith("text/csv")
    login(staff_client, UserFactory(roles=[Role.ADMIN], locale="vi"))
    rows = csv_rows(staff_client.get("/dashboard/export/programmes.csv"))
    [row] = [r for r in rows[1:] if r[0] == "DX-KNOWN"]
    assert row[1] == "'=HYPERLINK(\"http://x\")"


def test_the_figures_show_a_new_submission_at_once(staff_client, known):
    first_pillar = frameworks.current_framework().pillars[0].name.en
    assert _ints(_table(staff_client, "levels")[first_pillar])[-1] == 27
    submit(make_org("cooperative", "A", known["commune_a"]), at(2026, 9, 1), 99)
    db.session.commit()
    assert _ints(_table(staff_client, "levels")[first_pillar])[-1] == 28


def test_the_query_count_does_not_grow_with_the_data(app, staff_client, known):
    assert staff_client.get("/dashboard/").status_code == 200  # the fact table is filled in full here
    submit(make_org("enterprise", "F", known["commune_b"]), at(2026, 1, 1), 9)
    db.session.commit()
    dashboard.clear_cache()
    with count_queries() as small:
        assert staff_client.get("/dashboard/").status_code == 200
    for i in range(30):
        submit(make_org("enterprise", "F", known["commune_b"]), at(2026, 1, 1 + i % 28), 10 + i)
    db.session.commit()
    dashboard.clear_cache()
    with count_queries() as large:
        assert staff_client.get("/dashboard/").status_code == 200
    assert len(large) == len(small) <= 30  # the sync (check, list, 8 writes) and the figures
    with count_queries() as cached:
        assert staff_client.get("/dashboard/").status_code == 200
    assert len(cached) < len(large) // 2


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/export/kinds.csv"])
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("roles", [[Role.BUSINESS], [Role.PARTNER], []])
@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/export/kinds.csv"])
def test_users_who_are_not_staff_get_403(client, roles, path):
    login(client, UserFactory(roles=roles))
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.APPROVER, Role.ADMIN])
def test_staff_get_the_dashboard(client, role):
    login(client, UserFactory(roles=[role]))
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/dashboard/export/funnel.csv").status_code == 200


def test_open_data_is_public(client):
    assert client.get("/open-data/").status_code == 200
    assert client.get("/open-data/uptake.json").status_code == 200


# The fact table -------------------------------------------------------------------------------------


def _fact_rows() -> list[tuple]:
    """Every fact row and every progress pair, in a stable order."""
    facts = [tuple(row) for row in db.session.execute(select(DashboardFact.__table__).order_by(
        DashboardFact.assessment_id))]
    pairs = [tuple(row) for row in db.session.execute(select(DashboardProgressPair.__table__).order_by(
        DashboardProgressPair.first_assessment_id, DashboardProgressPair.last_assessment_id))]
    cell = DashboardProgressCell
    # Cell sums kept by adding and subtracting can differ from a fresh sum in the last bits of a float.
    cells = [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in db.session.execute(
        select(cell.__table__).order_by(cell.org_kind, cell.first_quarter, cell.first_prev_quarter,
                                        cell.last_quarter, cell.last_next_quarter))]
    return facts + pairs + cells


def _band(score: float | None) -> int | None:
    """The level whose band holds ``score``: the first whose upper bound is above it, else the top one."""
    if score is None:
        return None
    levels = frameworks.current_framework().levels
    return next((lv.level for lv in levels[:-1] if score < lv.upper), levels[-1].level)


def _direct(filters: dashboard.Filters) -> dict:
    """The dashboard's assessment figures counted in Python from the assessments and organisations."""
    organisations = {o.id: o for o in db.session.scalars(select(Organisation))}
    by_org: dict[int, list[Assessment]] = defaultdict(list)
    for assessment in db.session.scalars(select(Assessment).where(Assessment.status == AssessmentStatus.SUBMITTED)):
        by_org[assessment.organisation_id].append(assessment)
    counted = {"kinds": defaultdict(lambda: [0, 0]), "sectors": defaultdict(lambda: [0, 0]),
               "communes": defaultdict(lambda: [0, 0])}
    levels: dict[str, Counter] = defaultdict(Counter)
    progress: dict[str, list] = defaultdict(list)
    trend: dict[int, Counter] = defaultdict(Counter)
    for org_id, items in by_org.items():
        org = organisations[org_id]
        if (filters.kind and org.kind.value != filters.kind) or (filters.sector and org.sector != filters.sector) \
                or (filters.commune and org.commune_code != filters.commune):
            continue
        quarters = {a.id: opendata.quarter_of(a.submitted_at) for a in items}
        chosen = sorted((a for a in items if (not filters.start or quarters[a.id] >= filters.start)
                         and (not filters.end or quarters[a.id] <= filters.end)),
                        key=lambda a: (a.submitted_at, a.id))
        if not chosen:
            continue
        for table, key in (("kinds", org.kind.value), ("sectors", org.sector), ("communes", org.commune_code)):
            counted[table][key][0] += 1
            counted[table][key][1] += len(chosen)
        first, last = chosen[0], chosen[-1]
        for score in last.pillar_scores:
            levels[score.pillar][_band(score.score)] += 1
        levels["overall"][last.overall_level] += 1
        if len(chosen) >= 2:
            before = first.pillar_score_map
            for pillar, score in last.pillar_score_map.items():
                progress[pillar].append((before[pillar], score))
            progress["overall"].append((first.overall_score, last.overall_score, first.overall_level,
                                        last.overall_level))
        latest_of_quarter = {}
        for a in chosen:
            latest_of_quarter[quarters[a.id]] = a
        for quarter, a in latest_of_quarter.items():
            trend[quarter][a.overall_level] += 1

    def mean(values):
        return round(sum(values) / len(values), 1)

    progress_rows = {}
    for key, pairs in progress.items():
        improved = sum(1 for p in pairs if (p[3] > p[2] if key == "overall" else p[1] > p[0]))
        progress_rows[key] = (len(pairs), mean([p[0] for p in pairs]), mean([p[1] for p in pairs]), improved)
    return {
        **{table: {k: tuple(v) for k, v in rows.items()} for table, rows in counted.items()},
        "levels": {pillar: {str(k): v for k, v in c.items()} for pillar, c in levels.items()},
        "progress": progress_rows,
        "trend": {opendata.quarter_label(q): {str(k): v for k, v in c.items()} for q, c in trend.items()},
    }


def _shown(filters: dashboard.Filters) -> dict:
    """The same figures as the dashboard computes them (from the fact table, brought up to date)."""
    raw = dashboard.data(filters)
    return {
        **{table: {row["key"]: (row["assessed"], row["assessments"]) for row in raw[table] if row["assessments"]}
           for table in ("kinds", "sectors", "communes")},
        "levels": {row["key"]: row["levels"] for row in raw["levels"]},
        "progress": {row["key"]: (row["organisations"], row["first_mean"], row["latest_mean"], row["improved"])
                     for row in raw["progress"]},
        "trend": {row["key"]: row["levels"] for row in raw["trend"]},
    }


def test_a_submission_through_the_service_shows_at_once(staff_client, known):
    owner = UserFactory()
    organisation = OrganisationFactory(owner=owner, kind=OrganisationKind.COOPERATIVE)
    db.session.commit()
    before = _table(staff_client, "kinds")["Cooperative"]
    draft = assessments.start(organisation, owner)
    assert assessments.save_answers(draft, owner, full_answers(assessments.framework_of(draft), draft.track)) == {}
    assessments.submit(draft, owner)
    db.session.commit()
    after = _table(staff_client, "kinds")["Cooperative"]
    assert _ints([after[0], after[1], after[3]]) == [int(before[0]), int(before[1]) + 1, int(before[3]) + 1]
    assert db.session.scalar(select(DashboardFact.overall_level).where(DashboardFact.assessment_id == draft.id)) \
        == draft.overall_level


def test_an_organisation_edit_moves_its_figures(staff_client, known):
    first_pillar = frameworks.current_framework().pillars[0].name.en
    assert _ints(_table(staff_client, "levels", commune=known["commune_b"])[first_pillar])[-1] == 12
    household = db.session.scalars(select(Organisation).where(Organisation.commune_code == known["commune_b"])
                                   .order_by(Organisation.id)).first()
    household.commune_code = known["commune_a"]
    household.sector = "G"
    db.session.commit()
    assert _ints(_table(staff_client, "levels", commune=known["commune_b"])[first_pillar])[-1] == 11
    assert _ints(_table(staff_client, "levels", sector="G")[first_pillar])[-1] == 11
    assert _ints(_table(staff_client, "levels", commune=known["commune_a"])[first_pillar])[-1] == 16


def test_rebuilding_the_facts_is_idempotent_and_equals_the_synced_rows(app, known):
    assert dashboard.sync_facts()
    synced = _fact_rows()
    # The facts, the pairs of the four organisations assessed twice, and their cells (the pairs by kind and
    # quarters).
    cells = db.session.scalar(select(func.count()).select_from(DashboardProgressCell))
    assert 1 <= cells <= 4
    assert len(synced) == 10 + 16 + 5 + 4 + cells
    dashboard.rebuild_facts()
    assert _fact_rows() == synced
    dashboard.rebuild_facts()
    assert _fact_rows() == synced
    with count_queries() as queries:
        assert dashboard.sync_facts()
    assert len(queries) == 1  # nothing changed: one check


FILTERS = [
    dashboard.Filters(),
    dashboard.Filters(start=20252, end=20254),
    dashboard.Filters(start=20261),
    dashboard.Filters(end=20253),
    dashboard.Filters(kind="enterprise"),
    dashboard.Filters(sector="C", start=20253, end=20262),
]


def test_figures_equal_a_direct_count_after_random_changes(app):
    rnd = random.Random(2026)
    places = communes(3)
    organisations = [make_org(rnd.choice(["enterprise", "cooperative", "household_business"]), rnd.choice("ACG"),
                              rnd.choice(places), created_at=at(2024, 1, 1)) for _ in range(30)]
    quarters = [(2025, m) for m in (2, 5, 8, 11)] + [(2026, m) for m in (2, 5, 8, 11)]

    def submit_some(n: int) -> None:
        for _ in range(n):
            year, month = rnd.choice(quarters)  # in any order: some are back-dated
            scores = {code: float(rnd.choice([0, 9, 10, 29, 30, 55, 70, 89, 90, 100])) for code in pillars()}
            submit(rnd.choice(organisations), at(year, month, rnd.randint(1, 28), rnd.randint(0, 23)), scores)

    submit_some(60)
    db.session.commit()
    for filters in FILTERS:
        assert _shown(filters) == _direct(filters), filters
    # New submissions (back-dated too), profile edits, then a deletion (a full rebuild).
    for round_ in range(3):
        submit_some(15)
        for organisation in rnd.sample(organisations, 4):
            organisation.commune_code = rnd.choice(places)
            organisation.sector = rnd.choice("ACG")
            organisation.kind = OrganisationKind(rnd.choice(["enterprise", "cooperative", "household_business"]))
        if round_ == 2:
            db.session.delete(db.session.scalars(select(Assessment).order_by(Assessment.id)).first())
        db.session.commit()
        for filters in FILTERS:
            assert _shown(filters) == _direct(filters), (round_, filters)
    synced = _fact_rows()
    dashboard.rebuild_facts()
    assert _fact_rows() == synced


def test_the_rebuild_command_fills_the_fact_table(app, runner):
    from sqlalchemy import func, select

    from app.models.dashboard_facts import DashboardFact
    from tests.workflow_helpers import make_world

    world = make_world()
    result = runner.invoke(args=["dashboard", "rebuild-facts"])
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output
    assert db.session.scalar(select(func.count()).select_from(DashboardFact)) == 1
    assert db.session.scalar(select(DashboardFact.organisation_id)) == world.organisation.id


def _full_rebuild(statements: list[str]) -> bool:
    """Whether a sync emptied the fact table (a DELETE without a WHERE) to compute everything again."""
    return any(" ".join(s.split()).upper() == "DELETE FROM DASHBOARD_FACT" for s in statements)


def test_a_late_submission_and_a_deletion_are_synced_without_recomputing_everything(app, staff_client, known):
    """A draft started before others but sent after them has an id below the table's highest; and a deleted
    assessment leaves a row behind. Both only recompute their organisation (a full rebuild takes seconds
    at 100,000 assessments), and the figures stay equal to a rebuild."""
    late_org = make_org("household_business", "A", known["commune_a"])
    started = submit(late_org, at(2026, 5, 2), 40)
    started.status, started.submitted_at = AssessmentStatus.DRAFT, None  # still a draft: not in the figures
    db.session.commit()
    submit(make_org("enterprise", "C", known["commune_b"]), at(2026, 5, 3), 60)
    db.session.commit()
    assert dashboard.sync_facts()
    started.status, started.submitted_at = AssessmentStatus.SUBMITTED, at(2026, 5, 4)
    db.session.commit()
    with count_queries() as late:
        assert dashboard.sync_facts()
    assert not _full_rebuild(late)
    assert db.session.scalar(select(func.count()).select_from(DashboardFact)
                             .where(DashboardFact.assessment_id == started.id)) == 1
    gone = db.session.scalars(select(Assessment).order_by(Assessment.id)).first()
    db.session.delete(gone)
    db.session.commit()
    with count_queries() as deleted:
        assert dashboard.sync_facts()
    assert not _full_rebuild(deleted)
    assert db.session.scalar(select(func.count()).select_from(DashboardFact)
                             .where(DashboardFact.assessment_id == gone.id)) == 0
    synced = _fact_rows()
    with count_queries() as rebuilt:
        dashboard.rebuild_facts()
    assert _full_rebuild(rebuilt)  # the helper does see a full rebuild
    assert _fact_rows() == synced


def test_names_in_the_tables_are_escaped(staff_client, known):
    make_programme(code="DX-XSS", name={"vi": "<b>x</b>", "en": "<script>alert(1)</script> & Co"})
    db.session.commit()
    page = staff_client.get("/dashboard/").get_data(as_text=True)  # the staff member reads English
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page


def test_warming_compiles_the_sync_without_changing_anything(app, known):
    assert dashboard.sync_facts()
    before = _fact_rows()
    dashboard.warm()
    assert _fact_rows() == before
    submit(make_org("enterprise", "C", known["commune_b"]), at(2026, 6, 3), 70)
    db.session.commit()
    assert dashboard.sync_facts()
    assert len(_fact_rows()) > len(before)
