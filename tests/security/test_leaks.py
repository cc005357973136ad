"""No page that is open to anyone, or to any logged-in user about themselves, shows another organisation's
data: every public and "self" GET route of ``app.url_map`` (tests/security/allow_list.py), opened anonymously,
by organisation B's owner and by a partner, never shows A's name, people, project or plan (the world's marker
texts) — the open data included, which is published anonymised.

The routes that name an object are tested in test_ownership.py; staff pages show every organisation by design.
"""

from __future__ import annotations

import pytest

from tests.security.allow_list import ALLOW_LIST, PUBLIC, SELF
from tests.security.helpers import RULES, keeper_fixtures, login, rule_id, url, values_for

OPEN_RULES = [r for r in RULES if "GET" in r.methods and ALLOW_LIST.get(r.endpoint) in (PUBLIC, SELF)]

#: One world for the module: these pages only read.
keeper, _clean_state, world = keeper_fixtures(strict=False)


@pytest.mark.parametrize("rule", OPEN_RULES, ids=[rule_id(r) for r in OPEN_RULES])
def test_open_pages_show_nothing_of_another_organisation(app, client, world, rule):
    target = url(app, rule, values_for(rule, world, "B"))
    for label, user_id in (("anonymous", None), ("member of B", world.b.owner_id),
                           ("partner", world.b.partner_user_id)):
        login(client, user_id)
        response = client.get(target)
        assert response.status_code < 500, f"{label} GET {target}: {response.status_code}"
        page = response.get_data(as_text=True)
        leaked = [secret for secret in world.a.secrets if secret and secret in page]
        assert not leaked, f"{label} GET {target} shows A's {leaked}"
    # The check can see a leak: B's own pages do show B's name where they list the user's organisations.
    if rule.endpoint == "organisations.list_mine":
        login(client, world.b.owner_id)
        assert world.b.secrets[1] in client.get(target).get_data(as_text=True)
