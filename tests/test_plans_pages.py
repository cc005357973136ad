"""The action plan pages through the browser's eyes: making the plan, reading it, changing items, adding
and removing the business's own, versions, and who may see any of it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActionPlan, AuditEvent, ItemSource, ItemStatus, PlanItem, PlanStatus, Role
from app.services import plans
from tests.factories import UserFactory
from tests.plans_helpers import enterprise, household, login, plan_catalogue, submit


@pytest.fixture
def owner():
    return UserFactory(locale="en")


@pytest.fixture
def shop(owner):
    plan_catalogue()
    return household(owner)


def base(organisation) -> str:
    return f"/organisations/{organisation.id}/plans"


def show_url(plan) -> str:
    return f"/organisations/{plan.organisation_id}/plans/{plan.id}"


def item_url(plan, item, action: str) -> str:
    return f"{show_url(plan)}/items/{item.id}/{action}"


def create(client, organisation) -> ActionPlan:
    response = client.post(f"{base(organisation)}/refresh", data={})
    assert response.status_code == 303
    plan = plans.current_plan(organisation)
    assert response.headers["Location"].endswith(show_url(plan))
    return plan


def card(html: str, item) -> str:
    pattern = rf'<li class="card plan-item[^"]*" id="item-{item.id}".*?</li>\s*(?=<li class="card plan-item|</ol>)'
    match = re.search(pattern, html, re.S)
    assert match, f"no card for item {item.id}"
    return match.group(0)


def test_a_member_creates_the_plan_from_the_latest_assessment(client, owner, shop):
    login(client, owner)
    page = client.get(f"{base(shop)}/")
    assert page.status_code == 200
    assert "Go to the self-assessment" in page.text, "no assessment yet: the page says what to do first"
    refused = client.post(f"{base(shop)}/refresh", data={})
    assert refused.status_code == 303 and "/assessments" in refused.headers["Location"]
    assert db.session.scalar(select(ActionPlan.id)) is None

    submit(shop, owner)
    page = client.get(f"{base(shop)}/")
    assert "Create my action plan" in page.text
    plan = create(client, shop)
    assert client.get(f"{base(shop)}/").headers["Location"].endswith(show_url(plan))
    html = client.get(show_url(plan)).text
    assert "Digital transformation action plan" in html
    assert plan.verification_code in html
    # Targets: one row per pillar, the radar chart, progress as a <progress> element (no inline style).
    assert len(re.findall(r'<tr data-pillar="', html)) == 6
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="radar"' in html
    assert re.search(r'<progress class="plan-progress-bar" max="\d+" value="0"', html)
    assert "style=" not in html.split("<main", 1)[1]
    # Items grouped by phase, each with its status.
    for phase in ("quick_win", "foundation", "growth"):
        assert f'data-phase="{phase}"' in html
    assert html.count('class="card plan-item plan-item-todo"') == len(plan.items)
    einvoice = next(item for item in plan.items if item.key == "hh-einvoice-till")
    assert "E-invoice vouchers for household businesses" in card(html, einvoice)
    assert "3.000.000" in card(html, einvoice)
    # What helps: programmes and partners the business can use.
    assert 'data-programme-code="HKD-EINVOICE"' in html and 'data-partner-code="P-EINV"' in html
    assert "CLOSED-ALL" not in html and "COOP-ONLY-ALL" not in html
    # The printed version is offered where the PDF block belongs (the printing feature's partial).
    assert 'id="plan-pdf"' in html
    # Pressing the button again changes nothing: the plan is already up to date.
    client.post(f"{base(shop)}/refresh", data={})
    assert db.session.scalars(select(ActionPlan)).all() == [plan]


def test_the_page_shows_the_same_radar_as_the_printed_plan(client, owner, shop):
    login(client, owner)
    submit(shop, owner)
    plan = create(client, shop)
    html = client.get(show_url(plan)).text
    assert plans.printable(plan, "en")["radar_svg"] in html


def test_editing_an_item_owner_date_and_status(client, owner, shop):
    login(client, owner)
    submit(shop, owner)
    plan = create(client, shop)
    item = plan.items[0]
    form = client.get(item_url(plan, item, "edit"))
    assert form.status_code == 200
    assert 'list="owner-roles"' in form.text and "<datalist" in form.text
    assert 'name="action"' not in form.text, "a suggested action keeps its words"
    response = client.post(item_url(plan, item, "edit"),
                           data={"owner": "Chị Lan", "due_on": "15/02/2027", "status": "doing"})
    assert response.status_code == 303
    db.session.refresh(item)
    assert (item.owner_role, item.due_on.isoformat(), item.status) == ("Chị Lan", "2027-02-15", ItemStatus.DOING)
    assert db.session.get(ActionPlan, plan.id).status is PlanStatus.ACTIVE
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan_item.update"))
    assert event.after["owner_role"] == "Chị Lan" and event.before["status"] == "todo"
    html = client.get(show_url(plan)).text
    assert "Chị Lan" in card(html, item) and "15/02/2027" in card(html, item)
    assert "plan-item-doing" in card(html, item)


def test_a_bad_date_is_refused_with_the_input_kept(client, owner, shop):
    login(client, owner)
    submit(shop, owner)
    plan = create(client, shop)
    item = plan.items[0]
    response = client.post(item_url(plan, item, "edit"), data={"owner": "Chị Lan", "due_on": "31/02/2027",
                                                              "status": "doing"})
    assert response.status_code == 400
    assert "Enter a date as dd/mm/yyyy" in response.text
    assert 'value="31/02/2027"' in response.text and 'value="Chị Lan"' in response.text
    bad_status = client.post(item_url(plan, item, "edit"), data={"owner": "", "due_on": "", "status": "finished"})
    assert bad_status.status_code == 400
    db.session.refresh(item)
    assert item.status is ItemStatus.TODO and item.owner_role != "Chị Lan"


def test_quick_status_buttons_and_progress(client, owner, shop):
    login(client, owner)
    submit(shop, owner)
    plan = create(client, shop)
    total = len(plan.items)
    first, second = plan.items[0], plan.items[1]
    assert client.post(item_url(plan, first, "status"), data={"status": "done"}).status_code == 303
    assert client.post(item_url(plan, second, "status"), data={"status": "doing"}).status_code == 303
    db.session.refresh(first)
    assert first.status is ItemStatus.DONE and first.completed_at is not None
    html = client.get(show_url(plan)).text
    percent = round(100 / total)
    assert f"1 of {total} actions done ({percent}%), 1 in progress." in html
    assert re.search(rf'<progress class="plan-progress-bar" max="{total}" value="1"', html)
    assert "Not done after all" in card(html, first)
    assert client.post(item_url(plan, first, "status"), data={"status": "nonsense"}).status_code == 400
    assert client.post(item_url(plan, first, "status"), data={"status": "todo"}, csrf=False).status_code == 400


def test_own_items_can_be_added_changed_and_removed(client, owner, shop):
    login(client, owner)
    submit(shop, owner)
    plan = create(client, shop)
    new = f"{show_url(plan)}/items/new"
    assert client.get(new).status_code == 200
    empty = client.post(new, data={"action": "  ", "pillar": "customer", "phase": "quick_win", "status": "todo"})
    assert empty.status_code == 400 and "Describe what to do." in empty.text
    response = client.post(new, data={"action": "In thực đơn có mã QR để khách gọi món", "pillar": "customer",
                                      "phase": "quick_win", "owner": "Business owner", "due_on": "",
                                      "status": "todo"})
    assert response.status_code == 303
    own = db.session.scalar(select(PlanItem).where(PlanItem.source == ItemSource.OWN))
    assert own.action == "In thực đơn có mã QR để khách gọi món" and own.owner_role == "household_owner"
    html = client.get(show_url(plan)).text
    assert "Your own action" in card(html, own) and "Business owner" in card(html, own)

    form = client.get(item_url(plan, own, "edit"))
    assert 'name="action"' in form.text and "Remove from the plan" in form.text
    client.post(item_url(plan, own, "edit"), data={"action": "In thực đơn mới có mã QR", "owner": "Bé Na",
                                                   "due_on": "2027-01-31", "status": "done"})
    db.session.refresh(own)
    assert (own.action, own.owner_role, own.status) == ("In thực đơn mới có mã QR", "Bé Na", ItemStatus.DONE)

    generated = next(item for item in plan.items if item.source is ItemSource.GENERATED)
    own_id, generated_id = own.id, generated.id
    assert client.post(item_url(plan, generated, "delete"), data={}).status_code == 404
    assert client.post(item_url(plan, own, "delete"), data={}).status_code == 303
    assert db.session.scalar(select(PlanItem.id).where(PlanItem.id == own_id)) is None
    assert db.session.scalar(select(PlanItem.id).where(PlanItem.id == generated_id)) == generated_id
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"plan_item.create", "plan_item.update", "plan_item.delete"} <= actions


def test_a_newer_assessment_offers_an_updated_plan_and_the_old_one_becomes_read_only(client, owner, shop):
    login(client, owner)
    submit(shop, owner)
    first = create(client, shop)
    done = next(item for item in first.items if item.key == "hh-qr-payment")
    client.post(item_url(first, done, "status"), data={"status": "done"})
    submit(shop, owner, "worst", {"hh_qr_payment": "most"})
    html = client.get(show_url(first)).text
    assert "Update my plan" in html
    second = create(client, shop)
    assert second.version == 2 and second.id != first.id
    kept = next(item for item in second.items if item.key == "hh-qr-payment")
    assert kept.status is ItemStatus.DONE
    old = client.get(show_url(first)).text
    assert "earlier version of the plan" in old
    assert "Mark as done" not in old and "Add your own action" not in old
    assert f'href="{show_url(second)}"' in old
    other = next(item for item in first.items if item.status is ItemStatus.TODO)
    refused = client.post(item_url(first, other, "status"), data={"status": "done"})
    assert refused.status_code == 303 and refused.headers["Location"].endswith(f"{base(shop)}/")
    db.session.refresh(other)
    assert other.status is ItemStatus.TODO
    assert client.get(item_url(first, other, "edit")).status_code == 303
    versions = client.get(show_url(second)).text
    assert "Versions of the plan" in versions


def test_only_members_reach_a_plan(client, app, owner, shop):
    submit(shop, owner)
    plan, _created = plans.create_or_update(shop, owner)
    db.session.commit()
    item = plan.items[0]
    urls_get = [f"{base(shop)}/", show_url(plan), item_url(plan, item, "edit"), f"{show_url(plan)}/items/new"]
    urls_post = [f"{base(shop)}/refresh", item_url(plan, item, "status"), item_url(plan, item, "edit"),
                 item_url(plan, item, "delete"), f"{show_url(plan)}/items/new"]

    anonymous = client.get(show_url(plan))
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]

    outsider = UserFactory(locale="en")
    other_company = enterprise(outsider)
    for user in (outsider, UserFactory(roles=[Role.REVIEWER, Role.ADMIN])):
        login(client, user)
        for url in urls_get:
            assert client.get(url).status_code == 404, url
        for url in urls_post:
            assert client.post(url, data={"status": "done", "action": "x", "pillar": "data",
                                          "phase": "growth"}).status_code == 404, url
    # The outsider's own organisation in the URL does not open someone else's plan or item.
    login(client, outsider)
    assert client.get(f"/organisations/{other_company.id}/plans/{plan.id}").status_code == 404
    submit(other_company, outsider)
    their_plan = create(client, other_company)
    assert client.get(f"{show_url(their_plan)}/items/{item.id}/edit").status_code == 404
    assert client.get(f"{show_url(their_plan)}/items/999999/edit").status_code == 404
    db.session.refresh(item)
    assert item.status is ItemStatus.TODO


def test_every_member_of_the_organisation_can_work_on_the_plan(client, owner, shop):
    from app.models import MemberRole, Membership

    colleague = UserFactory(locale="vi")
    shop.memberships.append(Membership(user=colleague, role=MemberRole.MEMBER))
    db.session.commit()
    submit(shop, owner)
    login(client, colleague)
    plan = create(client, shop)
    assert client.post(item_url(plan, plan.items[0], "status"), data={"status": "doing"}).status_code == 303
