"""factory_boy factories for the models; objects are committed so requests see them."""

from __future__ import annotations

import factory

from app.extensions import db
from app.models import MemberRole, Membership, Organisation, OrganisationKind, Role, User, UserRole
from app.models.types import utcnow
from app.services.passwords import hash_password

DEFAULT_PASSWORD = "correct horse battery"


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    """A confirmed, active user with the ``business`` role unless ``roles`` says otherwise."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.vn")
    phone = None
    full_name = factory.Sequence(lambda n: f"Nguyễn Văn {n}")
    password_hash = factory.LazyFunction(lambda: hash_password(DEFAULT_PASSWORD))
    locale = "vi"
    confirmed_at = factory.LazyFunction(utcnow)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        wanted = extracted if extracted is not None else [Role.BUSINESS]
        for role in wanted:
            self.roles.append(UserRole(role=Role(role)))
        if create:
            db.session.commit()


class OrganisationFactory(BaseFactory):
    """An enterprise in trade (section G) with one owner, created with the organisation."""

    class Meta:
        model = Organisation

    kind = OrganisationKind.ENTERPRISE
    name = factory.Sequence(lambda n: f"Công ty TNHH Thử nghiệm {n}")
    sector = "G"
    employees = 8
    annual_revenue_vnd = 2_000_000_000
    capital_vnd = 1_000_000_000

    @factory.post_generation
    def owner(self, create, extracted, **kwargs):
        if extracted is not None:
            self.memberships.append(Membership(user=extracted, role=MemberRole.OWNER))
            if create:
                db.session.commit()
