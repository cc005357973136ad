"""All models, imported here so Alembic and the app see the whole schema."""

from app.models.assessment import Assessment, AssessmentAnswer, AssessmentPillarScore, AssessmentStatus
from app.models.audit import AuditEvent
from app.models.invitation import Invitation, InvitationKind
from app.models.organisation import MemberRole, Membership, Organisation, OrganisationKind, SizeClass
from app.models.user import Role, User, UserRole

__all__ = [
    "Assessment",
    "AssessmentAnswer",
    "AssessmentPillarScore",
    "AssessmentStatus",
    "AuditEvent",
    "Invitation",
    "InvitationKind",
    "MemberRole",
    "Membership",
    "Organisation",
    "OrganisationKind",
    "Role",
    "SizeClass",
    "User",
    "UserRole",
]
