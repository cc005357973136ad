"""Object ownership, route by route from ``app.url_map``: no object of organisation A is reachable by anyone
who is not its member — B's member, a partner, staff (except where staff may read by design) all get 404 —
whatever ids they put in the URL, for both organisations, with GET and with every form post.

tests/test_access_matrix.py proves the decorators (who may reach a kind of route); this proves the objects
(whose data a route may show or change). The world is two organisations that own one object of every kind
(``helpers.build_world``), rebuilt whenever a test changed it; the refused requests must change nothing (no
audit event) and show nothing of the other organisation; then each owner reaches their own objects, which
proves the ids were real.
"""

from __future__ import annotations

import pytest

from app.models import Role
from app.security import AccessRule
from tests.security.allow_list import (
    ALLOW_LIST,
    PARTNER_OWNED,
    PUBLIC,
    SELF,
    STAFF,
    STAFF_READABLE,
    STAFF_ROLES,
    TOKEN,
    USER_OWNED,
    is_owned,
)
from tests.security.helpers import (
    RULES,
    World,
    access_rule,
    arguments,
    audit_count,
    is_login_redirect,
    keeper_fixtures,
    login,
    methods,
    rule_id,
    url,
    values_for,
)

OWNED = [(rule, method) for rule in RULES if is_owned(rule) for method in methods(rule)]


def _pair_id(pair) -> str:
    rule, method = pair
    return f"{method} {rule_id(rule)}"


#: One world for the module, rebuilt after any test whose requests changed something (an owner's form post).
keeper, _clean_state, world = keeper_fixtures(strict=True)


# The list is complete and true ------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=[rule_id(r) for r in RULES])
def test_every_route_is_classified(rule):
    """A route names an owned object or is in the allow-list (not both), and the list matches its decorator."""
    owned, listed = is_owned(rule), rule.endpoint in ALLOW_LIST
    assert owned != listed, (f"{rule_id(rule)}: " + ("owned and allow-listed: drop it from ALLOW_LIST" if owned else
                             "neither owned nor in tests/security/allow_list.py: classify it"))
    if owned:
        return
    rule_of_access = access_rule(rule.endpoint)
    assert isinstance(rule_of_access, AccessRule), rule.endpoint
    kind = ALLOW_LIST[rule.endpoint]
    if kind == PUBLIC:
        assert rule_of_access.kind == "public", f"{rule.endpoint} is listed public but is {rule_of_access.kind}"
    elif kind == SELF:
        assert rule_of_access.kind in ("login", "roles"), rule.endpoint
        assert not any(name.endswith("_id") for name, _c, _a in arguments(rule)), (
            f"{rule.endpoint} takes an id: it is not only about the user themselves")
    elif kind == STAFF:
        assert rule_of_access.kind == "roles" and rule_of_access.roles <= STAFF_ROLES, (
            f"{rule.endpoint} is listed staff-wide but lets in {sorted(rule_of_access.roles)}")
    else:
        assert kind == TOKEN and rule_of_access.kind == "token", rule.endpoint


def test_the_allow_list_names_only_live_routes():
    live = {r.endpoint for r in RULES}
    assert set(ALLOW_LIST) - live == set(), "stale entries in tests/security/allow_list.py"
    assert live >= (USER_OWNED | PARTNER_OWNED | STAFF_READABLE)


# Nobody but the owner ------------------------------------------------------------------------------


def _owner(rule, world: World, side: str) -> int:
    """Who legitimately reaches ``side``'s object through ``rule``."""
    chosen = world.side(side)
    return chosen.partner_user_id if rule.endpoint in PARTNER_OWNED else chosen.owner_id


