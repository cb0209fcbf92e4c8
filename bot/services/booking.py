"""Booking video calls: a tutor's availability and settings, an auditeur's bookings, the meetings.

Every call is one unit of work. Booking and rescheduling re-check the slot and the budget inside
the write transaction that inserts or moves the meeting, so what was checked is what is stored:

* SQLite: the transaction starts with BEGIN IMMEDIATE, so writers run one at a time; a trigger
  refuses an overlapping meeting all the same (migration 0002).
* PostgreSQL: the auditeur's enrolment row is locked ``FOR UPDATE`` before the budget is summed, so
  two bookings of one auditeur run one after the other; overlaps between auditeurs of one tutor are
  refused by the exclusion constraint, whose IntegrityError becomes ``BookingErrorCode.TAKEN``.

Whatever the other side must be told (the notification, both .ics, the reminders) is written to
the outbox in the same transaction as the change: a committed booking is never left untold, and a
rolled-back one never told. The handler only answers the person who acted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.availability import (
    AvailabilityError,
    AvailabilityErrorCode,
    BookingSettings,
    DayOff,
    WeeklyWindow,
    LineRefused,
    read_windows,
)
from bot.domain.budget import (
    MeetingStatus,
    MeetingUsage,
    allowed_durations,
    check_budget,
    needs_first_meeting,
    remaining,
    used,
)
from bot.domain.calendar import PARIS, HolidayCalendar, paris_date
from bot.domain.meetings import (
    GENERATED_ROOM_BASE,
    SETTING_CHOICES,
    AvailabilityView,
    BookingError,
    BookingErrorCode,
    BookingProposal,
    BudgetView,
    PendingBooking,
    DayOffView,
    MeetingView,
    Purpose,
    VideoMode,
    WindowView,
    check_confirmation,
    clean_topic,
    generated_room_link,
    needs_new_link,
    on_days_off,
    pending_booking,
    minutes_of,
    read_days_off,
    parse_video_link,
    window_from_minutes,
)
from bot.domain.people import PersonView, Role
from bot.domain.permissions import require_role
from bot.domain.reminders import MEETING_REMINDERS, ReminderRule, reminder_times
from bot.domain.slots import (
    CancelErrorCode,
    Interval,
    WeekPage,
    check_cancellable,
    check_slot_bookable,
    free_slots,
    week_page,
)
from bot.services import outbox
from bot.services.directory import person_view
from bot.storage.db import Database
from bot.storage.models import (
    AuditEvent,
    AvailabilityWindow,
    Enrolment,
    Meeting,
    TutorBookingSettings,
    TutorDayOff,
)

log = logging.getLogger(__name__)

MEETING_SUBJECT = "meeting"
REMINDER_KIND = "meeting.reminder"
ICS_BUILDER = "meeting_ics"
ACTIVE = ("booked", "held", "missed")


@dataclass(frozen=True)
class SlotPage:
    """One week of free slots of the auditeur's tutor, for a booking or for moving ``meeting``."""

    tutor: PersonView
    minutes: int
    page: WeekPage
    budget: BudgetView
    meeting: MeetingView | None = None


@dataclass(frozen=True)
class WindowsAdded:
    """The windows saved from the tutor's text, the lines refused (with why), and /dispos after."""

    added: list[WeeklyWindow]
    refused: list[LineRefused]
    view: AvailabilityView


@dataclass(frozen=True)
class DaysOffAdded:
    added: list[DayOff]
    refused: list[LineRefused]
    view: AvailabilityView
    booked: tuple[MeetingView, ...] = ()  # future meetings on those days: the tutor is offered to cancel them
    day_off_ids: tuple[int, ...] = ()  # the days off that hold them


@dataclass(frozen=True)
class DaysOffCancelled:
    """The meetings cancelled because of days off (their auditeurs told), or none: already done."""

    cancelled: tuple[MeetingView, ...]
    found: bool  # False: the days off were removed meanwhile (an old button)
    follow_ups: tuple[MeetingView, ...] = ()  # later follow-ups cancelled with a first meeting (see _cancel_follow_ups)


@dataclass(frozen=True)
class VideoLinkSet:
    """The tutor's new video setting, and the future meetings moved to it (both sides told)."""

    view: AvailabilityView
    updated: tuple[MeetingView, ...] = ()


def meeting_view(meeting: Meeting) -> MeetingView:
    return MeetingView(
        id=meeting.id,
        tutor=person_view(meeting.tutor),
        auditeur=person_view(meeting.auditeur),
        enrolment_id=meeting.enrolment_id,
        start_utc=meeting.start_at,
        end_utc=meeting.end_at,
        status=MeetingStatus(meeting.status),
        purpose=Purpose(meeting.purpose),
        sequence=meeting.sequence,
        video_link=meeting.video_link,
        rescheduled_from=meeting.rescheduled_from,
        topic=meeting.topic,
    )


def _settings_of(row: TutorBookingSettings | None) -> BookingSettings:
    if row is None:
        return BookingSettings()
    return BookingSettings(
        min_notice=timedelta(minutes=row.min_notice_minutes),
        horizon=timedelta(days=row.horizon_days),
        buffer=timedelta(minutes=row.buffer_minutes),
    )


def _is_overlap(error: IntegrityError) -> bool:
    return "no_overlap" in str(error.orig)


