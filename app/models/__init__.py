"""All models, imported here so Alembic and the app see the whole schema."""

from app.models.api_token import ApiToken, ApiTokenUse
from app.models.application import (
    ActivityKind,
    Application,
    ApplicationActivity,
    ApplicationDocument,
    ApplicationStatus,
    Visibility,
)
from app.models.assessment import Assessment, AssessmentAnswer, AssessmentPillarScore, AssessmentStatus
from app.models.audit import AuditEvent
from app.models.catalogue import (
    PARTNER_CATEGORIES,
    Partner,
    PartnerMember,
    PartnerRevision,
    PartnerStatus,
    PriceBand,
    Programme,
    ProgrammeDocument,
    ProgrammeKind,
    RevisionStatus,
)
from app.models.dashboard_facts import (
    DashboardFact,
    DashboardFactState,
    DashboardProgressCell,
    DashboardProgressPair,
)
from app.models.invitation import Invitation, InvitationKind
from app.models.notification import Notification, NotificationPreference
from app.models.organisation import MemberRole, Membership, Organisation, OrganisationKind, SizeClass
from app.models.outcome import Outcome, OutcomeKind
from app.models.plan import ActionPlan, CostBand, ItemPhase, ItemSource, ItemStatus, PlanItem, PlanStatus
from app.models.statistics import OpenDataFile, OpenDataMember, OpenDataSnapshot
from app.models.user import Role, User, UserRole

__all__ = [
    "PARTNER_CATEGORIES",
    "ActionPlan",
    "ActivityKind",
    "ApiToken",
    "ApiTokenUse",
    "Application",
    "ApplicationActivity",
    "ApplicationDocument",
    "ApplicationStatus",
    "Assessment",
    "AssessmentAnswer",
    "AssessmentPillarScore",
    "AssessmentStatus",
    "AuditEvent",
    "CostBand",
    "DashboardFact",
    "DashboardFactState",
    "DashboardProgressCell",
    "DashboardProgressPair",
    "Invitation",
    "InvitationKind",
    "ItemPhase",
    "ItemSource",
    "ItemStatus",
    "MemberRole",
    "Membership",
    "Notification",
    "NotificationPreference",
    "OpenDataFile",
    "OpenDataMember",
    "OpenDataSnapshot",
    "Organisation",
    "OrganisationKind",
    "Outcome",
    "OutcomeKind",
    "Partner",
    "PartnerMember",
    "PartnerRevision",
    "PartnerStatus",
    "PlanItem",
    "PlanStatus",
    "PriceBand",
    "Programme",
    "ProgrammeDocument",
    "ProgrammeKind",
    "RevisionStatus",
    "Role",
    "SizeClass",
    "User",
    "UserRole",
    "Visibility",
]
