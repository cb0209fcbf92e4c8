"""Storage behaviour of onboarding, on SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.domain.invitations import RedeemError, RedeemProblem
from bot.domain.people import PersonView, Role
from bot.domain.permissions import COMMAND_LINE, PermissionDenied
from bot.services.conversations import Conversations
from bot.services.directory import Directory, TelegramIdentity
from bot.services.onboarding import EnrolmentError, Onboarding
from bot.services.people_cache import PeopleCache
from bot.storage.migrate import current_revisions, head_revisions
from bot.storage.models import AuditEvent, Base, Enrolment, Invitation, Person, SignInThrottle


@pytest.fixture
def onboarding(db):
    return Onboarding(db, invitation_ttl=timedelta(days=14))


def _tutor(onboarding, db, telegram_id=2001):
    issued = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois", email="marc@exemple.fr")
    pending = onboarding.check_code(telegram_id, issued.code)
    return onboarding.redeem(telegram_id, pending.invitation_id, notice_version="test").person


def test_migrations_match_the_models(db):
    assert current_revisions(db.engine) == head_revisions()
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_timestamps_come_back_in_utc(db, onboarding):
    issued = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    with db.read() as session:
        invitation = session.scalar(sa.select(Invitation))
        assert invitation.expires_at.tzinfo is not None
        assert invitation.expires_at == issued.expires_at


def test_enrolment_binds_and_records_consent_and_history(db, onboarding):
    tutor = _tutor(onboarding, db)
    issued = onboarding.enrol_auditeur(
        COMMAND_LINE, name="Léa Bernard", tutor="dubois", report_type="ua", semester="2026-s1",
        certification="Licence pro",
    )
    assert issued.enrolment.tutor.id == tutor.id and issued.enrolment.semester == "2026-S1"
    bound = onboarding.redeem(3001, onboarding.check_code(3001, issued.code).invitation_id, notice_version="v1")
    assert bound.person.telegram_user_id == 3001 and bound.enrolment.id == issued.enrolment.id
    with db.read() as session:
        actions = [e.action for e in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
        assert actions == ["tutor.invited", "telegram.bound", "auditeur.enrolled", "telegram.bound"]
    with pytest.raises(RedeemError) as again:
        onboarding.check_code(3999, issued.code)
    assert again.value.problem is RedeemProblem.USED


def test_bad_staff_input_is_refused_and_nothing_stored(db, onboarding):
    _tutor(onboarding, db)
    cases = [
        ({"name": "  "}, "name_missing"),
        ({"name": "x" * 121}, "name_too_long"),
        ({"tutor": "personne"}, "tutor_unknown"),
        ({"report_type": "these"}, "report_type_invalid"),
        ({"semester": "2026-S3"}, "semester_invalid"),
    ]
    base = dict(name="Léa", tutor="Marc", report_type="ua", semester="2026-S1", certification="Licence")
    for change, code in cases:
        with pytest.raises(EnrolmentError) as caught:
            onboarding.enrol_auditeur(COMMAND_LINE, **{**base, **change})
        assert caught.value.code == code
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0


def test_only_staff_may_enrol(db, onboarding):
    tutor = _tutor(onboarding, db)
    with pytest.raises(PermissionDenied):
        onboarding.enrol_auditeur(tutor, name="X", tutor=tutor.id, report_type="ua", semester="2026-S1", certification="L")
    with pytest.raises(PermissionDenied):
        onboarding.invite_tutor(PersonView(id=99, role=Role.AUDITEUR, display_name="A", telegram_user_id=5), "Y")


def test_one_active_enrolment_per_auditeur_is_enforced_by_the_database(db, onboarding):
    tutor = _tutor(onboarding, db)
    issued = onboarding.enrol_auditeur(
        COMMAND_LINE, name="Léa", tutor=tutor.id, report_type="ua", semester="2026-S1", certification="L"
    )
    with pytest.raises(sa.exc.IntegrityError):
        with db.transaction() as session:
            session.add(Enrolment(auditeur_id=issued.person.id, tutor_id=tutor.id, certification="L", report_type="ua", semester="2026-S1"))
    with db.transaction() as session:
        session.execute(sa.update(Enrolment).values(status="closed"))
        session.add(Enrolment(auditeur_id=issued.person.id, tutor_id=tutor.id, certification="L", report_type="stage", semester="2026-S2"))


def test_two_accounts_racing_for_one_code_only_one_wins(db, onboarding):
    issued = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    invitation_id = onboarding.check_code(5000, issued.code).invitation_id

    def attempt(telegram_id: int):
        try:
            return onboarding.redeem(telegram_id, invitation_id, notice_version="t").person.telegram_user_id
        except RedeemError as error:
            return error.problem

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(5000, 5016)))
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1
    assert all(r is RedeemProblem.USED for r in results if not isinstance(r, int))
    with db.read() as session:
        assert session.scalar(sa.select(Person.telegram_user_id).where(Person.id == issued.person.id)) == winners[0]


def test_throttle_is_persisted(db, onboarding):
    now = datetime(2026, 11, 24, 10, tzinfo=UTC)
    for i in range(5):
        with pytest.raises(RedeemError):
            onboarding.check_code(7000, f"ZZZZZZZZZZZ{i + 2}", now=now)
    with db.read() as session:
        throttle = session.get(SignInThrottle, 7000)
        assert throttle.failures == 5 and throttle.locked_until == now + timedelta(minutes=15)
    fresh = Onboarding(db, invitation_ttl=timedelta(days=14))  # another instance, same database
    with pytest.raises(RedeemError) as caught:
        fresh.check_code(7000, "ZZZZZZZZZZZZ", now=now + timedelta(minutes=1))
    assert caught.value.problem is RedeemProblem.THROTTLED


def test_configured_staff_are_provisioned_and_blocking_is_recorded(db):
    directory = Directory(db, [1001])
    staff = directory.identify(TelegramIdentity(1001, "Claire", "Martin"))
    assert staff.role is Role.STAFF and staff.display_name == "Claire Martin"
    assert directory.identify(TelegramIdentity(1001, "Claire")).id == staff.id
    assert directory.identify(TelegramIdentity(4242, "Nobody")) is None
    assert Directory(db, []).identify(TelegramIdentity(1001, "Claire")) is None  # removed from config
    assert directory.set_blocked(1001, True).blocked is True
    assert directory.set_blocked(1001, False).blocked is False


def test_conversation_state_round_trips(db):
    conversations = Conversations(db)
    conversations.set(1, "staff_enrol", "tutor", {"name": "Léa <b>", "n": 3})
    again = Conversations(db).get(1)
    assert again.flow == "staff_enrol" and again.data == {"name": "Léa <b>", "n": 3}
    conversations.clear(1, flow="other")
    assert conversations.get(1) is not None
    conversations.clear(1)
    assert conversations.get(1) is None


def test_the_services_clock_dates_codes_bindings_and_blocks(db):
    """Onboarding and the directory take "now" from the injected clock, never from the system."""
    pinned = datetime(2026, 10, 5, 8, 30, tzinfo=UTC)
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14), clock=lambda: pinned)
    directory = Directory(db, [1001], clock=lambda: pinned)
    issued = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    assert issued.expires_at == pinned + timedelta(days=14)
    pending = onboarding.check_code(2001, issued.code)
    onboarding.redeem(2001, pending.invitation_id, notice_version="test")
    staff = directory.identify(TelegramIdentity(1001, "Claire"))
    directory.set_blocked(2001, True)
    with db.read() as session:
        tutor = session.scalar(sa.select(Person).where(Person.telegram_user_id == 2001))
        assert tutor.bound_at == pinned and tutor.blocked_bot_at == pinned
        assert session.get(Person, staff.id).bound_at == pinned


def test_people_who_just_wrote_are_known_without_a_read_until_they_change(db, onboarding):
    directory = Directory(db, [1001], cache=PeopleCache(ttl=60))
    tutor = _tutor(onboarding, db)
    assert directory.recently_identified(2001) is None  # never identified here
    assert directory.identify(TelegramIdentity(2001, "Marc")) == tutor
    assert directory.recently_identified(2001) == tutor
    directory.set_blocked(2001, True)  # blocked: forgotten, read again (blocked) next time
    assert directory.recently_identified(2001) is None
    assert directory.identify(TelegramIdentity(2001, "Marc")).blocked
    directory.forget(2001)  # e.g. just bound or erased by this instance
    assert directory.recently_identified(2001) is None
    assert directory.identify(TelegramIdentity(7777, "Nobody")) is None
    assert directory.recently_identified(7777) is None  # unknown accounts are never remembered
    assert Directory(db, [], cache=PeopleCache(ttl=0, followed_ttl=0)).recently_identified(2001) is None


def test_prerequisites_are_checked_and_recorded_by_the_service(db, onboarding):
    _tutor(onboarding, db)
    base = dict(name="Léa Bernard", tutor="dubois", report_type="ua", semester="2026-S1", certification="Licence pro")
    for units, experience, code in ((1, "justified", "units_below_minimum"), (2, "missing", "experience_missing"),
                                    (-1, "justified", "units_invalid"), (2, "oui", "experience_invalid")):
        with pytest.raises(EnrolmentError) as refused:
            onboarding.enrol_auditeur(COMMAND_LINE, **base, units_validated=units, experience=experience)
        assert refused.value.code == code
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0
    issued = onboarding.enrol_auditeur(COMMAND_LINE, **base, units_validated=2, experience="in_progress")
    assert (issued.enrolment.units_validated, issued.enrolment.experience) == (2, "in_progress")


def test_team_tools_are_for_staff_only_and_refuse_staff_targets(db, onboarding):
    from bot.domain.permissions import PermissionDenied

    tutor = _tutor(onboarding, db)
    issued = onboarding.enrol_auditeur(
        COMMAND_LINE, name="Léa Bernard", tutor=tutor.id, report_type="ua", semester="2026-S1", certification="L",
    )
    for use_case in (onboarding.revoke, onboarding.unbind, onboarding.member, onboarding.reissue):
        with pytest.raises(PermissionDenied):
            use_case(tutor, issued.person.id)  # a tutor pressing a forged team button
    with pytest.raises(PermissionDenied):
        onboarding.likely_duplicates(tutor, "Léa Bernard")
    with pytest.raises(EnrolmentError) as not_bound:
        onboarding.unbind(COMMAND_LINE, issued.person.id)
    assert not_bound.value.code == "person_not_bound"
    assert onboarding.revoke(COMMAND_LINE, issued.person.id).code_expires_at is None
    with pytest.raises(EnrolmentError) as nothing:
        onboarding.revoke(COMMAND_LINE, issued.person.id)
    assert nothing.value.code == "no_pending_code"
    unbound = onboarding.unbind(COMMAND_LINE, tutor.id)
    assert unbound.telegram_user_id == 2001 and not unbound.member.bound
    with db.read() as session:
        assert session.get(Person, tutor.id).telegram_user_id is None
