"""Random input to every form of the site, from ``app.url_map``: whatever is posted (text with any unicode
and control characters, huge and negative numbers, empty values, repeated fields, files, junk in the URL's
text arguments), with a valid CSRF token and logged in as someone who may reach the route, the answer is
never a server error. The same for the query strings of every page.

The fields are the ones the pages really render (every page is opened once and its forms read, with their
hidden values and options), so the examples get past the first validation; a route whose form no page
shows gets the field names of every form class. Bounded and reproducible: a fixed number of derandomised
examples per route. The hand-written fuzzers (tests/test_*_fuzz.py) go deeper into single forms.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qs

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.extensions import limiter
from tests.security.helpers import (
    RULES,
    arguments,
    form_field_names,
    harvest_forms,
    is_api,
    keeper_fixtures,
    login,
    pair_id,
    rule_id,
    unsafe_pairs,
    url,
    values_for,
)

POST_PAIRS = unsafe_pairs(api=False)
GET_RULES = [r for r in RULES if "GET" in r.methods and not is_api(r)]
#: No shrinking: a failure reports the first failing example at once (the run is deterministic anyway).
POSTS = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                 phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])
QUERIES = settings(POSTS, max_examples=8)
#: Pages that render a PDF on every request: a few examples are enough (the query string is not read).
SLOW = {"printing.business_letter", "printing.staff_letter", "printing.plan_pdf"}
QUERY_NAMES = ["page", "q", "next", "programme", "report", "status", "kind", "sector", "commune", "role", "sort",
               "year", "date_from", "date_to", "lang", "format", "per_page", "level", "table", "step"]

#: One world for the module, rebuilt only when a post removed one of its objects.
keeper, _clean_state, world = keeper_fixtures(strict=False, all_roles_owner=True)

# Values ---------------------------------------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=120)
control = st.text(st.characters(max_codepoint=0x9F, exclude_categories=["Cs"]), max_size=20)
numbers = st.one_of(st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True)).map(str)
specials = st.sampled_from([
    "", " ", "0", "-1", "-0", "1e309", "NaN", "inf", "9" * 40, "٣٣", "１２３", "50.000.000", "1,5", "0x10", "\x00",
    "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "2026-02-30", "9999-12-31", "0001-01-01",
    "y", "on", "true", "null", "{}", "[]", "%s%n", "\u202e", "a\r\nb", "đ" * 5000, "https://evil.example/",
    "//evil.example", "javascript:alert(1)",
])


def scalar(seen: set[str]):
    choices = [text, control, numbers, specials]
    if seen:
        choices.insert(0, st.sampled_from(sorted(seen)))
    return st.one_of(*choices)


def field_values(seen: set[str]):
    one = scalar(seen)
    return st.one_of(one, one, st.lists(one, max_size=4))


files = st.tuples(st.one_of(st.binary(max_size=300), st.sampled_from([b"%PDF-1.4\n%%EOF\n", b"<html>", b""])),
                  st.one_of(text, st.sampled_from(["a.pdf", "../x.pdf", "", "x.png"])))


def form_data(spec_fields: dict[str, set[str]], file_fields: set[str]):
    """A random subset of the form's fields with random values, some real, plus a few unknown fields."""
    known = st.fixed_dictionaries({}, optional={name: field_values(seen) for name, seen in spec_fields.items()})
    uploads = st.fixed_dictionaries({}, optional={name: st.lists(files, max_size=2) for name in sorted(file_fields)})
    extra = st.dictionaries(st.text(min_size=1, max_size=20), field_values(set()), max_size=2)
    return st.tuples(known, uploads, extra)


# Fixtures -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forms(app, keeper):
    """The forms every page renders, read once for the module (the all-roles user sees all of them)."""
    with app.app_context():
        chosen = keeper.get()
        posts, gets = harvest_forms(app, app.test_client(), chosen, chosen.a.owner_id)
    return posts, gets


@pytest.fixture
def no_rate_limits(monkeypatch):
    """All the examples come from one address; the limits have their own tests (tests/test_rate_limit.py)."""
    monkeypatch.setattr(limiter, "enabled", False)


def test_the_pages_show_most_forms(forms):
    posts, gets = forms
    assert len(posts) > 30, sorted(posts)
    assert gets, "the search forms are GET forms"


def _text_arguments(rule) -> list[str]:
    return [name for name, converter, _args in arguments(rule) if converter in ("default", "string", "path")]


POST_PARAMS = [pytest.param(p, id=pair_id(p)) for p in POST_PAIRS]


@pytest.mark.parametrize("pair", POST_PARAMS)
def test_random_form_posts_never_cause_a_server_error(app, client, world, forms, no_rate_limits, pair):
    rule, method = pair
    spec = forms[0].get(rule.endpoint)
    spec_fields = spec.fields if spec else {name: set() for name in sorted(form_field_names())}
    file_fields = spec.files if spec else set()
    strings = _text_arguments(rule)

    @POSTS
    @given(data=form_data(spec_fields, file_fields), junk=st.lists(st.one_of(text.filter(bool), specials.filter(
        bool)), min_size=len(strings), max_size=len(strings)), use_junk=st.booleans())
    def post(data, junk, use_junk):
        known, uploads, extra = data
        values = values_for(rule, world, "A")
        if use_junk:
            values.update(dict(zip(strings, junk, strict=True)))
        body = {**extra, **known}
        body.pop("csrf_token", None)
        multipart = bool(uploads)
        for name, items in uploads.items():
            body[name] = [(io.BytesIO(content), filename) for content, filename in items]
        login(client, world.a.owner_id)
        response = client.open(url(app, rule, values), method=method, data=body,
                               content_type="multipart/form-data" if multipart else None)
        assert response.status_code < 500, f"{method} {rule.rule} with {body!r}: {response.status_code}"

    post()


@pytest.mark.parametrize("rule", GET_RULES, ids=[rule_id(r) for r in GET_RULES])
def test_random_query_strings_never_cause_a_server_error(app, client, world, forms, no_rate_limits, rule):
    spec = forms[1].get(rule.endpoint)
    names: dict[str, set[str]] = {key: set() for key in QUERY_NAMES}
    if spec:
        names.update(spec.fields)
    strategy = st.fixed_dictionaries({}, optional={name: field_values(seen) for name, seen in names.items()})
    chosen = settings(QUERIES, max_examples=3) if rule.endpoint in SLOW else QUERIES

    @chosen
    @given(query=strategy)
    def get(query):
        login(client, world.a.owner_id)
        target, _, fixed = url(app, rule, values_for(rule, world, "A")).partition("?")
        response = client.get(target, query_string={**parse_qs(fixed), **query})
        assert response.status_code < 500, f"GET {target} with {query!r}: {response.status_code}"

    get()


@pytest.mark.parametrize("version", ["", "abc", "1.5", "9" * 30 + "x"])
def test_withdraw_with_a_version_that_is_not_a_number_is_a_conflict_not_a_crash(app, client, world, version):
    """The short version of the fuzzer's finding: a page whose hidden version field was edited or dropped
    (no version at all is "not checked", as ``workflow.check_version`` treats it)."""
    login(client, world.b.owner_id)
    target = f"/organisations/{world.b.org_id}/applications/{world.b.draft_id}/withdraw"
    response = client.post(target, data={"version": version, "confirm": "y"})
    assert response.status_code in ((303, 400, 409) if version == "" else (400, 409))
