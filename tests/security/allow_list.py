"""Who may reach what, route by route: the explicit list the ownership tests check the url_map against.

A route is either **owned** — it names an organisation's object (everything under ``/organisations/<org_id>``),
a user's own notification, or a partner company's profile — and then only that organisation's members (that
user, that partner's people) reach it, everyone else gets 404; or it is listed here, with the reason it may
be reached without owning anything. A new route that is neither fails ``test_every_route_is_classified``
by name: decide which it is, and if it names an organisation's object, put it under ``/organisations/<org_id>``
or add its argument to the owned ones in ``helpers.values_for``.
"""

from __future__ import annotations

from app.models import Role

#: Routes that name an object owned by one user or one partner company rather than an organisation.
USER_OWNED = {"notifications.read"}  # a notification belongs to its recipient
PARTNER_OWNED = {"catalogue.partner_profile"}  # partner users propose edits to their own company only

#: Owned routes that department staff may also read (GET), by design: staff see submitted assessments
#: of any organisation and the recommendations that follow from them (the review of an application links to
#: them); drafts, editing and everything else stay members-only.
STAFF_READABLE = {"assessments.index", "assessments.results", "recommendations.index"}

PUBLIC, SELF, STAFF, TOKEN = "public", "self", "staff", "token"

ALLOW_LIST: dict[str, str] = {
    # --- Public: anyone, and the pages hold no organisation's data --------------------------------------
    "main.index": PUBLIC,
    "main.healthz": PUBLIC,
    "main.set_language": PUBLIC,  # stores the language in the visitor's own session
    "auth.login": PUBLIC,
    "auth.register": PUBLIC,
    "auth.resend_confirmation": PUBLIC,
    "auth.confirm": PUBLIC,  # secret token from the message, not an id
    "auth.reset_request": PUBLIC,
    "auth.reset_password": PUBLIC,  # secret token from the message
    "auth.invitation": PUBLIC,  # secret token from the invitation
    "auth.invitation_signup": PUBLIC,  # secret token from the invitation
    "catalogue.index": PUBLIC,  # the published catalogue of programmes and vetted partners
    "catalogue.partner": PUBLIC,
    "catalogue.programme": PUBLIC,
    "opendata.index": PUBLIC,  # anonymised statistics (small groups suppressed)
    "opendata.download": PUBLIC,
    # The plan's organisation, version and date, only for whoever types its printed 40-bit code (rate-limited).
    "printing.verify": PUBLIC,
    "api.docs": PUBLIC,
    "api.openapi_json": PUBLIC,
    "api.current_framework_view": PUBLIC,
    "api.score_view": PUBLIC,  # scores answers sent in the body; stores nothing
    "api.recommendations_preview": PUBLIC,  # recommends from the body; stores nothing
    # --- Self: any logged-in user, and only about themselves ----------------------------------------------
    "auth.account": SELF,
    "auth.update_profile": SELF,
    "auth.change_password": SELF,
    "auth.logout": SELF,
    "auth.logout_everywhere": SELF,
    "auth.accept_invitation": SELF,  # secret token; joins the invitation's organisation
    "notifications.index": SELF,
    "notifications.read_all": SELF,
    "notifications.settings": SELF,
    "organisations.list_mine": SELF,
    "organisations.create": SELF,
    "catalogue.my_partners": SELF,  # the partner companies the user is linked to
    # --- Staff: department staff across all organisations, by design (roles_required / staff_required) -----
    "admin.audit": STAFF,
    "admin.catalogue_export": STAFF,
    "admin.catalogue_import": STAFF,
    "admin.invitations": STAFF,
    "admin.invite": STAFF,
    "admin.revoke_invitation": STAFF,
    "admin.organisations": STAFF,
    "admin.organisation_detail": STAFF,
    "admin.users": STAFF,
    "admin.user_detail": STAFF,
    "admin.user_activate": STAFF,
    "admin.user_deactivate": STAFF,
    "admin.user_roles": STAFF,
    "api_tokens.index": STAFF,
    "api_tokens.detail": STAFF,
    "api_tokens.new": STAFF,
    "api_tokens.revoke": STAFF,
    "catalogue.manage_partners": STAFF,
    "catalogue.partner_detail": STAFF,
    "catalogue.partner_edit": STAFF,
    "catalogue.partner_new": STAFF,
    "catalogue.partner_member_add": STAFF,
    "catalogue.partner_member_remove": STAFF,
    "catalogue.partner_restore": STAFF,
    "catalogue.partner_retire": STAFF,
    "catalogue.partner_status": STAFF,
    "catalogue.manage_programmes": STAFF,
    "catalogue.programme_new": STAFF,
    "catalogue.programme_edit": STAFF,
    "catalogue.programme_restore": STAFF,
    "catalogue.programme_retire": STAFF,
    "catalogue.revisions": STAFF,
    "catalogue.revision": STAFF,
    "catalogue.revision_approve": STAFF,
    "catalogue.revision_reject": STAFF,
    "dashboard.index": STAFF,
    "dashboard.export": STAFF,
    "review.queue": STAFF,
    "review.application": STAFF,
    "review.act": STAFF,
    "review.assign": STAFF,
    "review.comment": STAFF,
    "review.document": STAFF,
    "review.export": STAFF,
    "printing.staff_letter": STAFF,
    # --- Token: integrations with an API token of the province (scoped, logged), not a user's session -----
    "api.applications_list": TOKEN,
    "api.application_detail": TOKEN,
    "api.catalogue_export": TOKEN,
    "api.catalogue_import": TOKEN,
    "api.open_data_maturity": TOKEN,
    "api.open_data_uptake": TOKEN,
}

STAFF_ROLES = frozenset(Role.staff())


def is_owned(rule) -> bool:
    """Whether ``rule`` names an object that belongs to one organisation, one user or one partner company."""
    return (rule.rule.startswith("/organisations/<") or rule.endpoint in USER_OWNED
            or rule.endpoint in PARTNER_OWNED)
