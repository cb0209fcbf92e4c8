"""Every table of coachbot. Feature modules register here so that Alembic sees one metadata."""

from bot.storage.models.base import Base, UTCDateTime, utcnow
from bot.storage.models.coaching import CoachingFeedback, CoachingProgress, ExperienceCheck
from bot.storage.models.drafts import DepositInProgress, DraftVersion
from bot.storage.models.people import (
    AuditEvent,
    Consent,
    ConversationState,
    Enrolment,
    Invitation,
    Person,
    PersonChange,
    SignInThrottle,
)
from bot.storage.models.booking import AvailabilityWindow, Meeting, TutorBookingSettings, TutorDayOff
from bot.storage.models.outbox import OutboxMessage, RateBucket
from bot.storage.models.broadcasts import Broadcast
from bot.storage.models.accompaniment import (
    AcademicYearRow,
    Accompaniment,
    AccompanimentEvent,
    CertificationGrid,
    FollowUpCase,
    Opinion,
    PlanningDate,
    ReportSubmission,
)

__all__ = [
    "PersonChange",
    "DepositInProgress",
    "Broadcast",
    "AcademicYearRow",
    "Accompaniment",
    "AccompanimentEvent",
    "CertificationGrid",
    "FollowUpCase",
    "Opinion",
    "PlanningDate",
    "ReportSubmission",
    "CoachingFeedback",
    "CoachingProgress",
    "ExperienceCheck",
    "DraftVersion",
    "AvailabilityWindow",
    "Meeting",
    "OutboxMessage",
    "RateBucket",
    "TutorBookingSettings",
    "TutorDayOff",
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