class BookingService:
    def __init__(
        self,
        db: Database,
        calendar: HolidayCalendar,
        *,
        clock: Callable[[], datetime],
        room_base: str = GENERATED_ROOM_BASE,
        reminder_rules: Sequence[ReminderRule] = MEETING_REMINDERS,
        accompaniment=None,
    ) -> None:
        self._db = db
        self._accompaniment = accompaniment  # told when a first meeting is marked held (step 2)
        self.calendar = calendar
        self._clock = clock
        self._room_base = room_base
        self._reminder_rules = tuple(reminder_rules)

    def now(self) -> datetime:
        return self._clock()

    # -- loading -----------------------------------------------------------------------------

    @staticmethod
    def _settings_row(session: Session, tutor_id: int, *, create: bool = False) -> TutorBookingSettings | None:
        row = session.get(TutorBookingSettings, tutor_id)
        if row is None and create:
            row = TutorBookingSettings(
                tutor_id=tutor_id, video_mode=VideoMode.GENERATE, min_notice_minutes=24 * 60, horizon_days=56, buffer_minutes=0
            )
            session.add(row)
            session.flush()
        return row

    @staticmethod
    def _window_rows(session: Session, tutor_id: int) -> list[AvailabilityWindow]:
        return list(
            session.scalars(
                select(AvailabilityWindow)
                .where(AvailabilityWindow.tutor_id == tutor_id)
                .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_minute)
            )
        )

    @staticmethod
    def _windows(rows: list[AvailabilityWindow]) -> list[WeeklyWindow]:
        return [window_from_minutes(r.weekday, r.start_minute, r.end_minute) for r in rows]

    @staticmethod
    def _day_off_rows(session: Session, tutor_id: int, since: date | None = None) -> list[TutorDayOff]:
        query = select(TutorDayOff).where(TutorDayOff.tutor_id == tutor_id)
        if since is not None:
            query = query.where(TutorDayOff.last_day >= since)
        return list(session.scalars(query.order_by(TutorDayOff.first_day)))

    @staticmethod
    def _busy(session: Session, tutor_id: int, since: datetime, *, exclude: int | None = None) -> list[Interval]:
        query = select(Meeting.start_at, Meeting.end_at).where(
            Meeting.tutor_id == tutor_id, Meeting.status.in_(ACTIVE), Meeting.end_at > since - timedelta(hours=3)
        )
        if exclude is not None:
            query = query.where(Meeting.id != exclude)
        return [Interval(start, end) for start, end in session.execute(query)]

    @staticmethod
    def _usages(session: Session, enrolment_id: int, *, exclude: int | None = None) -> list[MeetingUsage]:
        query = select(Meeting.duration_minutes, Meeting.status).where(Meeting.enrolment_id == enrolment_id)
        if exclude is not None:
            query = query.where(Meeting.id != exclude)
        return [MeetingUsage(timedelta(minutes=m), MeetingStatus(s)) for m, s in session.execute(query)]

    @staticmethod
    def _enrolment(session: Session, actor: PersonView, *, lock: bool = False) -> Enrolment:
        query = select(Enrolment).where(Enrolment.auditeur_id == actor.id, Enrolment.status == "active")
        if lock:
            query = query.with_for_update()
        enrolment = session.scalar(query)
        if enrolment is None:
            raise BookingError(BookingErrorCode.NO_ENROLMENT)
        return enrolment

    def _budget(self, usages: list[MeetingUsage], settings: BookingSettings) -> BudgetView:
        return BudgetView(
            used=used(usages),
            remaining=remaining(usages),
            allowed_minutes=tuple(int(d.total_seconds() // 60) for d in allowed_durations(usages, settings)),
            needs_first_meeting=needs_first_meeting(usages),
        )

    def _availability(self, session: Session, tutor_id: int) -> AvailabilityView:
        from bot.storage.models import Person

        row = self._settings_row(session, tutor_id)
        today = paris_date(self.now())
        return AvailabilityView(
            tutor=person_view(session.get(Person, tutor_id)),
            windows=tuple(
                WindowView(r.id, window_from_minutes(r.weekday, r.start_minute, r.end_minute))
                for r in self._window_rows(session, tutor_id)
            ),
            days_off=tuple(DayOffView(r.id, DayOff(r.first_day, r.last_day)) for r in self._day_off_rows(session, tutor_id, today)),
            settings=_settings_of(row),
            video_mode=VideoMode(row.video_mode) if row else VideoMode.GENERATE,
            video_link=row.video_link if row else None,
        )

    # -- the tutor's availability (/dispos) ----------------------------------------------------

    def availability(self, actor: PersonView) -> AvailabilityView:
        require_role(actor, "see their availability", Role.TUTOR)
        with self._db.read() as session:
            return self._availability(session, actor.id)

    def add_windows(self, actor: PersonView, text: str) -> WindowsAdded:
        """Parse weekly windows ("mardi 14h-17h"), one entry per line: the valid entries are saved,
        each refused one is returned with its reason. Raises AvailabilityError when no entry at
        all is valid (nothing is saved then)."""
        require_role(actor, "change their availability", Role.TUTOR)
        with self._db.transaction() as session:
            existing = self._windows(self._window_rows(session, actor.id))
            reading = read_windows(text, existing)
            if not reading.added:
                raise reading.refused[0].error if len(reading.refused) == 1 else AvailabilityError(
                    AvailabilityErrorCode.NOTHING_VALID, refused=reading.refused
                )
            for window in reading.added:
                session.add(
                    AvailabilityWindow(
                        tutor_id=actor.id,
                        weekday=window.weekday,
                        start_minute=minutes_of(window.start),
                        end_minute=minutes_of(window.end),
                    )
                )
            session.flush()
            return WindowsAdded(list(reading.added), list(reading.refused), self._availability(session, actor.id))

    def remove_window(self, actor: PersonView, window_id: int) -> tuple[bool, AvailabilityView]:
        require_role(actor, "change their availability", Role.TUTOR)
        with self._db.transaction() as session:
            removed = session.execute(
                delete(AvailabilityWindow).where(AvailabilityWindow.id == window_id, AvailabilityWindow.tutor_id == actor.id)
            ).rowcount
            return removed == 1, self._availability(session, actor.id)

    def add_day_off(self, actor: PersonView, text: str) -> DaysOffAdded:
        """Parse days off ("24/12/2026", "du 21 décembre au 3 janvier"), one per line, and add the
        valid ones; refused lines come back with their reason. Raises AvailabilityError when none
        is valid."""
        require_role(actor, "change their availability", Role.TUTOR)
        added, refused = read_days_off(text, paris_date(self.now()))
        if not added:
            raise refused[0].error if len(refused) == 1 else AvailabilityError(
                AvailabilityErrorCode.NOTHING_VALID, refused=refused
            )
        now = self.now()
        with self._db.transaction() as session:
            rows = [TutorDayOff(tutor_id=actor.id, first_day=day_off.first, last_day=day_off.last) for day_off in added]
            session.add_all(rows)
            session.flush()
            booked, holding = [], []
            for meeting in self._future_booked(session, actor.id, now):
                days = [row for row in rows if on_days_off(meeting.start_at, [DayOff(row.first_day, row.last_day)])]
                if days:
                    booked.append(meeting_view(meeting))
                    holding += [row.id for row in days if row.id not in holding]
            return DaysOffAdded(
                added, refused, self._availability(session, actor.id), booked=tuple(booked), day_off_ids=tuple(sorted(holding))
            )

    @staticmethod
    def _future_booked(session: Session, tutor_id: int, now: datetime) -> list[Meeting]:
        return list(
            session.scalars(
                select(Meeting)
                .where(Meeting.tutor_id == tutor_id, Meeting.status == MeetingStatus.BOOKED.value, Meeting.start_at > now)
                .order_by(Meeting.start_at, Meeting.id)
                .with_for_update()
            )
        )

    def cancel_on_days_off(self, actor: PersonView, day_off_ids: Sequence[int]) -> DaysOffCancelled:
        """The tutor confirmed: their meetings not started yet on these days off are cancelled; each
        auditeur is told (with the .ics CANCEL) and gets the time back. Pressed again: nothing more."""
        require_role(actor, "cancel their meetings on a day off", Role.TUTOR)
        now = self.now()
        with self._db.transaction() as session:
            days = list(
                session.scalars(select(TutorDayOff).where(TutorDayOff.tutor_id == actor.id, TutorDayOff.id.in_(list(day_off_ids))))
            )
            if not days:
                return DaysOffCancelled((), found=False)
            spans = [DayOff(d.first_day, d.last_day) for d in days]
            settings = _settings_of(self._settings_row(session, actor.id))
            cancelled, follow_ups = [], []
            # latest first: a follow-up on the day off is cancelled for the day off, before its first meeting
            for meeting in reversed(self._future_booked(session, actor.id, now)):
                if on_days_off(meeting.start_at, spans):
                    cancelled.insert(0, self._cancel_row(session, meeting, actor, now, settings, reason="day_off",
                                                         follow_ups=follow_ups))
            return DaysOffCancelled(tuple(cancelled), found=True, follow_ups=tuple(follow_ups))

    def remove_day_off(self, actor: PersonView, day_off_id: int) -> tuple[bool, AvailabilityView]:
        require_role(actor, "change their availability", Role.TUTOR)
        with self._db.transaction() as session:
            removed = session.execute(
                delete(TutorDayOff).where(TutorDayOff.id == day_off_id, TutorDayOff.tutor_id == actor.id)
            ).rowcount
            return removed == 1, self._availability(session, actor.id)

    def set_video_link(self, actor: PersonView, text: str) -> VideoLinkSet:
        """A personal room URL, or "générer" for one generated room per meeting. Raises VideoLinkError.

        Decided: the new setting applies to the meetings already booked that have not started (see
        ``needs_new_link``): each gets the new link, its SEQUENCE bumped, and both sides the updated
        .ics; the auditeur is told why. The tutor's answer lists them."""
        require_role(actor, "change their video link", Role.TUTOR)
        mode, link = parse_video_link(text)
        now = self.now()
        with self._db.transaction() as session:
            row = self._settings_row(session, actor.id, create=True)
            old_room = row.video_link if row.video_mode == VideoMode.ROOM.value else None
            row.video_mode, row.video_link = mode.value, link
            session.flush()
            updated = []
            for meeting in self._future_booked(session, actor.id, now):
                if not needs_new_link(meeting.video_link, new_mode=mode, new_link=link, old_room=old_room):
                    continue
                previous = meeting.video_link
                meeting.video_link = link if mode is VideoMode.ROOM and link else generated_room_link(self._room_base)
                meeting.sequence += 1
                session.add(AuditEvent(actor_id=actor.id, subject_id=meeting.auditeur_id, action="meeting.link_changed",
                                       details={"meeting_id": meeting.id}))
                session.flush()
                session.refresh(meeting)
                view = meeting_view(meeting)
                self._tell(session, meeting.auditeur_id, view, kind="meeting.link_changed", method="REQUEST",
                           template="booking/link_changed.html", now=now, previous_link=previous)
                self._tell(session, meeting.tutor_id, view, kind="meeting.link_changed", method="REQUEST", template=None, now=now)
                updated.append(view)
            return VideoLinkSet(self._availability(session, actor.id), tuple(updated))

    def set_setting(self, actor: PersonView, name: str, value: int) -> AvailabilityView:
        """notice (minutes), horizon (days) or buffer (minutes), among the offered choices."""
        require_role(actor, "change their booking settings", Role.TUTOR)
        if value not in SETTING_CHOICES.get(name, ()):
            raise AvailabilityError(AvailabilityErrorCode.BAD_SETTING, setting=name, value=value)
        column = {"notice": "min_notice_minutes", "horizon": "horizon_days", "buffer": "buffer_minutes"}[name]
        with self._db.transaction() as session:
            row = self._settings_row(session, actor.id, create=True)
            setattr(row, column, value)
            session.flush()
            return self._availability(session, actor.id)

    # -- the auditeur's side (/rdv) ------------------------------------------------------------

    def budget(self, actor: PersonView) -> BudgetView:
        require_role(actor, "see their tutoring budget", Role.AUDITEUR)
        with self._db.read() as session:
            enrolment = self._enrolment(session, actor)
            settings = _settings_of(self._settings_row(session, enrolment.tutor_id))
            return self._budget(self._usages(session, enrolment.id), settings)

    def slot_page(
        self, actor: PersonView, minutes: int | None, index: int = 0, *, meeting_id: int | None = None
    ) -> SlotPage:
        """Free slots of the auditeur's own tutor, one week with slots per page.

        ``minutes`` None picks the first meeting's length (or the shortest allowed). With
        ``meeting_id`` the slots are those the meeting could move to (same length).
        """
        require_role(actor, "see free slots", Role.AUDITEUR)
        now = self.now()
        with self._db.read() as session:
            enrolment = self._enrolment(session, actor)
            tutor_id = enrolment.tutor_id
            settings = _settings_of(self._settings_row(session, tutor_id))
            budget = self._budget(self._usages(session, enrolment.id), settings)
            moving = None
            if meeting_id is not None:
                moving = session.get(Meeting, meeting_id)
                if moving is None or moving.auditeur_id != actor.id:
                    raise BookingError(BookingErrorCode.NOT_FOUND)
                if moving.status != "booked":
                    raise BookingError(BookingErrorCode.NOT_BOOKED)
                minutes = moving.duration_minutes
            else:
                if not budget.allowed_minutes:
                    raise BookingError("budget_exhausted", budget=budget)
                if minutes is None:
                    minutes = budget.allowed_minutes[0]
                problem = check_budget(timedelta(minutes=minutes), self._usages(session, enrolment.id), settings)
                if problem is not None:
                    raise BookingError(problem.value, budget=budget)
            duration = timedelta(minutes=minutes)
            if duration not in settings.durations:
                raise BookingError(BookingErrorCode.BAD_DURATION)
            slots = free_slots(
                self._windows(self._window_rows(session, tutor_id)),
                [DayOff(r.first_day, r.last_day) for r in self._day_off_rows(session, tutor_id, paris_date(now))],
                self._busy(session, tutor_id, now, exclude=meeting_id),
                settings,
                duration,
                now,
                self.calendar,
            )
            slots = self._after_first_meeting(session, enrolment.id, slots, moving)
            return SlotPage(
                tutor=person_view(enrolment.tutor),
                minutes=minutes,
                page=week_page(slots, index),
                budget=budget,
                meeting=meeting_view(moving) if moving is not None else None,
            )

    def _check_slot(
        self, session: Session, tutor_id: int, start_utc: datetime, duration: timedelta, settings: BookingSettings,
        now: datetime, *, exclude: int | None = None,
    ) -> None:
        problem = check_slot_bookable(
            start_utc,
            duration,
            windows=self._windows(self._window_rows(session, tutor_id)),
            days_off=[DayOff(r.first_day, r.last_day) for r in self._day_off_rows(session, tutor_id, paris_date(now))],
            busy=self._busy(session, tutor_id, now, exclude=exclude),
            settings=settings,
            now=now,
            calendar=self.calendar,
        )
        if problem is not None:
            raise BookingError(problem.value, start=start_utc)

    def _schedule_reminders(self, session: Session, meeting: Meeting, now: datetime) -> None:
        """Both sides get each reminder; the sender reloads the meeting when it is due (so a new
        video link or a cancellation is taken into account) and drops it once the meeting started."""
        due = reminder_times(meeting.start_at, self._reminder_rules, now=now)
        for person_id in (meeting.auditeur_id, meeting.tutor_id):
            for reminder in due:
                outbox.enqueue(
                    session,
                    recipient_id=person_id,
                    kind=REMINDER_KIND,
                    template="booking/reminder.html",
                    params={"meeting_id": meeting.id, "rule": str(reminder.kind)},
                    priority=outbox.Priority.REMINDER,
                    not_before=reminder.due_utc,
                    expires_at=meeting.start_at,
                    subject=(MEETING_SUBJECT, meeting.id),
                    dedupe_key=f"meeting:{meeting.id}:{meeting.sequence}:{reminder.kind}:{person_id}",
                    on_uncertain=outbox.DROP,  # a duplicate reminder is a nuisance; a lost one is not worse
                    now=now,
                )

    @staticmethod
    def _cancel_reminders(session: Session, meeting: Meeting) -> None:
        outbox.cancel_subject(session, MEETING_SUBJECT, meeting.id, kinds=[REMINDER_KIND])

    @staticmethod
    def _tell(
        session: Session,
        person_id: int,
        view: MeetingView,
        *,
        kind: str,
        method: str,
        template: str | None,
        now: datetime,
        **values,
    ) -> None:
        """One side of a meeting: a message (unless ``template`` is None: the person who acted has
        been answered already), then the calendar file. A missed notification is worse than a
        duplicate, so both are resent when the outcome of a send is unknown."""
        subject = (MEETING_SUBJECT, view.id)
        if template is not None:
            outbox.enqueue(
                session, recipient_id=person_id, kind=kind, template=template,
                params={"meeting": view, **values}, subject=subject, now=now,
            )
        outbox.enqueue(
            session,
            recipient_id=person_id,
            kind=f"{kind}.ics",
            document=outbox.Document(
                filename=ics_file_name(view),
                builder=ICS_BUILDER,
                builder_params={"meeting": view, "method": method},
                caption_template="booking/ics_caption.html",
                caption_params={"method": method},
            ),
            subject=subject,
            now=now,
        )

    @staticmethod
    def _after_first_meeting(session: Session, enrolment_id: int, slots: list, moving: Meeting | None) -> list:
        """Only the slots a follow-up may take (after the first meeting) or a first meeting may be moved
        to (before the follow-ups) are offered."""
        meetings = [
            m for m in session.scalars(
                select(Meeting).where(Meeting.enrolment_id == enrolment_id, Meeting.status.in_(("booked", "held")))
            )
            if moving is None or m.id != moving.id
        ]
        purpose = moving.purpose if moving is not None else (
            Purpose.FOLLOW_UP.value if any(m.purpose == Purpose.FIRST.value for m in meetings) else Purpose.FIRST.value
        )
        if purpose == Purpose.FOLLOW_UP.value:
            first_end = max((m.end_at for m in meetings if m.purpose == Purpose.FIRST.value), default=None)
            return [s for s in slots if first_end is None or s.start_utc >= first_end]
        follow_start = min((m.start_at for m in meetings if m.purpose == Purpose.FOLLOW_UP.value), default=None)
        return [s for s in slots if follow_start is None or s.end_utc <= follow_start]

    @staticmethod
    def _check_order(session: Session, enrolment_id: int, purpose: str, start_utc: datetime, end_utc: datetime,
                     *, exclude: int | None = None) -> None:
        """The premier rendez-vous comes first: a follow-up starts after the first meeting ends, and a
        first meeting cannot be moved after a follow-up already booked."""
        others = [
            m for m in session.scalars(
                select(Meeting).where(Meeting.enrolment_id == enrolment_id, Meeting.status.in_(("booked", "held")))
            )
            if m.id != exclude
        ]
        if purpose == Purpose.FOLLOW_UP.value:
            first = next((m for m in others if m.purpose == Purpose.FIRST.value), None)
            if first is not None and start_utc < first.end_at:
                raise BookingError(BookingErrorCode.BEFORE_FIRST_MEETING, first=first.start_at)
        else:
            follow_ups = [m.start_at for m in others if m.purpose == Purpose.FOLLOW_UP.value]
            if follow_ups and end_utc > min(follow_ups):
                raise BookingError(BookingErrorCode.AFTER_FOLLOW_UP, follow_up=min(follow_ups))

    def _check_new(
        self, session: Session, actor: PersonView, enrolment: Enrolment, start_utc: datetime, minutes: int, now: datetime
    ) -> tuple[TutorBookingSettings | None, BookingSettings, str]:
        """Every check of a new booking (already booked, budget, slot, order); the settings row, the
        settings and the purpose the meeting would have. Raises BookingError."""
        duration = timedelta(minutes=minutes)
        existing = session.scalar(
            select(Meeting).where(
                Meeting.enrolment_id == enrolment.id, Meeting.status == MeetingStatus.BOOKED.value,
                Meeting.start_at == start_utc, Meeting.duration_minutes == minutes,
            )
        )
        if existing is not None:  # a second press: the meeting is there, nothing more is booked
            raise BookingError(BookingErrorCode.ALREADY_BOOKED, meeting=meeting_view(existing))
        settings_row = self._settings_row(session, enrolment.tutor_id)
        settings = _settings_of(settings_row)
        usages = self._usages(session, enrolment.id)
        problem = check_budget(duration, usages, settings)
        if problem is not None:
            raise BookingError(problem.value, budget=self._budget(usages, settings))
        self._check_slot(session, enrolment.tutor_id, start_utc, duration, settings, now)
        purpose = (Purpose.FIRST if needs_first_meeting(usages) else Purpose.FOLLOW_UP).value
        self._check_order(session, enrolment.id, purpose, start_utc, start_utc + duration)
        return settings_row, settings, purpose

    def propose(self, actor: PersonView, start_utc: datetime, minutes: int) -> BookingProposal:
        """The slot the auditeur tapped, checked as a booking would be, but not stored: what the
        confirmation shows. Raises BookingError."""
        require_role(actor, "book a meeting", Role.AUDITEUR)
        now = self.now()
        with self._db.read() as session:
            enrolment = self._enrolment(session, actor)
            _, _, purpose = self._check_new(session, actor, enrolment, start_utc, minutes, now)
            return BookingProposal(
                tutor=person_view(enrolment.tutor), start_utc=start_utc, end_utc=start_utc + timedelta(minutes=minutes),
                purpose=Purpose(purpose), pending=pending_booking(minutes, start_utc, now),
            )

    def confirm(
        self, actor: PersonView, pending: PendingBooking | None, minutes: int, start_utc: datetime, *, topic: str | None = None
    ) -> MeetingView:
        """Book the slot waiting for confirmation (``pending``, from the auditeur's conversation) if the
        confirmation pressed or typed is for it, with the topic cleaned. An old or forged confirmation
        is refused (nothing stored); one for a meeting booked already says so. Raises BookingError."""
        require_role(actor, "book a meeting", Role.AUDITEUR)
        cleaned = clean_topic(topic)
        problem = check_confirmation(pending, minutes, start_utc, self.now())
        if problem is not None:
            with self._db.read() as session:
                existing = session.scalar(
                    select(Meeting).where(
                        Meeting.auditeur_id == actor.id, Meeting.status == MeetingStatus.BOOKED.value, Meeting.start_at == start_utc
                    )
                )
                if existing is not None:
                    raise BookingError(BookingErrorCode.ALREADY_BOOKED, meeting=meeting_view(existing))
            raise BookingError(problem.value)
        return self.book(actor, start_utc, minutes, topic=cleaned)

    def book(self, actor: PersonView, start_utc: datetime, minutes: int, *, topic: str | None = None) -> MeetingView:
        """Book a meeting with the auditeur's own tutor. Raises BookingError (nothing stored)."""
        require_role(actor, "book a meeting", Role.AUDITEUR)
        now = self.now()
        duration = timedelta(minutes=minutes)
        topic = clean_topic(topic)
        try:
            with self._db.transaction() as session:
                enrolment = self._enrolment(session, actor, lock=True)
                settings_row, settings, purpose = self._check_new(session, actor, enrolment, start_utc, minutes, now)
                if settings_row is not None and settings_row.video_mode == VideoMode.ROOM and settings_row.video_link:
                    link = settings_row.video_link
                else:
                    link = generated_room_link(self._room_base)
                meeting = Meeting(
                    tutor_id=enrolment.tutor_id,
                    auditeur_id=actor.id,
                    enrolment_id=enrolment.id,
                    start_at=start_utc,
                    end_at=start_utc + duration,
                    blocked_until=start_utc + duration + settings.buffer,
                    duration_minutes=minutes,
                    status=MeetingStatus.BOOKED.value,
                    purpose=purpose,
                    sequence=0,
                    video_link=link,
                    topic=topic,
                )
                session.add(meeting)
                session.flush()
                self._schedule_reminders(session, meeting, now)
                session.add(
                    AuditEvent(
                        actor_id=actor.id,
                        subject_id=actor.id,
                        action="meeting.booked",
                        details={"meeting_id": meeting.id, "start": start_utc.isoformat(), "minutes": minutes},
                    )
                )
                session.flush()
                session.refresh(meeting)
                view = meeting_view(meeting)
                self._tell(session, meeting.auditeur_id, view, kind="meeting.booked", method="REQUEST", template=None, now=now)
                self._tell(
                    session, meeting.tutor_id, view, kind="meeting.booked", method="REQUEST",
                    template="booking/tutor_booked.html", now=now,
                )
                return view
        except IntegrityError as error:
            if not _is_overlap(error):
                raise
            log.info("slot %s taken meanwhile (auditeur %s)", start_utc.isoformat(), actor.id)
            raise BookingError(BookingErrorCode.TAKEN, start=start_utc) from None

    def reschedule(self, actor: PersonView, meeting_id: int, start_utc: datetime) -> tuple[MeetingView, datetime]:
        """Move a booked meeting; the old slot stays booked unless the new one is secured.

        Returns the moved meeting and its previous start. Same UID, SEQUENCE bumped.
        """
        require_role(actor, "move a meeting", Role.AUDITEUR)
        now = self.now()
        try:
            with self._db.transaction() as session:
                meeting, settings, duration = self._checked_move(session, actor, meeting_id, start_utc, now, lock=True)
                previous = meeting.start_at
                meeting.rescheduled_from = previous
                meeting.start_at = start_utc
                meeting.end_at = start_utc + duration
                meeting.blocked_until = start_utc + duration + settings.buffer
                meeting.sequence += 1
                session.flush()
                self._cancel_reminders(session, meeting)
                self._schedule_reminders(session, meeting, now)
                session.add(
                    AuditEvent(
                        actor_id=actor.id,
                        subject_id=meeting.auditeur_id,
                        action="meeting.rescheduled",
                        details={"meeting_id": meeting.id, "from": previous.isoformat(), "to": start_utc.isoformat()},
                    )
                )
                session.flush()
                session.refresh(meeting)
                view = meeting_view(meeting)
                self._tell(session, meeting.auditeur_id, view, kind="meeting.moved", method="REQUEST", template=None, now=now)
                self._tell(
                    session, meeting.tutor_id, view, kind="meeting.moved", method="REQUEST",
                    template="booking/moved.html", now=now, previous=previous, to_tutor=True,
                )
                return view, previous
        except IntegrityError as error:
            if not _is_overlap(error):
                raise
            raise BookingError(BookingErrorCode.TAKEN, start=start_utc) from None

    def propose_move(self, actor: PersonView, meeting_id: int, start_utc: datetime) -> tuple[MeetingView, datetime]:
        """The new slot the auditeur tapped for a meeting, checked as `reschedule` would, nothing
        changed: what the confirmation shows (the meeting, and the new end). Raises BookingError."""
        require_role(actor, "move a meeting", Role.AUDITEUR)
        with self._db.read() as session:
            meeting, _, duration = self._checked_move(session, actor, meeting_id, start_utc, self.now(), lock=False)
            return meeting_view(meeting), start_utc + duration

    def _checked_move(
        self, session: Session, actor: PersonView, meeting_id: int, start_utc: datetime, now: datetime, *, lock: bool
    ) -> tuple[Meeting, BookingSettings, timedelta]:
        """The auditeur's own booked meeting, movable now to a free slot in its order (or BookingError)."""
        self._enrolment(session, actor, lock=lock)
        query = select(Meeting).where(Meeting.id == meeting_id)
        meeting = session.scalar(query.with_for_update() if lock else query)
        if meeting is None or meeting.auditeur_id != actor.id:
            raise BookingError(BookingErrorCode.NOT_FOUND)
        if meeting.status != MeetingStatus.BOOKED:
            raise BookingError(BookingErrorCode.NOT_BOOKED)
        settings = _settings_of(self._settings_row(session, meeting.tutor_id))
        self._check_cancellable(meeting, now, settings, by_tutor=False)
        duration = timedelta(minutes=meeting.duration_minutes)
        self._check_slot(session, meeting.tutor_id, start_utc, duration, settings, now, exclude=meeting.id)
        self._check_order(session, meeting.enrolment_id, meeting.purpose, start_utc, start_utc + duration, exclude=meeting.id)
        return meeting, settings, duration

    @staticmethod
    def _check_cancellable(meeting: Meeting, now: datetime, settings: BookingSettings, *, by_tutor: bool) -> None:
        problem = check_cancellable(meeting.start_at, now, settings, by_tutor=by_tutor)
        if problem is CancelErrorCode.ALREADY_STARTED:
            raise BookingError(BookingErrorCode.ALREADY_STARTED)
        if problem is CancelErrorCode.TOO_LATE:
            raise BookingError(BookingErrorCode.TOO_LATE_TO_CANCEL, notice=settings.min_notice)

    def _own_meeting(self, session: Session, actor: PersonView, meeting_id: int) -> Meeting:
        meeting = session.scalar(select(Meeting).where(Meeting.id == meeting_id).with_for_update())
        if meeting is None:
            raise BookingError(BookingErrorCode.NOT_FOUND)
        if actor.role is Role.AUDITEUR and meeting.auditeur_id == actor.id:
            return meeting
        if actor.role is Role.TUTOR and meeting.tutor_id == actor.id:
            return meeting
        if actor.role is Role.STAFF:
            return meeting
        raise BookingError(BookingErrorCode.NOT_FOUND)

    def cancel(self, actor: PersonView, meeting_id: int) -> MeetingView:
        """The auditeur cancels until the notice limit; the tutor (or staff) until it starts.

        The budget is given back (a cancelled meeting does not count) and its reminders cancelled.
        """
        require_role(actor, "cancel a meeting", Role.AUDITEUR, Role.TUTOR, Role.STAFF)
        now = self.now()
        with self._db.transaction() as session:
            meeting = self._own_meeting(session, actor, meeting_id)
            if meeting.status != MeetingStatus.BOOKED:
                raise BookingError(BookingErrorCode.NOT_BOOKED)
            settings = _settings_of(self._settings_row(session, meeting.tutor_id))
            self._check_cancellable(meeting, now, settings, by_tutor=actor.role is not Role.AUDITEUR)
            return self._cancel_row(session, meeting, actor, now, settings)

    def _cancel_row(
        self, session: Session, meeting: Meeting, actor: PersonView, now: datetime, settings: BookingSettings,
        *, reason: str | None = None, follow_ups: list[MeetingView] | None = None,
    ) -> MeetingView:
        """Cancel one booked meeting in this transaction: reminders dropped, the time given back, both
        sides told (the one who acted has been answered: only the .ics CANCEL), follow-ups of a first
        meeting cancelled with it. ``reason`` "day_off": the tutor's day off, said to the auditeur."""
        meeting.status = MeetingStatus.CANCELLED.value
        meeting.cancelled_at = now
        meeting.cancelled_by_id = actor.id or None
        meeting.sequence += 1
        self._cancel_reminders(session, meeting)
        session.add(
            AuditEvent(
                actor_id=actor.id or None,
                subject_id=meeting.auditeur_id,
                action="meeting.cancelled",
                details={"meeting_id": meeting.id, "by": actor.role.value, **({"reason": reason} if reason else {})},
            )
        )
        session.flush()
        session.refresh(meeting)
        view = meeting_view(meeting)
        by_tutor = actor.role is not Role.AUDITEUR
        budget = self._budget(self._usages(session, meeting.enrolment_id), settings)
        for person_id, to_tutor in ((meeting.auditeur_id, False), (meeting.tutor_id, True)):
            acted = person_id == actor.id
            self._tell(
                session, person_id, view, kind="meeting.cancelled", method="CANCEL",
                template=None if acted else "booking/cancelled.html", now=now,
                by_tutor=by_tutor, to_tutor=to_tutor, budget=budget, reason=reason,
            )
        if meeting.purpose == Purpose.FIRST.value:
            cascaded = self._cancel_follow_ups(session, meeting, actor, now)
            if follow_ups is not None:
                follow_ups.extend(cascaded)
        return view

    def _cancel_follow_ups(self, session: Session, first: Meeting, actor: PersonView, now: datetime) -> list[MeetingView]:
        """Decided: without its premier rendez-vous no follow-up stands (a follow-up may not come
        before the first meeting). Cancelling the first meeting, whoever does it, cancels the
        follow-ups booked after it, gives their time back and tells both sides (with the .ics
        CANCEL); the auditeur books a first meeting again, then follow-ups."""
        follow_ups = session.scalars(
            select(Meeting).where(
                Meeting.enrolment_id == first.enrolment_id, Meeting.status == MeetingStatus.BOOKED.value,
                Meeting.purpose == Purpose.FOLLOW_UP.value,
            ).with_for_update()
        ).all()
        views = []
        for meeting in follow_ups:
            meeting.status = MeetingStatus.CANCELLED.value
            meeting.cancelled_at = now
            meeting.cancelled_by_id = actor.id or None
            meeting.sequence += 1
            self._cancel_reminders(session, meeting)
            session.add(AuditEvent(actor_id=actor.id or None, subject_id=meeting.auditeur_id, action="meeting.cancelled",
                                   details={"meeting_id": meeting.id, "by": "first_meeting_cancelled"}))
            session.flush()
            session.refresh(meeting)
            view = meeting_view(meeting)
            for person_id, to_tutor in ((meeting.auditeur_id, False), (meeting.tutor_id, True)):
                self._tell(session, person_id, view, kind="meeting.cancelled.follow_up", method="CANCEL",
                           template="booking/follow_up_cancelled.html", now=now, to_tutor=to_tutor)
            views.append(view)
        return views

    def mark(self, actor: PersonView, meeting_id: int, status: MeetingStatus) -> MeetingView:
        """The tutor records a meeting as held or missed (once it has started)."""
        require_role(actor, "mark a meeting", Role.TUTOR, Role.STAFF)
        if status not in (MeetingStatus.HELD, MeetingStatus.MISSED):
            raise ValueError(f"a meeting is marked held or missed, not {status}")
        now = self.now()
        with self._db.transaction() as session:
            meeting = self._own_meeting(session, actor, meeting_id)
            if meeting.status == MeetingStatus.CANCELLED:
                raise BookingError(BookingErrorCode.NOT_BOOKED)
            if now < meeting.start_at:
                raise BookingError(BookingErrorCode.NOT_STARTED)
            meeting.status = status.value
            self._cancel_reminders(session, meeting)
            if (status is MeetingStatus.HELD and meeting.purpose == Purpose.FIRST.value
                    and self._accompaniment is not None):  # step 2: the tutor records the planning next
                self._accompaniment.on_first_meeting_held(session, meeting.enrolment, actor, now)
            session.add(
                AuditEvent(
                    actor_id=actor.id or None,
                    subject_id=meeting.auditeur_id,
                    action=f"meeting.{status.value}",
                    details={"meeting_id": meeting.id},
                )
            )
            session.flush()
            session.refresh(meeting)
            view = meeting_view(meeting)
            if status is MeetingStatus.MISSED:  # the auditeur learns it counts as used
                outbox.enqueue(
                    session, recipient_id=meeting.auditeur_id, kind="meeting.missed", template="booking/missed_auditeur.html",
                    params={"meeting": view}, subject=(MEETING_SUBJECT, meeting.id), now=now,
                )
            return view

    # -- listing -------------------------------------------------------------------------------

    def meeting(self, actor: PersonView, meeting_id: int) -> MeetingView:
        with self._db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None or not (
                actor.role is Role.STAFF
                or (actor.role is Role.AUDITEUR and meeting.auditeur_id == actor.id)
                or (actor.role is Role.TUTOR and meeting.tutor_id == actor.id)
            ):
                raise BookingError(BookingErrorCode.NOT_FOUND)
            return meeting_view(meeting)

    def meetings_of(self, actor: PersonView) -> list[MeetingView]:
        """An auditeur: all meetings of their active enrolment. A tutor: those still booked
        (upcoming, or past and waiting to be marked held or missed)."""
        require_role(actor, "list meetings", Role.AUDITEUR, Role.TUTOR)
        with self._db.read() as session:
            if actor.role is Role.AUDITEUR:
                enrolment = self._enrolment(session, actor)
                query = select(Meeting).where(Meeting.enrolment_id == enrolment.id)
            else:
                query = select(Meeting).where(Meeting.tutor_id == actor.id, Meeting.status == MeetingStatus.BOOKED.value)
            return [meeting_view(m) for m in session.scalars(query.order_by(Meeting.start_at, Meeting.id))]

    def changeable_ids(self, actor: PersonView, meetings: list[MeetingView]) -> set[int]:
        """The auditeur's meetings they may still cancel or move online now (outside the notice):
        only those get a button, so no button is offered that the service would refuse."""
        require_role(actor, "list meetings", Role.AUDITEUR)
        now = self.now()
        with self._db.read() as session:
            settings: dict[int, BookingSettings] = {}
            allowed = set()
            for meeting in meetings:
                if meeting.status is not MeetingStatus.BOOKED or meeting.auditeur.id != actor.id:
                    continue
                tutor_id = meeting.tutor.id
                if tutor_id not in settings:
                    settings[tutor_id] = _settings_of(self._settings_row(session, tutor_id))
                if check_cancellable(meeting.start_utc, now, settings[tutor_id], by_tutor=False) is None:
                    allowed.add(meeting.id)
            return allowed

    def history_of(self, actor: PersonView, limit: int = 10) -> list[MeetingView]:
        """A tutor's meetings marked held or missed, latest first: the list keeps their history."""
        require_role(actor, "list meetings", Role.TUTOR)
        with self._db.read() as session:
            query = (
                select(Meeting)
                .where(
                    Meeting.tutor_id == actor.id,
                    Meeting.status.in_((MeetingStatus.HELD.value, MeetingStatus.MISSED.value)),
                )
                .order_by(Meeting.start_at.desc(), Meeting.id.desc())
                .limit(limit)
            )
            return [meeting_view(m) for m in session.scalars(query)]

    def reminder_values(self, meeting_id: int, person_id: int, rule: str, now: datetime) -> dict | None:
        """What a due meeting reminder says, read when it is sent; None when it no longer applies."""
        with self._db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None or meeting.status != MeetingStatus.BOOKED or meeting.start_at <= now:
                return None
            view = meeting_view(meeting)
        return {
            "meeting": view,
            "kind": rule,
            "to_tutor": person_id == view.tutor.id,
            "minutes_left": int((view.start_utc - now).total_seconds() // 60),
            "day_offset": (paris_date(view.start_utc) - paris_date(now)).days,
        }

    def meeting_for_reminder(self, meeting_id: int) -> MeetingView | None:
        """For the reminder job (no actor: the job acts for the system)."""
        with self._db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            return meeting_view(meeting) if meeting is not None else None


def ics_file_name(meeting: MeetingView) -> str:
    """Distinct per meeting, readable: ``rdv-2026-12-02-1030.ics`` (Paris time)."""
    local = meeting.start_utc.astimezone(PARIS)
    return f"rdv-{local:%Y-%m-%d-%H%M}.ics"


def seed_demo_availability(services, cast) -> None:
    """Demo seeder: the tutor is available Monday to Friday 9h-12h and 14h-17h, with a personal room."""
    tutor = cast.tutor.person
    services.booking.add_windows(tutor, "du lundi au vendredi 9h-12h 14h-17h")
    services.booking.set_video_link(tutor, "https://meet.jit.si/coachbot-demo-marc-dubois")
