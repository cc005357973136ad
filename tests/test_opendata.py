"""Open data: the anonymity guarantees (suppression below 10, complementary cells, no personal data), the
figures themselves, and the downloads' format, caching and headers. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import threading

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import OpenDataFile, OpenDataMember, OpenDataSnapshot, Organisation, OrganisationKind, User
from app.services import opendata
from tests.catalogue_helpers import make_programme
from tests.factories import UserFactory
from tests.opendata_helpers import (
    at,
    body_text,
    communes,
    csv_rows,
    fresh_statistics,  # noqa: F401 (autouse fixture)
    make_application,
    make_org,
    pillars,
    quartiles,
    submit,
)

pytestmark = pytest.mark.usefixtures("fresh_statistics")


def _cells(rows, **match):
    return [row for row in rows if all(row[key] == value for key, value in match.items())]


# The suppression rule itself --------------------------------------------------------------------------


def test_primary_suppression_hides_cells_about_one_to_nine_organisations():
    assert opendata.suppress([0, 1, 9, 10, 250]) == {1, 2}


def test_one_hidden_cell_in_a_group_with_a_total_hides_the_next_smallest_too():
    # One group (say, a programme whose total is public): 3 is hidden, so 12 (the next smallest) goes too.
    hidden = opendata.suppress([3, 12, 15, 40], [["p", "p", "p", "p"]])
    assert hidden == {0, 1}
    counts = [3, 12, 15, 40]
    total = sum(counts)
    published = sum(c for i, c in enumerate(counts) if i not in hidden)
    # What an attacker can compute is the sum of the two hidden cells, never the small one alone.
    assert total - published == 3 + 12 != 3


def test_groups_with_two_hidden_cells_or_none_need_nothing_more():
    assert opendata.suppress([3, 4, 15, 40], [["p"] * 4]) == {0, 1}
    assert opendata.suppress([30, 12, 15], [["p"] * 3]) == set()
    # A cell in no published total (key None) is never used as a complement.
    assert opendata.suppress([3, 12, 15], [["p", None, "p"]]) == {0, 2}


def test_zero_cells_are_not_complements_and_the_rule_holds_for_every_grouping():
    # Cells 0-3 form a 2x2 table with row totals (r1, r2) and column totals (c1, c2):
    #   [3, 20]
    #   [25, 30]
    counts = [3, 20, 25, 30]
    rows = ["r1", "r1", "r2", "r2"]
    columns = ["c1", "c2", "c1", "c2"]
    hidden = opendata.suppress(counts, [rows, columns])
    for keys in (rows, columns):
        for group in set(keys):
            members = [i for i, key in enumerate(keys) if key == group]
            assert len([i for i in members if i in hidden]) != 1, (group, hidden)
    assert 0 in hidden
    assert opendata.suppress([3, 0, 12], [["p"] * 3]) == {0, 2}


# Maturity ---------------------------------------------------------------------------------------------


def _cell_of(n: int, commune: str, sector: str, kind: str, quarter_month: tuple[int, int], base: float):
    organisations = []
    for i in range(n):
        organisation = make_org(kind, sector, commune)
        submit(organisation, at(*quarter_month, day=1 + i), {code: base + i + p for p, code in enumerate(pillars())})
        organisations.append(organisation)
    return organisations


def test_maturity_publishes_cells_of_ten_and_suppresses_cells_of_nine(app):
    commune_a, commune_b = communes(2)
    _cell_of(10, commune_a, "G", "enterprise", (2026, 2), 40)
    _cell_of(9, commune_b, "G", "enterprise", (2026, 2), 40)
    db.session.commit()

    rows = opendata.maturity_rows("vi")
    published = _cells(rows, commune_code=commune_a)
    assert len(published) == 1
    row = published[0]
    assert row["quarter"] == "2026-Q1" and row["sector"] == "G" and row["org_kind"] == "enterprise"
    assert row["organisations"] == 10 and row["suppressed"] is False
    for position, code in enumerate(pillars()):
        values = [40 + i + position for i in range(10)]
        assert row[f"{code}_mean"] == round(sum(values) / 10, 1)
        assert (row[f"{code}_q1"], row[f"{code}_median"], row[f"{code}_q3"]) == quartiles(values)
    [hidden] = _cells(rows, commune_code=commune_b)
    assert hidden["suppressed"] is True
    figures = [key for key in hidden if key not in
               ("quarter", "commune_code", "commune_name", "sector", "sector_name", "org_kind", "org_kind_name",
                "suppressed")]
    assert figures and all(hidden[key] is None for key in figures)


def test_quartiles_interpolate_like_numpy_on_uneven_scores(app):
    commune = communes(1)[0]
    scores = [0.0, 12.5, 13.1, 20.0, 47.3, 47.3, 55.0, 80.9, 99.9, 100.0, 64.2]
    for i, value in enumerate(scores):
        submit(make_org("cooperative", "A", commune), at(2025, 11, 1 + i), value)
    db.session.commit()
    [row] = opendata.maturity_rows("en")
    assert row["organisations"] == 11
    assert (row["data_q1"], row["data_median"], row["data_q3"]) == quartiles(scores)
    assert row["overall_mean"] == round(sum(scores) / len(scores), 1)
    assert row["sector_name"] and row["org_kind_name"] == "Cooperative"


def test_an_organisation_counts_once_per_quarter_with_its_latest_submission(app):
    commune = communes(1)[0]
    organisations = _cell_of(10, commune, "C", "household_business", (2026, 4), 30)
    # The first organisation submits again later in the same quarter, and once in the next quarter.
    submit(organisations[0], at(2026, 6, 20), 90)
    submit(organisations[0], at(2026, 7, 2), 95)
    db.session.commit()

    rows = opendata.maturity_rows()
    [q2] = _cells(rows, quarter="2026-Q2")
    assert q2["organisations"] == 10
    values = [90.0] + [30 + i + pillars().index("data") for i in range(1, 10)]
    assert q2["data_median"] == quartiles(values)[1]
    [q3] = _cells(rows, quarter="2026-Q3")
    assert q3["suppressed"] is True


def test_quarters_follow_vietnam_time(app):
    commune = communes(1)[0]
    # 31 March 2026, 23:30 in Vietnam is 16:30 UTC on the 31st: first quarter. 1 April 00:30 is the second.
    for i in range(10):
        submit(make_org("enterprise", "G", commune), at(2026, 3, 31, 23) + dt.timedelta(minutes=30), 50)
        submit(make_org("enterprise", "F", commune), at(2026, 4, 1, 0) + dt.timedelta(minutes=30 + i), 50)
    db.session.commit()
    quarters = {(row["sector"], row["quarter"]) for row in opendata.maturity_rows()}
    assert quarters == {("G", "2026-Q1"), ("F", "2026-Q2")}


def test_the_running_quarter_is_never_published(app):
    commune = communes(1)[0]
    now = dt.datetime.now(dt.UTC)
    programme = make_programme(code="DX-NOW")
    for i in range(12):
        organisation = make_org("enterprise", "G", commune)
        submit(organisation, now - dt.timedelta(seconds=i + 1), 50)
        make_application(organisation, programme, submitted=now - dt.timedelta(seconds=i + 1))
    db.session.commit()
    assert opendata.maturity_rows() == [] and opendata.uptake_rows() == []
    assert opendata.published_until() <= now < opendata.quarter_start(opendata.next_quarter(opendata.quarter_of(now)))


# Uptake -----------------------------------------------------------------------------------------------


def _completed(programme, n: int, month: tuple[int, int], paid: int):
    for _ in range(n):
        make_application(make_org(), programme, submitted=at(*month, day=2),
                         steps=[("start_review", at(*month, day=3)), ("recommend", at(*month, day=4)),
                                ("approve", at(*month, day=5)), ("complete", at(*month, day=20))],
                         approved_vnd=paid, disbursed_vnd=paid)


def test_uptake_hides_a_small_quarter_and_a_complementary_one_so_the_public_total_reveals_nothing(app, client):
    programme = make_programme(code="DX-VOUCHER", budget_vnd=10_000_000_000)
    _completed(programme, 3, (2026, 1), 7_000_000)     # 3 organisations: must be hidden
    _completed(programme, 12, (2026, 4), 10_000_000)   # 12: the next smallest, hidden as its complement
    _completed(programme, 15, (2026, 7), 20_000_000)   # 15: published
    db.session.commit()

    rows = {row["quarter"]: row for row in opendata.uptake_rows("vi")}
    assert rows["2026-Q1"]["suppressed"] is True
    assert all(rows["2026-Q1"][key] is None for key in
               ("organisations", "applications_submitted", "applications_approved", "approved_vnd",
                "applications_completed", "disbursed_vnd"))
    assert rows["2026-Q2"]["suppressed"] is False and rows["2026-Q2"]["organisations"] == 12
    for key in ("applications_submitted", "applications_approved", "approved_vnd", "applications_completed",
                "disbursed_vnd"):
        assert rows["2026-Q2"][key] is None, key
    assert rows["2026-Q3"]["disbursed_vnd"] == 15 * 20_000_000
    assert rows["2026-Q3"]["applications_completed"] == 15

    # The programme's total paid out is public on the catalogue page...
    db.session.refresh(programme)
    assert programme.disbursed_vnd == 3 * 7_000_000 + 12 * 10_000_000 + 15 * 20_000_000
    page = client.get(f"/catalogue/programmes/{programme.id}")
    assert page.status_code == 200
    assert f"{programme.disbursed_vnd:,}".replace(",", ".") in page.get_data(as_text=True)
    # ...yet subtracting what open data publishes leaves two quarters together, never the small one alone.
    published = sum(row["disbursed_vnd"] or 0 for row in rows.values())
    remainder = programme.disbursed_vnd - published
    assert remainder == 3 * 7_000_000 + 12 * 10_000_000
    assert remainder != 3 * 7_000_000
    hidden = [row for row in rows.values() if row["disbursed_vnd"] is None]
    assert len(hidden) == 2


def test_uptake_hides_a_measure_about_fewer_than_ten_organisations_inside_a_published_row(app):
    programme = make_programme(code="DX-SMALL-APPROVALS")
    for i in range(14):
        steps = [("start_review", at(2026, 5, 3)), ("recommend", at(2026, 5, 4)), ("approve", at(2026, 5, 5))] \
            if i < 4 else [("start_review", at(2026, 5, 3))]
        make_application(make_org(), programme, submitted=at(2026, 5, 2), steps=steps, approved_vnd=5_000_000)
    db.session.commit()
    [row] = opendata.uptake_rows("en")
    assert row["organisations"] == 14 and row["applications_submitted"] == 14
    assert row["applications_approved"] is None and row["approved_vnd"] is None
    assert row["applications_completed"] == 0 and row["disbursed_vnd"] == 0
    assert row["programme_name"].startswith("Support programme")


# No personal data ---------------------------------------------------------------------------------------


def test_no_output_contains_names_tax_codes_contacts_ids_or_free_text(app, client):
    commune = communes(1)[0]
    owner = UserFactory(full_name="Lê Văn Chủ Sở Hữu", email="chu.so.huu@example.vn")
    organisations = _cell_of(12, commune, "G", "household_business", (2026, 8), 55)
    programme = make_programme(code="DX-PRIVACY")
    for organisation in organisations:
        make_application(organisation, programme, submitted=at(2026, 8, 2))
    db.session.commit()
    secrets = [owner.full_name, owner.email]
    for organisation in db.session.query(Organisation):
        secrets += [organisation.name, organisation.tax_code, organisation.contact_name, organisation.contact_email,
                    organisation.contact_phone, organisation.address]
    secrets += [user.email for user in db.session.query(User)]
    secrets += ["Dự án bí mật", "Mô tả riêng tư", "Ghi chú nội bộ bí mật"]

    for dataset in opendata.DATASETS:
        allowed = {field.name for field in opendata.DATASETS[dataset].fields}
        for lang in ("vi", "en"):
            document = json.loads(body_text(client.get(f"/open-data/{dataset}.json?lang={lang}")))
            assert document["rows"], dataset
            for row in document["rows"]:
                assert set(row) == allowed
            csv_text = body_text(client.get(f"/open-data/{dataset}.csv?lang={lang}"))
            json_text = json.dumps(document, ensure_ascii=False)
            for secret in secrets:
                assert secret not in json_text, (dataset, secret)
                assert secret not in csv_text, (dataset, secret)
    organisation_ids = {str(o.id) for o in organisations}
    for row in opendata.maturity_rows() + opendata.uptake_rows():
        assert not {"id", "organisation_id", "name", "tax_code"} & set(row)
        assert not organisation_ids & {str(value) for key, value in row.items() if key.endswith("_id")}


# Downloads: format, cache, headers ---------------------------------------------------------------------


@pytest.fixture
def published_cell(app):
    _cell_of(10, communes(1)[0], "G", "enterprise", (2026, 2), 40)
    db.session.commit()


def test_csv_is_utf8_with_bom_and_its_header_follows_the_language(client, published_cell):
    vi = csv_rows(client.get("/open-data/maturity.csv?lang=vi"))
    en = csv_rows(client.get("/open-data/maturity.csv?lang=en"))
    assert vi[0][0] == "Quý" and en[0][0] == "Quarter"
    assert en[0] == [field.label["en"] for field in opendata.DATASETS["maturity"].fields]
    assert len(vi) == len(en) == 2
    assert en[1][0] == "2026-Q1" and en[1][-1] == "false"
    response = client.get("/open-data/uptake.csv?lang=en")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]


def test_downloads_carry_cache_headers_and_answer_304_to_their_etag(client, published_cell):
    response = client.get("/open-data/maturity.json?lang=en")
    assert response.status_code == 200
    cache_control = response.headers["Cache-Control"]
    assert "public" in cache_control and "max-age=3600" in cache_control
    assert "no-store" not in cache_control
    etag = response.headers["ETag"]
    assert etag and response.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get("/open-data/maturity.json?lang=en", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    # Another language is another file, with another entity tag.
    other = client.get("/open-data/maturity.json?lang=vi")
    assert other.headers["ETag"] != etag


def test_logged_in_visitors_get_the_same_public_file(client, published_cell):
    from tests.application_helpers import login

    login(client, UserFactory())
    response = client.get("/open-data/maturity.json?lang=vi")
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public")


def test_gzip_is_sent_to_clients_that_accept_it(client, published_cell):
    plain = client.get("/open-data/maturity.json?lang=en")
    packed = client.get("/open-data/maturity.json?lang=en", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert packed.headers["ETag"] != plain.headers["ETag"]


def test_a_new_submission_changes_the_etag_and_the_figures(app, client, published_cell):
    first = client.get("/open-data/maturity.json?lang=en")
    submit(make_org("enterprise", "G", communes(1)[0]), at(2026, 2, 20), 90)
    db.session.commit()
    second = client.get("/open-data/maturity.json?lang=en", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    [row] = json.loads(second.get_data())["rows"]
    assert row["organisations"] == 11


def test_the_running_quarter_and_other_profile_edits_leave_the_published_file_as_it_is(app, client, published_cell):
    first = client.get("/open-data/maturity.json?lang=en")
    organisation = make_org("enterprise", "G", communes(1)[0])
    submit(organisation, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), 70)
    db.session.query(Organisation).filter(Organisation.id != organisation.id).update({"employees": 42})
    db.session.commit()
    again = client.get("/open-data/maturity.json?lang=en", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_a_cached_download_is_served_without_computing_again(app, client, published_cell):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    client.get("/open-data/maturity.json?lang=en")
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.get("/open-data/maturity.json?lang=en")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert not any("assessment_pillar_score" in s or "row_number" in s.lower() for s in statements), statements
    assert len(statements) <= 2  # only the dataset's version stamp


def test_bad_language_is_a_400_and_unknown_datasets_404(client):
    assert client.get("/open-data/maturity.json?lang=fr").status_code == 400
    assert client.get("/open-data/secrets.json").status_code == 404
    assert client.get("/open-data/maturity.xml").status_code == 404


def test_the_page_explains_the_data_licence_dictionary_and_rule(client):
    response = client.get("/open-data/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "CC BY 4.0" in page and "https://creativecommons.org/licenses/by/4.0/" in page
    for dataset in opendata.DATASETS.values():
        for field in dataset.fields:
            assert f"<code>{field.name}</code>" in page
        assert f"/open-data/{dataset.name}.csv?lang=vi" in page
        assert f"/open-data/{dataset.name}.json?lang=vi" in page
    assert str(opendata.MIN_CELL) in page


def test_the_page_in_english(client):
    from tests.application_helpers import login

    login(client, UserFactory(locale="en"))
    page = client.get("/open-data/").get_data(as_text=True)
    assert "Open data" in page and "Licence" in page
    assert "lang=en" in page


def test_datasets_describe_every_field_in_both_languages():
    for dataset in opendata.DATASETS.values():
        names = [field.name for field in dataset.fields]
        assert len(names) == len(set(names))
        assert dataset.licence["id"] == "CC-BY-4.0"
        for field in dataset.fields:
            assert field.type in {"string", "integer", "number", "boolean"}
            assert field.label["vi"] and field.label["en"] and field.description["vi"] and field.description["en"]
        described = dataset.to_dict("en")
        assert described["min_cell"] == opendata.MIN_CELL and described["fields"][0]["name"] == "quarter"


def test_data_version_changes_when_a_profile_moves_but_the_ended_quarter_stays_as_published(app):
    # Before snapshots this test expected the moved organisations to follow their new profile into another
    # cell of an ended quarter: that was the differencing gap (issue 7). Published quarters are now frozen.
    organisations = _cell_of(10, communes(1)[0], "G", "enterprise", (2026, 2), 40)
    db.session.commit()
    before = opendata.data_version()
    assert opendata.maturity_rows()[0]["sector"] == "G"
    for organisation in organisations:
        organisation.sector = "C"
    db.session.commit()
    assert opendata.data_version() != before
    assert opendata.maturity_rows()[0]["sector"] == "G"


# Publication: frozen quarters, published once -------------------------------------------------------------


def _snapshots(dataset: str = "maturity") -> list[OpenDataSnapshot]:
    return list(db.session.scalars(select(OpenDataSnapshot).where(OpenDataSnapshot.dataset == dataset)
                                   .order_by(OpenDataSnapshot.quarter)))


def test_moving_after_the_quarter_ended_changes_no_published_figure(app, client):
    commune_a, commune_b = communes(2)
    organisations = _cell_of(12, commune_a, "G", "enterprise", (2026, 2), 40)
    _cell_of(10, commune_b, "C", "household_business", (2026, 2), 60)
    db.session.commit()
    first = client.get("/open-data/maturity.json?lang=en")
    rows = json.loads(first.get_data())["rows"]
    # Two organisations of the first cell move to the second cell's commune, sector and kind: were the
    # quarter recomputed, cell A would drop to 10 and cell B rise to 12, giving away the two movers' scores.
    for organisation in organisations[:2]:
        organisation.commune_code, organisation.sector = commune_b, "C"
        organisation.kind = OrganisationKind.HOUSEHOLD_BUSINESS
    db.session.commit()
    again = client.get("/open-data/maturity.json?lang=en", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert opendata.maturity_rows("en") == rows
    assert [row["organisations"] for row in rows] == [12, 10]
    csv_text = body_text(client.get("/open-data/maturity.csv?lang=en"))
    assert csv_text.count("2026-Q1") == 2


def test_a_late_submission_republishes_the_quarter_and_members_keep_their_cell(app):
    commune_a, commune_b = communes(2)
    organisations = _cell_of(10, commune_a, "G", "enterprise", (2026, 2), 40)
    db.session.commit()
    assert opendata.publish_missing() == [20261]
    organisations[0].commune_code = commune_b
    db.session.commit()
    # An import brings a submission dated in the ended quarter: the quarter is published again, with the
    # newcomer in its current cell and every earlier member in the cell it was published in.
    submit(make_org("enterprise", "G", commune_a), at(2026, 3, 20), 90)
    db.session.commit()
    assert opendata.publish_missing() == [20261]
    [row] = opendata.maturity_rows()
    assert (row["commune_code"], row["organisations"]) == (commune_a, 11)
    members = db.session.scalars(select(OpenDataMember).where(OpenDataMember.quarter == 20261)).all()
    assert len(members) == 11 and {m.commune_code for m in members} == {commune_a}


def test_lazy_publication_happens_once_and_later_requests_only_read(app, client):
    _cell_of(10, communes(1)[0], "G", "enterprise", (2026, 2), 40)
    _cell_of(10, communes(1)[0], "G", "enterprise", (2026, 5), 50)
    db.session.commit()
    assert _snapshots() == []
    assert client.get("/open-data/maturity.json?lang=vi").status_code == 200
    published = {(s.quarter, s.digest, s.created_at, s.updated_at) for s in _snapshots()}
    assert {q for q, *_rest in published} == {20261, 20262}
    opendata.clear_cache()
    for lang in ("vi", "en"):
        assert client.get(f"/open-data/maturity.json?lang={lang}").status_code == 200
    db.session.expire_all()
    assert {(s.quarter, s.digest, s.created_at, s.updated_at) for s in _snapshots()} == published
    assert opendata.publish_missing() == []
    assert opendata.publish_quarter(20261) is False


def test_concurrent_publishers_write_each_quarter_once(app):
    _cell_of(10, communes(1)[0], "G", "enterprise", (2026, 2), 40)
    db.session.commit()
    barrier = threading.Barrier(3)
    results: list[object] = []

    def publisher():
        with app.app_context():
            barrier.wait()
            try:
                results.append(opendata.publish_missing())
            except Exception as error:
                results.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=publisher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(1 for r in results if r == [20261]) == 1
    db.session.expire_all()
    assert [s.quarter for s in _snapshots()] == [20261]
    assert db.session.scalar(select(func.count()).select_from(OpenDataMember)) == 10
    assert opendata.maturity_rows()[0]["organisations"] == 10


def test_suppression_is_applied_before_the_figures_are_stored(app):
    commune_a, commune_b, commune_c = communes(3)
    _cell_of(10, commune_a, "G", "enterprise", (2026, 2), 40)
    _cell_of(9, commune_b, "G", "enterprise", (2026, 2), 40)
    _cell_of(1, commune_c, "A", "cooperative", (2026, 5), 70)
    db.session.commit()
    opendata.publish_missing()
    stored = [row for snapshot in _snapshots() for row in snapshot.cells["rows"]]
    assert len(stored) == 3
    for _commune, _sector, _kind, count, overall, figures in stored:
        assert count is None or count >= opendata.MIN_CELL
        if count is None:
            assert overall is None and figures is None
    # The stored files hold the published figures only: no count of 1 to 9, no hidden mean.
    opendata.prepare_files()
    for stored_file in db.session.scalars(select(OpenDataFile).where(OpenDataFile.fmt == "json")):
        document = json.loads(gzip.decompress(stored_file.body))
        for row in document.get("rows", []):
            assert row["organisations"] is None or row["organisations"] >= opendata.MIN_CELL


def test_the_running_quarter_cannot_be_published(app):
    running = opendata.quarter_of(dt.datetime.now(dt.UTC))
    with pytest.raises(ValueError):
        opendata.publish_quarter(running)


def test_the_publish_command_freezes_the_ended_quarters_and_writes_the_files(app, runner):
    from app.cli_opendata import opendata_cli

    _cell_of(10, communes(1)[0], "G", "enterprise", (2026, 2), 40)
    db.session.commit()
    result = runner.invoke(opendata_cli, ["publish"])
    assert result.exit_code == 0, result.output
    assert "2026-Q1" in result.output
    db.session.expire_all()
    assert [s.quarter for s in _snapshots()] == [20261]
    assert db.session.scalar(select(func.count()).select_from(OpenDataFile)) == 2 * 2 * len(opendata.DATASETS)
    again = runner.invoke(opendata_cli, ["publish"])
    assert "Quarters published: none. Files written: 0." in again.output
