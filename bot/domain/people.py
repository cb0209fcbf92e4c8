"""Who is who: roles and the plain data objects handed to handlers (never ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    STAFF = "staff"
    TUTOR = "tutor"
    AUDITEUR = "auditeur"


class ReportType(StrEnum):
    UA = "ua"
    STAGE = "stage"


@dataclass(frozen=True)
class PersonView:
    id: int
    role: Role
    display_name: str
    telegram_user_id: int | None
    email: str | None = None
    blocked: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role is Role.STAFF


@dataclass(frozen=True)
class EnrolmentView:
    id: int
    auditeur: PersonView
    tutor: PersonView
    certification: str
    report_type: ReportType
    semester: str
    enrolled_at: datetime
    units_validated: int | None = None  # the offer's prerequisites as recorded (None: not recorded)
    experience: str | None = None  # bot.domain.enrolment.Experience


@dataclass(frozen=True)
class InvitationIssued:
    """What staff get back after inviting someone: the code is shown once, only its hash is kept."""

    person: PersonView
    code: str
    expires_at: datetime
    enrolment: EnrolmentView | None = None

    def deep_link(self, bot_username: str | None) -> str | None:
        if not bot_username:
            return None
        return f"https://t.me/{bot_username}?start={self.code}"
