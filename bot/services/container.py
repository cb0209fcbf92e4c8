"""The services the handlers may call, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import Settings
from bot.domain.accompaniment import ReminderPolicy
from bot.domain.calendar import HolidayCalendar
from bot.domain.report import Catalogue, default_catalogue
from bot.services.accompaniment import Accompaniments
from bot.services.booking import BookingService
from bot.services.academic_calendar import AcademicCalendarStore
from bot.services.broadcasts import BroadcastService
from bot.services.coaching import Coaching
from bot.services.conversations import Conversations
from bot.services.directory import Directory
from bot.services.deposits import Deposits
from bot.services.drafts import Drafts
from bot.services.onboarding import Onboarding
from bot.services.outbox import OutboxStore, RateSettings, RetryPolicy, instance_name
from bot.services.personal_data import PersonalData
from bot.storage.db import Database
from bot.telegram.rendering import Renderer
from bot.storage.models import utcnow


@dataclass
class Services:
    settings: Settings
    db: Database
    directory: Directory
    onboarding: Onboarding
    conversations: Conversations
    catalogue: Catalogue
    booking: BookingService
    outbox: OutboxStore
    drafts: Drafts
    coaching: Coaching
    personal_data: PersonalData
    broadcasts: BroadcastService
    accompaniment: Accompaniments
    deposits: Deposits | None = None  # built by build(); optional for hand-made containers
    clock: Callable[[], datetime] = utcnow  # "now" for the services (UTC); tests pin it. Keep last.

    @classmethod
    def build(cls, settings: Settings, db: Database) -> Services:
        def now() -> datetime:  # late-bound: tests pin time by replacing services.clock
            return services.clock()

        calendar = HolidayCalendar(settings.alsace_moselle, school_zone=settings.school_holiday_zone)
        from bot.documents.grid_pdf import build_grid_pdf

        catalogue = default_catalogue()
        academic = AcademicCalendarStore(db, clock=now)  # one academic calendar for both services below
        accompaniment = Accompaniments(
            db, calendar, catalogue.grid, clock=now, grid_pdf=build_grid_pdf, catalogue=catalogue,
            email_invitations=settings.smtp is not None, bot_username=settings.bot_username,
            contact=settings.cnam_contact, academic=academic,
            policy=ReminderPolicy(opinion_days=settings.opinion_days),
        )
        services = cls(
            settings=settings,
            db=db,
            directory=Directory(db, settings.staff_telegram_ids, clock=now),
            onboarding=Onboarding(db, invitation_ttl=settings.invitation_ttl, clock=now, accompaniment=accompaniment),
            conversations=Conversations(db),
            catalogue=default_catalogue(),
            booking=BookingService(db, calendar, clock=now, accompaniment=accompaniment),
            outbox=OutboxStore(
                db,
                clock=now,
                instance=instance_name(),
                rate=RateSettings(
                    per_second=settings.delivery.per_second,
                    burst=max(1.0, settings.delivery.per_second),
                    per_chat_interval=settings.delivery.per_chat_interval,
                ),
                retry=RetryPolicy(max_attempts=settings.delivery.max_attempts, base_delay=settings.delivery.retry_base,
                                  stale_after=settings.delivery.stale_after),
            ),
            clock=utcnow,
            drafts=Drafts(db, clock=now),
            coaching=Coaching(db, default_catalogue(), clock=now),
            personal_data=PersonalData(
                db, clock=now, staff_telegram_ids=settings.staff_telegram_ids, retention_months=settings.retention_months
            ),
            broadcasts=BroadcastService(
                db,
                clock=now,
                timezone=settings.timezone,
                render=Renderer(timezone=settings.timezone).render,
                per_second=settings.delivery.per_second,
                paid_broadcast=settings.delivery.paid_broadcast,
                stage_filter=accompaniment.stage_members,
                stage_choices=accompaniment.stage_counts,
                academic=academic,
            ),
            accompaniment=accompaniment,
            deposits=Deposits(db, clock=now),
        )
        return services
