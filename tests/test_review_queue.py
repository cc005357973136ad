"""The staff queue: who may open it, every filter really filtering, sorting, pagination, the overdue
badge, the counts per state, the query budget, and the CSV export of exactly what the filter shows."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask_babel import force_locale, gettext

from app.models import Role
from app.models.application import ApplicationStatus
from app.models.organisation import OrganisationKind
from tests.application_helpers import login, make_programme, make_user
from tests.review_helpers import commune_codes, count_queries, make_application, make_org

S = ApplicationStatus
ROW_ID = re.compile(r">#(\d+)</a>")


@pytest.fixture
def staff(client):
    """A reviewer reading the portal in English, logged in."""
    user = make_user(Role.REVIEWER, locale="en", full_name="Reviewer Rita")
    login(client, user)
    return user


@pytest.fixture
def programme():
    return make_programme(code="PRG-QUEUE")


def ids_on(response) -> list[int]:
    assert response.status_code == 200, response.status_code
    return [int(value) for value in ROW_ID.findall(response.get_data(as_text=True))]


def queue(client, **params):
    return client.get("/review/", query_string=params)


# Access -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/review/", "/review/export.csv"])
def test_business_users_and_partners_are_refused(client, path):
    login(client, make_user(Role.BUSINESS, Role.PARTNER))
    assert client.get(path).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/review/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.APPROVER, Role.ADMIN])
def test_every_staff_role_opens_the_queue(client, programme, role):
    login(client, make_user(role, locale="en"))
    application = make_application(make_org(), programme)
    assert ids_on(queue(client)) == [application.id]


# Default view, states and counts ----------------------------------------------------------------


def test_default_shows_the_states_where_staff_act_waiting_longest_first(client, staff, programme):
    org = make_org()
    submitted = make_application(org, programme, S.SUBMITTED, days_waiting=5)
    in_review = make_application(org, programme, S.IN_REVIEW, days_waiting=12)
    recommended = make_application(org, programme, S.RECOMMENDED, days_waiting=2)
    approved = make_application(org, programme, S.APPROVED, days_waiting=1)
    make_application(org, programme, S.INFO_REQUESTED, days_waiting=30)
    make_application(org, programme, S.REJECTED, days_waiting=40)
    make_application(org, programme, S.DRAFT, days_waiting=50)
    assert ids_on(queue(client)) == [in_review.id, submitted.id, recommended.id, approved.id]


def test_state_filter_and_all_states_never_show_drafts(client, staff, programme):
    org = make_org()
    submitted = make_application(org, programme, S.SUBMITTED, days_waiting=5)
    info = make_application(org, programme, S.INFO_REQUESTED, days_waiting=30)
    rejected = make_application(org, programme, S.REJECTED, days_waiting=40)
    make_application(org, programme, S.DRAFT, days_waiting=50)
    assert ids_on(queue(client, state="info_requested")) == [info.id]
    assert ids_on(queue(client, state="rejected")) == [rejected.id]
    assert ids_on(queue(client, state="all")) == [rejected.id, info.id, submitted.id]
    assert queue(client, state="draft").status_code == 400


def test_counts_per_state_follow_the_other_filters(client, staff, programme):
    other = make_programme(code="PRG-OTHER")
    org = make_org()
    for _ in range(3):
        make_application(org, programme, S.SUBMITTED)
    make_application(org, programme, S.IN_REVIEW)
    make_application(org, other, S.IN_REVIEW)
    make_application(org, programme, S.REJECTED)
    text = queue(client, programme=str(programme.id)).get_data(as_text=True)
    counts = dict(re.findall(r'>([^<>]+?) <span class="count">(\d+)</span>', text))
    assert counts["Submitted"] == "3"
    assert counts["In review"] == "1"
    assert counts["Rejected"] == "1"
    assert counts["Waiting for the department"] == "4"
    assert counts["All states"] == "5"


# Each filter --------------------------------------------------------------------------------------


def test_programme_filter(client, staff, programme):
    other = make_programme(code="PRG-OTHER")
    org = make_org()
    mine = make_application(org, programme)
    make_application(org, other)
    assert ids_on(queue(client, programme=str(programme.id))) == [mine.id]
    assert queue(client, programme="999999").status_code == 400


def test_commune_filter(client, staff, programme):
    first, second = commune_codes(2)
    here = make_application(make_org(commune=first), programme)
    make_application(make_org(commune=second), programme)
    make_application(make_org(commune=None), programme)
    assert ids_on(queue(client, commune=first)) == [here.id]


def test_sector_filter(client, staff, programme):
    farm = make_application(make_org(sector="A"), programme)
    make_application(make_org(sector="G"), programme)
    assert ids_on(queue(client, sector="A")) == [farm.id]


def test_organisation_kind_filter(client, staff, programme):
    coop = make_application(make_org(kind=OrganisationKind.COOPERATIVE), programme)
    make_application(make_org(kind=OrganisationKind.ENTERPRISE), programme)
    make_application(make_org(kind=OrganisationKind.HOUSEHOLD_BUSINESS), programme)
    assert ids_on(queue(client, kind="cooperative")) == [coop.id]


def test_waiting_time_filter(client, staff, programme):
    org = make_org()
    old = make_application(org, programme, days_waiting=15)
    make_application(org, programme, days_waiting=3)
    assert ids_on(queue(client, waiting="10")) == [old.id]
    assert queue(client, waiting="abc").status_code == 400
    assert queue(client, waiting="0").status_code == 400


def test_assigned_filter(client, staff, programme):
    colleague = make_user(Role.REVIEWER)
    org = make_org()
    mine = make_application(org, programme, reviewer=staff, days_waiting=3)
    theirs = make_application(org, programme, reviewer=colleague, days_waiting=2)
    nobody = make_application(org, programme, days_waiting=1)
    assert ids_on(queue(client, assigned="me")) == [mine.id]
    assert ids_on(queue(client, assigned="unassigned")) == [nobody.id]
    assert ids_on(queue(client)) == [mine.id, theirs.id, nobody.id]


def test_search_by_organisation_name_or_application_number(client, staff, programme):
    tran = make_application(make_org(name="Hợp tác xã TRẦN Gia"), programme, days_waiting=3)
    other = make_application(make_org(name="Công ty Bình Minh"), programme, days_waiting=2)
    assert ids_on(queue(client, q="trần gia")) == [tran.id]
    assert ids_on(queue(client, q=f"#{other.id}")) == [other.id]
    assert ids_on(queue(client, q="100%")) == []


# Sorting, pagination, overdue ---------------------------------------------------------------------


def test_sorting(client, staff, programme):
    beta = make_programme(code="PRG-BETA")
    alpha = make_programme(code="PRG-ALPHA")
    org = make_org()
    a = make_application(org, beta, days_waiting=9, submitted_days_ago=9, requested_vnd=5_000_000)
    b = make_application(org, alpha, days_waiting=1, submitted_days_ago=1, requested_vnd=20_000_000)
    c = make_application(org, programme, days_waiting=4, submitted_days_ago=4, requested_vnd=12_000_000)
    assert ids_on(queue(client)) == [a.id, c.id, b.id]
    assert ids_on(queue(client, sort="newest")) == [b.id, c.id, a.id]
    assert ids_on(queue(client, sort="amount")) == [b.id, c.id, a.id]
    assert ids_on(queue(client, sort="programme")) == [b.id, a.id, c.id]
    assert queue(client, sort="random()").status_code == 400


def test_pagination_uses_the_page_size_setting(app, client, staff, programme, monkeypatch):
    monkeypatch.setitem(app.config, "REVIEW_PAGE_SIZE", 5)
    org = make_org()
    states = [S.SUBMITTED, S.IN_REVIEW, S.RECOMMENDED, S.APPROVED]
    created = [make_application(org, programme, states[i % 4], days_waiting=30 - i, commit=False) for i in range(12)]
    from app.extensions import db

    db.session.commit()
    expected = [application.id for application in created]
    pages = [ids_on(queue(client, page=str(number))) for number in (1, 2, 3)]
    assert pages[0] == expected[:5] and pages[1] == expected[5:10] and pages[2] == expected[10:]
    first = queue(client).get_data(as_text=True)
    assert "Page 1 of 3" in first and 'rel="next"' in first
    assert ids_on(queue(client, page="99")) == expected[10:]  # past the end: the last page


@pytest.mark.parametrize("sort", ["waiting", "newest", "amount", "programme"])
def test_pages_never_overlap_nor_skip_even_with_ties(app, client, staff, programme, monkeypatch, sort):
    monkeypatch.setitem(app.config, "REVIEW_PAGE_SIZE", 4)
    org = make_org()
    states = [S.SUBMITTED, S.IN_REVIEW, S.RECOMMENDED, S.APPROVED, S.REJECTED]
    created = [make_application(org, programme, states[i % 5], days_waiting=5, submitted_days_ago=5,
                                requested_vnd=10_000_000, commit=False) for i in range(14)]
    from app.extensions import db

    tie = created[0].status_changed_at
    for application in created:  # the same sort key everywhere: only the id orders them
        application.status_changed_at = application.submitted_at = tie
    db.session.commit()
    seen = [ids_on(queue(client, state="all", sort=sort, page=str(n))) for n in (1, 2, 3, 4)]
    flat = [number for page in seen for number in page]
    assert [len(page) for page in seen] == [4, 4, 4, 2]
    assert sorted(flat) == sorted(a.id for a in created)


def test_overdue_badge_only_for_staff_states_waiting_too_long(app, client, staff, programme, monkeypatch):
    monkeypatch.setitem(app.config, "REVIEW_OVERDUE_DAYS", 10)
    org = make_org()
    late = make_application(org, programme, S.SUBMITTED, days_waiting=11)
    make_application(org, programme, S.IN_REVIEW, days_waiting=3)
    make_application(org, programme, S.REJECTED, days_waiting=40)
    text = queue(client, state="all").get_data(as_text=True)
    assert text.count('class="badge badge-overdue"') == 1
    row = text[text.index(f">#{late.id}</a>"):]
    assert row.index("badge-overdue") < row.index("</tr>")
    monkeypatch.setitem(app.config, "REVIEW_OVERDUE_DAYS", 20)
    assert 'class="badge badge-overdue"' not in queue(client).get_data(as_text=True)


# Query budget --------------------------------------------------------------------------------------


def test_queue_page_stays_within_ten_queries(client, staff, programme):
    reviewers = [make_user(Role.REVIEWER, full_name=f"Reviewer {i}") for i in range(3)]
    other = make_programme(code="PRG-TWO")
    codes = commune_codes(3)
    orgs = [make_org(commune=codes[i % 3], sector="ACG"[i % 3]) for i in range(12)]
    states = [S.SUBMITTED, S.IN_REVIEW, S.RECOMMENDED, S.APPROVED, S.INFO_REQUESTED]
    for i in range(65):
        make_application(orgs[i % 12], (programme, other)[i % 2], states[i % 5], days_waiting=i % 20,
                         reviewer=reviewers[i % 3] if i % 4 else None, commit=False)
    from app.extensions import db

    db.session.commit()
    for params in ({}, {"state": "all", "sort": "programme"}, {"commune": codes[0], "sector": "A", "q": "Công ty"},
                   {"page": "2"}):
        with count_queries() as statements:
            response = queue(client, **params)
        assert response.status_code == 200
        assert len(statements) <= 10, statements


# CSV export ---------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:10]
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_csv_export_content(app, client, staff, programme, monkeypatch):
    monkeypatch.setitem(app.config, "REVIEW_PAGE_SIZE", 2)
    commune = commune_codes(1)[0]
    good = make_org(name="Hợp tác xã Nông nghiệp Đồng Tâm", kind=OrganisationKind.COOPERATIVE, commune=commune,
                    sector="A")
    evil = make_org(name="=HYPERLINK(\"http://evil.example\",\"click\")", commune=commune, sector="A")
    plus = make_org(name="+84 Cửa hàng", commune=commune, sector="A")
    minus = make_org(name="-1+2", commune=commune, sector="A")
    at = make_org(name="@SUM(A1)", commune=commune, sector="A")
    tab = make_org(name="\tTab đầu", commune=commune, sector="A")
    first = make_application(good, programme, S.IN_REVIEW, days_waiting=20, reviewer=staff, requested_vnd=15_000_000,
                             recommended_vnd=None)
    for index, org in enumerate((evil, plus, minus, at, tab)):
        make_application(org, programme, S.SUBMITTED, days_waiting=10 - index)
    make_application(make_org(name="Công ty Khác", commune=commune, sector="G"), programme)  # filtered out: sector
    make_application(good, programme, S.REJECTED)  # filtered out: state

    response = client.get("/review/export.csv", query_string={"sector": "A", "commune": commune})
    assert response.mimetype == "text/csv"
    assert "charset=utf-8" in response.headers["Content-Type"]
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = read_csv(response)
    assert rows[0] == ["Application number", "Organisation", "Kind of organisation", "Commune or ward", "Sector",
                       "Programme code", "Programme name", "State", "Requested (đồng)", "Recommended (đồng)",
                       "Approved (đồng)", "Submitted on", "Days waiting", "Reviewer"]
    body = rows[1:]
    assert len(body) == 6  # every page (page size 2), only the filtered rows
    assert body[0][0] == str(first.id)
    assert body[0][1] == "Hợp tác xã Nông nghiệp Đồng Tâm"
    assert body[0][2] == "Cooperative"
    assert body[0][3] == commune_name(app, commune)
    assert body[0][4].startswith("A – ")
    assert body[0][5:8] == ["PRG-QUEUE", programme.name["en"], "In review"]
    assert body[0][8:11] == ["15000000", "", ""]
    assert body[0][12] == "20" and body[0][13] == "Reviewer Rita"
    names = [row[1] for row in body[1:]]
    assert names == ["'=HYPERLINK(\"http://evil.example\",\"click\")", "'+84 Cửa hàng", "'-1+2", "'@SUM(A1)",
                     "'\tTab đầu"]


def commune_name(app, code):
    from app.services import geo

    with app.test_request_context():
        return geo.commune_name(code)


def test_csv_header_follows_the_users_language(app, client, programme):
    login(client, make_user(Role.APPROVER, locale="vi"))
    make_application(make_org(name="Cơ sở Ánh Dương"), programme)
    rows = read_csv(client.get("/review/export.csv"))
    with app.test_request_context(), force_locale("vi"):
        expected = gettext("Application number")
    assert rows[0][0] == expected
    assert rows[1][1] == "Cơ sở Ánh Dương"


def test_csv_export_of_an_invalid_filter_is_refused(client, staff):
    assert client.get("/review/export.csv", query_string={"state": "nonsense"}).status_code == 400


def test_csv_export_query_count_does_not_grow_with_rows(client, staff, programme):
    org = make_org()
    for i in range(40):
        make_application(org, programme, days_waiting=i, commit=False)
    from app.extensions import db

    db.session.commit()
    with count_queries() as statements:
        rows = read_csv(client.get("/review/export.csv"))
    assert len(rows) == 41
    assert len(statements) <= 5, statements
