"""The composition of the services (``Services.build``): each setting reaches the service that uses
it, and one clock, pinned once, dates what every service stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.domain.broadcasts import Audience
from bot.domain.permissions import COMMAND_LINE
from bot.services.container import Services
from bot.services.directory import TelegramIdentity
from bot.storage.models import AcademicYearRow, Accompaniment, AuditEvent, Invitation, OutboxMessage
from tests.clock import Clock
from tests.conftest import STAFF_ID, base_settings


def _services(db, **env) -> Services:
    return Services.build(base_settings(**env), db)


def test_delivery_settings_reach_the_outbox_and_the_broadcasts(db):
    services = _services(db, TELEGRAM_RATE_PER_SECOND="12", TELEGRAM_PER_CHAT_INTERVAL_MS="750",
                         OUTBOX_MAX_ATTEMPTS="5", OUTBOX_RETRY_BASE_MS="300", OUTBOX_STALE_AFTER_SECONDS="40",
                         TELEGRAM_PAID_BROADCAST="true", TIMEZONE="Europe/Paris")
    rate, retry = services.outbox.rate, services.outbox.retry
    assert (rate.per_second, rate.burst, rate.per_chat_interval) == (12.0, 12.0, timedelta(milliseconds=750))
    assert (retry.max_attempts, retry.base_delay, retry.stale_after) == (5, timedelta(milliseconds=300),
                                                                       timedelta(seconds=40))
    assert retry.delay(3) == timedelta(milliseconds=1200)
    assert services.broadcasts.per_second == 12.0 and services.broadcasts.paid_broadcast is True
    assert str(services.broadcasts.timezone) == "Europe/Paris"
    assert services.outbox.instance  # each instance names itself in its claims


def test_the_burst_is_at_least_one_message(db):
    services = _services(db, TELEGRAM_RATE_PER_SECOND="1")
    assert services.outbox.rate.burst == 1.0 and services.broadcasts.paid_broadcast is False


def test_retention_and_invitation_lifetime_come_from_the_settings(db):
    services = _services(db, RETENTION_MONTHS="18", INVITATION_TTL_DAYS="5")
    assert services.personal_data.retention_months == 18
    pinned = datetime(2027, 1, 11, 9, 30, tzinfo=UTC)
    services.clock = Clock(pinned)
    issued = services.onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    assert issued.expires_at == pinned + timedelta(days=5)


def test_the_opinion_delay_comes_from_the_settings_and_the_rest_of_the_policy_stays(db):
    from bot.domain.accompaniment import ReminderPolicy

    policy = _services(db, OPINION_DAYS="21").accompaniment.policy
    assert policy == ReminderPolicy(opinion_days=21)
    assert _services(db).accompaniment.policy == ReminderPolicy()


def test_one_pinned_clock_dates_what_every_service_stores(db):
    services = _services(db)
    services.clock = Clock(datetime(2027, 1, 11, 9, 30, tzinfo=UTC))
    tutor = services.onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    services.clock.now += timedelta(days=1)
    issued = services.onboarding.enrol_auditeur(COMMAND_LINE, name="Léa Bernard", tutor=tutor.person.id,
                                                report_type="ua", semester="2026-S2", certification="Licence pro")
    with db.read() as session:
        expiries = sorted(session.scalars(sa.select(Invitation.expires_at)))
    assert [e.replace(tzinfo=UTC) for e in expiries] == [datetime(2027, 1, 25, 9, 30, tzinfo=UTC),
                                                        datetime(2027, 1, 26, 9, 30, tzinfo=UTC)]
    assert issued.expires_at == datetime(2027, 1, 26, 9, 30, tzinfo=UTC)
    with db.read() as session:
        moved = session.scalar(sa.select(Accompaniment.moved_at))
    assert moved.replace(tzinfo=UTC) == datetime(2027, 1, 12, 9, 30, tzinfo=UTC)  # the accompaniment's clock too


def test_configured_staff_are_known_to_the_directory(db):
    services = _services(db)
    staff = services.directory.identify(TelegramIdentity(STAFF_ID, "Sophie", "Staff"))
    assert staff is not None and staff.role == "staff"
    assert services.directory.identify(TelegramIdentity(STAFF_ID + 1, "Inconnu", None)) is None


def test_invitations_are_e_mailed_only_when_smtp_is_configured(db):
    plain = _services(db)
    tutor = plain.onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    plain.onboarding.enrol_auditeur(COMMAND_LINE, name="Léa Bernard", tutor=tutor.person.id, report_type="ua",
                                    semester="2026-S2", certification="Licence pro", email="lea@exemple.fr")
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).where(OutboxMessage.kind == "email.invitation")) == 0
    mailing = _services(db, SMTP_HOST="smtp.exemple.fr", SMTP_FROM="accompagnement@exemple.fr",
                        TELEGRAM_BOT_USERNAME="coachbot_test")
    sami = mailing.onboarding.enrol_auditeur(COMMAND_LINE, name="Sami Nour", tutor=tutor.person.id, report_type="ua",
                                             semester="2026-S2", certification="Licence pro", email="sami@exemple.fr")
    with db.read() as session:
        [params] = session.scalars(sa.select(OutboxMessage.params).where(OutboxMessage.kind == "email.invitation"))
        assert params["link"] == f"https://t.me/coachbot_test?start={sami.code}"
        assert params["contact"] == mailing.settings.cnam_contact and params["contact"]
        assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auditeur.enrolled")) == 2


def test_every_service_shares_the_database_the_clock_and_the_calendars(db):
    """A tour: each service built by the container stores through the same database, dated by the
    pinned clock; the booking and the accompaniment read one holiday calendar, the accompaniment
    and the broadcasts one academic calendar, and the broadcasts see the accompaniment's steps."""
    from bot.domain.deposit import Annex
    from bot.storage.models import DepositInProgress, DraftVersion, Person
    from tests.storage.test_drafts_storage import _review

    services = _services(db, HOLIDAYS_ALSACE_MOSELLE="true", SCHOOL_HOLIDAY_ZONE="C")
    pinned = datetime(2027, 1, 11, 9, 30, tzinfo=UTC)
    services.clock = Clock(pinned)
    assert services.booking.calendar is services.accompaniment.calendar
    assert (services.booking.calendar.alsace_moselle, services.booking.calendar.school_zone) == (True, "C")
    assert services.accompaniment.academic is services.broadcasts.academic
    assert services.booking.now() == pinned

    tutor = services.onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    issued = services.onboarding.enrol_auditeur(COMMAND_LINE, name="Léa Bernard", tutor=tutor.person.id,
                                                report_type="ua", semester="2026-S2", certification="Licence pro")
    lea = services.onboarding.redeem(3001, services.onboarding.check_code(3001, issued.code).invitation_id,
                                     notice_version="t").person
    staff = services.directory.identify(TelegramIdentity(STAFF_ID, "Sophie", "Staff"))
    with db.read() as session:
        assert session.get(Person, lea.id).bound_at.replace(tzinfo=UTC) == pinned
        assert session.get(Person, staff.id).bound_at.replace(tzinfo=UTC) == pinned  # the directory's clock

    choices = services.broadcasts.audience_choices(staff)
    assert choices.semesters == ["2026-S2"] and choices.certifications == ["Licence pro"]
    assert choices.stages and sum(count for _, count in choices.stages) == 1  # the accompaniment's steps

    services.clock.now += timedelta(hours=1)
    version = services.drafts.record(lea, review=_review("a" * 64), file_name="v1.pdf", telegram_file_id="F1").version
    services.deposits.add_annex(lea, Annex("A1", "Organigramme", 2))
    overview = services.coaching.overview(lea)
    assert overview.report_type == "ua" and overview.rows and overview.active_section is None
    services.conversations.set(3001, "coach", "menu")
    assert services.conversations.get(3001).flow == "coach"
    with db.read() as session:
        assert session.get(DraftVersion, version.id).received_at.replace(tzinfo=UTC) == pinned + timedelta(hours=1)
        assert session.get(DepositInProgress, lea.id).created_at.replace(tzinfo=UTC) == pinned + timedelta(hours=1)
    assert services.personal_data.export(COMMAND_LINE, lea.id)["deposit_in_progress"]["annexes"] == [
        {"title": "Organigramme", "pages": 2}]
    assert services.catalogue.section("choix") is not None
    assert services.db is db and services.settings.school_holiday_zone == "C"
    assert services.booking.meetings_of(lea) == []
    assert services.accompaniment.status(lea).stage == "enrolled"
    assert services.accompaniment.grid_of(tutor_view(services, tutor.person.id), lea.id) == services.catalogue.grid
    assert services.broadcasts.count(staff, Audience.parse("etape:enrolled")).reachable == 1  # steps: the accompaniment's
    year = services.accompaniment.academic.calendar().year(2026)
    services.accompaniment.set_academic_year(staff, year)
    with db.read() as session:
        stored = session.get(AcademicYearRow, 2026)
        assert (stored.updated_by_id, stored.updated_at.replace(tzinfo=UTC)) == (staff.id, services.clock.now)


def tutor_view(services, person_id):
    from bot.services.directory import person_view
    from bot.storage.models import Person

    with services.db.read() as session:
        return person_view(session.get(Person, person_id))