def _outsiders(rule, world: World, side: str) -> list[tuple[str, int, set[Role]]]:
    """Everyone who must not reach ``side``'s object through ``rule``: (label, user id, roles)."""
    mine, other = world.side(side), world.side("B" if side == "A" else "A")
    people = [
        (f"member of {other.key}", other.owner_id, {Role.BUSINESS}),
        (f"partner user of {other.key}'s partner", other.partner_user_id, {Role.PARTNER}),
        ("reviewer", world.reviewer_id, {Role.REVIEWER}),
        ("approver", world.approver_id, {Role.APPROVER}),
        ("admin", world.admin_id, {Role.ADMIN}),
    ]
    if rule.endpoint in USER_OWNED | PARTNER_OWNED:
        # What belongs to the owner (their notification) or to a partner company is not the organisation's:
        # a plain member of the owner's organisation does not reach it either.
        people.append((f"plain member of {mine.key}", mine.member_id, {Role.BUSINESS}))
    if rule.endpoint not in PARTNER_OWNED:
        # (For organisation routes, what a plain member may do is the organisation's own business:
        # tests/test_organisations.py.)
        people.append((f"partner user of {mine.key}'s partner", mine.partner_user_id, {Role.PARTNER}))
    return people


def _expected(rule, method: str, roles: set[Role]) -> set[int]:
    """The answers an outsider with ``roles`` may get: 404, or 403 when the decorator already refuses."""
    declared = access_rule(rule.endpoint)
    if method == "GET" and rule.endpoint in STAFF_READABLE and roles & STAFF_ROLES:
        return {200}
    if declared.kind == "roles" and not roles & declared.roles:
        return {403}
    return {404}


def _text(response) -> str:
    return response.get_data(as_text=True) if response.mimetype.startswith(("text/", "application/json")) else ""


def _send(app, client, rule, method: str, values: dict):
    return client.open(url(app, rule, values), method=method, data={} if method != "GET" else None)


def _reachable(app, response) -> bool:
    return response.status_code < 500 and response.status_code not in (401, 403, 404) and not is_login_redirect(
        app, response)


@pytest.mark.parametrize("pair", OWNED, ids=[_pair_id(p) for p in OWNED])
def test_only_the_owner_reaches_an_object(app, client, world, pair):
    rule, method = pair
    before = audit_count()
    has_children = any(name != "org_id" for name, _c, _a in arguments(rule)) and rule.rule.startswith(
        "/organisations/<")
    refused = []
    for side in ("A", "B"):
        other = "B" if side == "A" else "A"
        values = values_for(rule, world, side)
        login(client, None)
        response = _send(app, client, rule, method, values)
        assert is_login_redirect(app, response), f"anonymous {method} {rule.rule}: {response.status_code}"
        for label, user_id, roles in _outsiders(rule, world, side):
            login(client, user_id)
            response = _send(app, client, rule, method, values)
            expected = _expected(rule, method, roles)
            assert response.status_code in expected, (
                f"{label} {method} {url(app, rule, values)} ({side}'s object): {response.status_code}, "
                f"expected {sorted(expected)}")
            if expected != {200}:
                refused.append((label, side, response))
        if has_children:
            # Their own organisation in the URL, the other's objects under it.
            mixed = values_for(rule, world, other, child_side=side)
            login(client, world.side(other).owner_id)
            response = _send(app, client, rule, method, mixed)
            assert response.status_code == 404, (
                f"member of {other} {method} {url(app, rule, mixed)} ({side}'s objects under {other}): "
                f"{response.status_code}")
            refused.append((f"member of {other} (own organisation in the URL)", side, response))
    assert audit_count() == before, f"a refused {method} {rule.rule} changed something"
    for label, side, response in refused:
        page = _text(response)
        leaked = [text for text in world.side(side).secrets if text and text in page]
        assert not leaked, f"{label} was refused {side}'s object but the answer shows {leaked}"
    # Each owner reaches their own (last: a form post may change it).
    for side in ("A", "B"):
        login(client, _owner(rule, world, side))
        values = values_for(rule, world, side)
        response = _send(app, client, rule, method, values)
        assert _reachable(app, response), f"the owner {side} {method} {url(app, rule, values)}: {response.status_code}"
