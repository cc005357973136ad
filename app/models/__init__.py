"""All models, imported here so Alembic and the app see the whole schema."""

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
from app.models.invitation import Invitation, InvitationKind
from app.models.notification import Notification, NotificationPreference
from app.models.organisation import MemberRole, Membership, Organisation, OrganisationKind, SizeClass
from app.models.outcome import Outcome, OutcomeKind
from app.models.user import Role, User, UserRole

__all__ = [
    "PARTNER_CATEGORIES",
    "ActivityKind",
    "Application",
    "ApplicationActivity",
    "ApplicationDocument",
    "ApplicationStatus",
    "Assessment",
    "AssessmentAnswer",
    "AssessmentPillarScore",
    "AssessmentStatus",
    "AuditEvent",
    "Invitation",
    "InvitationKind",
    "MemberRole",
    "Membership",
    "Notification",
    "NotificationPreference",
    "Organisation",
    "OrganisationKind",
    "Outcome",
    "OutcomeKind",
    "Partner",
    "PartnerMember",
    "PartnerRevision",
    "PartnerStatus",
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
