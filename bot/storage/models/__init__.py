"""Every table of coachbot. Feature modules register here so that Alembic sees one metadata."""

from bot.storage.models.base import Base, UTCDateTime, utcnow
from bot.storage.models.people import (
    AuditEvent,
    Consent,
    ConversationState,
    Enrolment,
    Invitation,
    Person,
    SignInThrottle,
)

__all__ = [
    "AuditEvent",
    "Base",
    "Consent",
    "ConversationState",
    "Enrolment",
    "Invitation",
    "Person",
    "SignInThrottle",
    "UTCDateTime",
    "utcnow",
]
