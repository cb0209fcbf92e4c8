"""Staff's team tools on SQLite and PostgreSQL: a code resent or revoked, an account unbound, the
team as staff see it, likely duplicates, and who is told when someone binds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.domain.invitations import RedeemError, RedeemProblem
from bot.domain.permissions import COMMAND_LINE
from bot.services.conversations import Conversations
from bot.services.onboarding import EnrolmentError, Onboarding
from bot.storage.models import AuditEvent, Invitation, OutboxMessage, Person
from tests.clock import Clock

NOW = datetime(2026, 10, 5, 8, 30, tzinfo=UTC)
TTL = timedelta(days=14)


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def onboarding(db, clock):
    return Onboarding(db, invitation_ttl=TTL, clock=clock)


def _bind(onboarding, issued, telegram_id, **names):
    pending = onboarding.check_code(telegram_id, issued.code)
    return onboarding.redeem(telegram_id, pending.invitation_id, notice_version="v1", **names)


def _staff(db, telegram_id=1001):
    with db.transaction() as session:
        person = Person(role="staff", display_name="Claire Staff", telegram_user_id=telegram_id)
        session.add(person)
        session.flush()
        from bot.services.directory import person_view

        return person_view(person)


def _enrol(onboarding, tutor_id, name="Léa Bernard", actor=COMMAND_LINE, **extra):
    return onboarding.enrol_auditeur(
        actor, name=name, tutor=tutor_id, report_type="ua", semester="2026-S1", certification="Licence", **extra
    )


def _events(db, action):
    with db.read() as session:
        return [(e.actor_id, e.subject_id, e.details) for e in session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def test_a_reissued_code_replaces_the_old_one_and_keeps_the_enrolment(db, onboarding, clock):
    staff = _staff(db)
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    issued = _enrol(onboarding, tutor.person.id)
    clock.now = NOW + timedelta(days=3)
    again = onboarding.reissue(staff, issued.person.id)
    assert again.code != issued.code and again.person.id == issued.person.id
    assert again.expires_at == clock.now + TTL
    assert again.enrolment is not None and again.enrolment.id == issued.enrolment.id
    assert _events(db, "invitation.reissued") == [(staff.id, issued.person.id, {})]
    with pytest.raises(RedeemError) as old:
        onboarding.check_code(3001, issued.code)
    assert old.value.problem is RedeemProblem.EXPIRED
    assert onboarding.check_code(3001, again.code).person.id == issued.person.id
    # a tutor has no enrolment; the command line is no person
    tutor_again = onboarding.reissue(COMMAND_LINE, tutor.person.id)
    assert tutor_again.enrolment is None
    assert _events(db, "invitation.reissued")[1][:2] == (None, tutor.person.id)
    with db.read() as session:
        created = session.scalars(sa.select(Invitation.created_by_id).where(Invitation.person_id == tutor.person.id)
                                  .order_by(Invitation.id)).all()
    assert created == [None, None]


def test_no_code_is_reissued_to_a_bound_person_staff_or_nobody(db, onboarding):
    staff = _staff(db)
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    _bind(onboarding, tutor, 2001)
    for person_id, code in ((tutor.person.id, "person_already_bound"), (staff.id, "person_unknown"),
                            (tutor.person.id + 99, "person_unknown")):
        with pytest.raises(EnrolmentError) as refused:
            onboarding.reissue(COMMAND_LINE, person_id)
        assert refused.value.code == code
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 1


def test_revoking_stops_every_pending_code_now(db, onboarding, clock):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    issued = _enrol(onboarding, tutor.person.id)
    second = onboarding.reissue(COMMAND_LINE, issued.person.id)
    assert onboarding.member(COMMAND_LINE, issued.person.id).code_expires_at == second.expires_at
    clock.now = NOW + timedelta(hours=2)
    member = onboarding.revoke(COMMAND_LINE, issued.person.id)
    assert member.code_expires_at is None and member.invited is True and member.enrolment.id == issued.enrolment.id
    assert _events(db, "invitation.revoked") == [(None, issued.person.id, {})]
    for code in (issued.code, second.code):
        with pytest.raises(RedeemError):
            onboarding.check_code(3001, code)
    with db.read() as session:
        assert set(session.scalars(sa.select(Invitation.expires_at).where(Invitation.person_id == issued.person.id))) == {
            NOW, NOW + timedelta(hours=2)  # the first stopped when the second was issued
        }
    assert onboarding.member(COMMAND_LINE, tutor.person.id).code_expires_at == NOW + TTL  # someone else's untouched


def test_unbinding_frees_the_profile_and_forgets_the_accounts_conversation(db, onboarding):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    _bind(onboarding, tutor, 2001, telegram_username="marc_d")
    conversations = Conversations(db)
    conversations.set(2001, "dispos", "windows", {"x": 1})
    conversations.set(2002, "dispos", "windows", {"y": 2})
    with db.transaction() as session:
        session.get(Person, tutor.person.id).blocked_bot_at = NOW
    unbound = onboarding.unbind(COMMAND_LINE, tutor.person.id)
    assert unbound.telegram_user_id == 2001
    assert unbound.member.bound is False and unbound.member.telegram_username is None and unbound.member.bound_at is None
    with db.read() as session:
        person = session.get(Person, tutor.person.id)
        assert (person.telegram_user_id, person.telegram_username, person.bound_at, person.blocked_bot_at) == (None,) * 4
        assert person.display_name == "Marc Dubois"  # their data stay
    assert conversations.get(2001) is None and conversations.get(2002) is not None
    assert _events(db, "telegram.unbound") == [
        (None, tutor.person.id, {"telegram_user_id": 2001, "telegram_username": "marc_d"})
    ]
    again = onboarding.reissue(COMMAND_LINE, tutor.person.id)  # a new code can be sent, and works
    assert _bind(onboarding, again, 2009).person.telegram_user_id == 2009


def test_the_team_lists_tutors_and_auditeurs_with_where_each_stands(db, onboarding, clock):
    staff = _staff(db)
    zoe = onboarding.invite_tutor(COMMAND_LINE, "Zoé Adam")
    marc = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    _bind(onboarding, marc, 2001, telegram_username="marc_d")
    lea = _enrol(onboarding, marc.person.id)
    clock.now = NOW + TTL + timedelta(minutes=1)  # Zoé's and Léa's codes have expired
    late = _enrol(onboarding, marc.person.id, name="Anna Roux")
    team = onboarding.team(COMMAND_LINE)
    assert [m.person.display_name for m in team] == ["Anna Roux", "Léa Bernard", "Marc Dubois", "Zoé Adam"]
    assert staff.id not in [m.person.id for m in team]
    by_name = {m.person.display_name: m for m in team}
    assert by_name["Marc Dubois"].bound and by_name["Marc Dubois"].telegram_username == "marc_d"
    assert by_name["Marc Dubois"].bound_at == NOW and by_name["Marc Dubois"].code_expires_at is None
    assert by_name["Zoé Adam"].code_expires_at is None and by_name["Zoé Adam"].invited is True
    assert by_name["Anna Roux"].code_expires_at == late.expires_at
    assert by_name["Léa Bernard"].enrolment.id == lea.enrolment.id and by_name["Léa Bernard"].enrolment.tutor.id == marc.person.id
    assert by_name["Marc Dubois"].enrolment is None and by_name["Marc Dubois"].stage is None
    with db.transaction() as session:
        session.get(Person, zoe.person.id).active = False
    assert "Zoé Adam" not in [m.person.display_name for m in onboarding.team(COMMAND_LINE)]
    with pytest.raises(EnrolmentError) as staff_member:
        onboarding.member(COMMAND_LINE, staff.id)
    assert staff_member.value.code == "person_unknown"


def test_likely_duplicates_are_found_among_people_not_erased(db, onboarding):
    marc = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois", email="Marc@Exemple.fr")
    other = onboarding.invite_tutor(COMMAND_LINE, "Dubois Marc")
    found = onboarding.likely_duplicates(COMMAND_LINE, "marc  dubois")
    assert [(d.candidate.id, d.same_name, d.same_email) for d in found] == [(marc.person.id, True, False), (other.person.id, True, False)]
    by_mail = onboarding.likely_duplicates(COMMAND_LINE, "M. D.", "marc@exemple.fr")
    assert [(d.candidate.id, d.same_name, d.same_email) for d in by_mail] == [(marc.person.id, False, True)]
    with db.transaction() as session:
        session.get(Person, other.person.id).erased_at = NOW
    assert [d.candidate.id for d in onboarding.likely_duplicates(COMMAND_LINE, "Marc Dubois")] == [marc.person.id]


def test_binding_tells_the_tutor_and_the_inviter_who_took_the_profile(db, onboarding):
    staff = _staff(db)
    tutor = onboarding.invite_tutor(staff, "Marc Dubois")
    bound_tutor = _bind(onboarding, tutor, 2001, telegram_username="marc_d", telegram_name="Marc D")
    assert bound_tutor.enrolment is None
    issued = _enrol(onboarding, tutor.person.id, actor=staff)
    bound = _bind(onboarding, issued, 3001, telegram_username="lea_b", telegram_name="Léa B")
    assert bound.enrolment.id == issued.enrolment.id and bound.person.telegram_user_id == 3001
    with db.read() as session:
        told = session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        rows = [(m.recipient_id, m.kind, m.template, m.subject_type, m.subject_id) for m in told]
        params = [m.params for m in told]
    assert rows == [
        (staff.id, "invitation.bound.inviter", "staff/invitation_bound.html", "person", tutor.person.id),
        (tutor.person.id, "enrolment.bound.tutor", "onboarding/tutor_new_auditeur.html", None, None),
        (staff.id, "invitation.bound.inviter", "staff/invitation_bound.html", "person", issued.person.id),
    ]
    assert params[0]["enrolment"] is None and params[0]["telegram_name"] == "Marc D"
    assert params[1]["enrolment"]["id"] == issued.enrolment.id
    assert (params[2]["telegram_name"], params[2]["telegram_username"], params[2]["person"]["id"]) == (
        "Léa B", "lea_b", issued.person.id)
    assert _events(db, "telegram.bound") == [(None, tutor.person.id, {}), (None, issued.person.id, {})]


def test_a_code_from_the_command_line_tells_nobody_when_used(db, onboarding):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    _bind(onboarding, tutor, 2001)
    with db.read() as session:
        assert session.scalars(sa.select(OutboxMessage.kind)).all() == []


def test_staff_who_revoke_or_unbind_are_recorded_and_used_codes_are_not_pending(db, onboarding):
    staff = _staff(db)
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    _bind(onboarding, tutor, 2001)
    with pytest.raises(EnrolmentError) as used:  # the code was used: nothing pending to revoke
        onboarding.revoke(staff, tutor.person.id)
    assert used.value.code == "no_pending_code"
    onboarding.unbind(staff, tutor.person.id)
    again = onboarding.reissue(staff, tutor.person.id)
    onboarding.revoke(staff, tutor.person.id)
    assert [a for a, _, _ in _events(db, "telegram.unbound") + _events(db, "invitation.revoked")] == [staff.id, staff.id]
    with pytest.raises(RedeemError):
        onboarding.check_code(2002, again.code)


def test_erased_people_leave_the_team(db, onboarding):
    marc = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    lea = _enrol(onboarding, marc.person.id)
    with db.transaction() as session:
        session.get(Person, lea.person.id).erased_at = NOW
    assert [m.person.id for m in onboarding.team(COMMAND_LINE)] == [marc.person.id]
    with pytest.raises(EnrolmentError) as erased:
        onboarding.member(COMMAND_LINE, lea.person.id)
    assert erased.value.code == "person_unknown"


def test_a_reissue_leaves_used_and_already_expired_codes_as_they_were(db, onboarding, clock):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    issued = _enrol(onboarding, tutor.person.id)
    _bind(onboarding, issued, 3001)
    onboarding.unbind(COMMAND_LINE, issued.person.id)  # bound by mistake: the used code stays used
    clock.now = NOW + timedelta(days=1)
    stale = onboarding.reissue(COMMAND_LINE, issued.person.id)
    clock.now = NOW + timedelta(days=30)  # the second code has expired by now
    onboarding.reissue(COMMAND_LINE, issued.person.id)
    with db.read() as session:
        rows = session.execute(sa.select(Invitation.used_at, Invitation.expires_at)
                               .where(Invitation.person_id == issued.person.id).order_by(Invitation.id)).all()
    used, expired, fresh = [(u and u.replace(tzinfo=UTC), e.replace(tzinfo=UTC)) for u, e in rows]
    assert used == (NOW, NOW + TTL), "the used code keeps its own dates"
    assert expired == (None, stale.expires_at), "an expired code is not moved to now"
    assert fresh == (None, clock.now + TTL)


def test_a_reissue_gives_the_active_enrolment_only(db, onboarding):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    issued = _enrol(onboarding, tutor.person.id)
    with db.transaction() as session:
        session.execute(sa.update(sa.table("enrolments", sa.column("status"))).values(status="closed"))
    assert onboarding.reissue(COMMAND_LINE, issued.person.id).enrolment is None


def test_an_account_bound_after_a_reissue_can_be_unbound_and_has_no_code_pending(db, onboarding, clock):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    clock.now = NOW + timedelta(hours=1)
    again = onboarding.reissue(COMMAND_LINE, tutor.person.id)  # the first code expires now, unused
    _bind(onboarding, again, 2001)
    unbound = onboarding.unbind(COMMAND_LINE, tutor.person.id)
    assert unbound.telegram_user_id == 2001 and unbound.member.code_expires_at is None
    assert unbound.member.invited and not unbound.member.bound


def test_people_with_one_name_are_listed_in_the_order_they_were_created(db, onboarding):
    first = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    second = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois", email="marc@exemple.fr")
    team = [m.person.id for m in onboarding.team(COMMAND_LINE) if m.person.display_name == "Marc Dubois"]
    assert team == [first.person.id, second.person.id]
    duplicates = onboarding.likely_duplicates(COMMAND_LINE, "dubois marc", "MARC@exemple.fr")
    assert [(d.candidate.id, d.candidate.role, d.same_name, d.same_email) for d in duplicates] == [
        (first.person.id, "tutor", True, False), (second.person.id, "tutor", True, True)]


def test_an_ambiguous_tutor_name_lists_the_candidates(db, onboarding):
    onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    onboarding.invite_tutor(COMMAND_LINE, "Marc Durand")
    with pytest.raises(EnrolmentError) as refused:
        _enrol(onboarding, "marc")
    assert str(refused.value) == "tutor_ambiguous"
    assert refused.value.details == {"value": "marc", "candidates": ["Marc Dubois", "Marc Durand"]}


def test_an_invitations_expiry_is_read_by_its_id(db, onboarding):
    issued = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    invitation_id = onboarding.check_code(2001, issued.code).invitation_id
    assert onboarding.invitation_expiry(invitation_id) == NOW + TTL
    assert onboarding.invitation_expiry(invitation_id + 1) is None


def test_redeeming_records_consent_clears_wrong_guesses_and_dates_the_tutors_notice(db, onboarding, clock):
    from bot.storage.models import Consent, SignInThrottle

    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    _bind(onboarding, tutor, 2001)
    issued = _enrol(onboarding, tutor.person.id)
    with pytest.raises(RedeemError):
        onboarding.check_code(3001, "ZZZZ-ZZZZ-ZZZZ")  # one wrong guess first
    clock.now = NOW + timedelta(hours=2)
    _bind(onboarding, issued, 3001)
    with db.read() as session:
        assert session.get(SignInThrottle, 3001) is None
        consent = session.scalars(sa.select(Consent).where(Consent.person_id == issued.person.id)).one()
        assert (consent.notice_version, consent.telegram_user_id) == ("v1", 3001)
        assert consent.accepted_at.replace(tzinfo=UTC) == clock.now
        notice = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "enrolment.bound.tutor")).one()
        assert notice.created_at.replace(tzinfo=UTC) == clock.now
        invitation = session.scalars(sa.select(Invitation).where(Invitation.person_id == issued.person.id)).one()
        assert (invitation.used_at.replace(tzinfo=UTC), invitation.used_by_telegram_id) == (clock.now, 3001)


def test_redeem_refuses_a_bound_account_an_unknown_invitation_and_a_code_used_meanwhile(db, onboarding, clock):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    _bind(onboarding, tutor, 2001)
    issued = _enrol(onboarding, tutor.person.id)
    pending = onboarding.check_code(3001, issued.code)
    cases = [
        (2001, pending.invitation_id, RedeemProblem.ALREADY_BOUND),  # the tutor's own account
        (3001, pending.invitation_id + 50, RedeemProblem.UNKNOWN),
    ]
    for telegram_id, invitation_id, problem in cases:
        with pytest.raises(RedeemError) as refused:
            onboarding.redeem(telegram_id, invitation_id, notice_version="v1")
        assert refused.value.problem is problem
    onboarding.redeem(3002, pending.invitation_id, notice_version="v1")  # someone else, in between
    with pytest.raises(RedeemError) as refused:
        onboarding.redeem(3001, pending.invitation_id, notice_version="v1")
    assert refused.value.problem is RedeemProblem.USED


def test_a_code_is_refused_at_the_moment_it_expires(db, onboarding, clock):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    pending = onboarding.check_code(2001, tutor.code)
    with pytest.raises(RedeemError) as refused:
        onboarding.redeem(2001, pending.invitation_id, notice_version="v1", now=NOW + TTL)
    assert refused.value.problem is RedeemProblem.EXPIRED
    assert onboarding.redeem(2001, pending.invitation_id, notice_version="v1",
                             now=NOW + TTL - timedelta(seconds=1)).person.telegram_user_id == 2001


def test_the_team_shows_each_auditeurs_step(db, clock):
    from bot.domain.calendar import HolidayCalendar
    from bot.domain.report import default_catalogue
    from bot.services.accompaniment import Accompaniments

    accompaniment = Accompaniments(db, HolidayCalendar(), default_catalogue().grid, clock=clock)
    onboarding = Onboarding(db, invitation_ttl=TTL, clock=clock, accompaniment=accompaniment)
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    lea = _enrol(onboarding, tutor.person.id)
    _bind(onboarding, lea, 3001)
    sami = _enrol(onboarding, tutor.person.id, name="Sami Nour")
    team = {m.person.id: m for m in onboarding.team(COMMAND_LINE)}
    assert team[tutor.person.id].stage is None and team[tutor.person.id].enrolment is None
    assert team[lea.person.id].stage == "enrolled" and team[lea.person.id].enrolment.id == lea.enrolment.id
    assert team[sami.person.id].stage == "enrolled" and team[sami.person.id].enrolment.id == sami.enrolment.id
    assert onboarding.member(COMMAND_LINE, lea.person.id).stage == team[lea.person.id].stage


@pytest.mark.parametrize(("extra", "code", "details"), [
    ({"units_validated": -1}, "units_invalid", {"value": -1}),
    ({"units_validated": 100}, "units_invalid", {"value": 100}),
    ({"units_validated": "3"}, "units_invalid", {"value": "3"}),
    ({"units_validated": 1}, "units_below_minimum", {"minimum": 2, "value": 1}),
    ({"units_validated": 0}, "units_below_minimum", {"minimum": 2, "value": 0}),
    ({"experience": "beaucoup"}, "experience_invalid", {"value": "beaucoup"}),
    ({"certification": "L" * 201}, "certification_too_long", {"max_length": 200}),
    ({"certification": "  "}, "certification_missing", {}),
])
def test_an_enrolment_refused_says_why_with_its_details(db, onboarding, extra, code, details):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    values = {"name": "Léa Bernard", "tutor": tutor.person.id, "report_type": "ua", "semester": "2026-S1",
              "certification": "Licence", **extra}
    with pytest.raises(EnrolmentError) as refused:
        onboarding.enrol_auditeur(COMMAND_LINE, **values)
    assert (refused.value.code, refused.value.details) == (code, details)


@pytest.mark.parametrize("units", [2, 99])
def test_units_from_the_minimum_to_the_maximum_are_accepted(db, onboarding, units):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    assert _enrol(onboarding, tutor.person.id, units_validated=units, experience="justified").enrolment.id


def test_the_tutor_is_found_by_id_typed_as_digits_and_never_among_staff_or_inactive_people(db, onboarding):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    assert _enrol(onboarding, str(tutor.person.id)).enrolment.tutor.id == tutor.person.id
    assert _enrol(onboarding, "  marc   DUBOIS ", name="Sami Nour").enrolment.tutor.id == tutor.person.id
    staff = _staff(db)
    with db.transaction() as session:
        session.get(Person, staff.id).display_name = "Paul Staff"
        session.add(Person(role="tutor", display_name="Paul Ancien", active=False))
    for wanted in ("paul", str(staff.id)):
        with pytest.raises(EnrolmentError) as refused:
            _enrol(onboarding, wanted, name="Zoé Martin")
        assert (refused.value.code, refused.value.details) == ("tutor_unknown", {"value": wanted})


def test_each_staff_tool_refused_to_a_tutor_names_its_action_for_the_logs(db, onboarding):
    from bot.domain.permissions import PermissionDenied

    issued = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    tutor = _bind(onboarding, issued, 2001).person
    calls = {
        "invite a tutor": lambda: onboarding.invite_tutor(tutor, "X"),
        "enrol an auditeur": lambda: _enrol(onboarding, tutor.id, actor=tutor),
        "reissue an invitation": lambda: onboarding.reissue(tutor, tutor.id),
        "look for duplicates": lambda: onboarding.likely_duplicates(tutor, "X"),
        "see the team": lambda: onboarding.team(tutor),
        "see a member of the team": lambda: onboarding.member(tutor, tutor.id),
        "revoke an invitation": lambda: onboarding.revoke(tutor, tutor.id),
        "unbind a Telegram account": lambda: onboarding.unbind(tutor, tutor.id),
    }
    for action, call in calls.items():
        with pytest.raises(PermissionDenied) as refused:
            call()
        assert str(refused.value) == f"person {tutor.id} (tutor) may not {action}"


def test_invitations_and_enrolments_are_audited_with_who_whom_and_what(db, onboarding):
    staff = _staff(db)
    tutor = onboarding.invite_tutor(staff, "Marc Dubois")
    issued = _enrol(onboarding, tutor.person.id, actor=staff, units_validated=3, experience="justified")
    assert _events(db, "tutor.invited") == [(staff.id, tutor.person.id, {})]
    assert _events(db, "auditeur.enrolled") == [(staff.id, issued.person.id, {
        "tutor_id": tutor.person.id, "report_type": "ua", "semester": "2026-S1", "units_validated": 3,
        "experience": "justified"})]
    with db.read() as session:
        from bot.storage.models import Enrolment

        assert session.get(Enrolment, issued.enrolment.id).created_by_id == staff.id
    with pytest.raises(EnrolmentError) as refused:
        onboarding.enrol_auditeur(staff, name="Sami Nour", tutor=tutor.person.id, report_type="ua",
                                  semester="2026-S9", certification="Licence")
    assert refused.value.details == {"value": "2026-S9"}


def test_a_code_check_says_malformed_unknown_already_bound_used_or_throttled(db, onboarding, clock):
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois")
    _bind(onboarding, tutor, 2001)
    issued = _enrol(onboarding, tutor.person.id)
    problems = []
    for telegram_id, code in ((3001, "abc"), (3001, "ZZZZ-ZZZZ-ZZZZ"), (2001, issued.code)):
        with pytest.raises(RedeemError) as refused:
            onboarding.check_code(telegram_id, code)
        problems.append(refused.value.problem)
    assert problems == [RedeemProblem.MALFORMED, RedeemProblem.UNKNOWN, RedeemProblem.ALREADY_BOUND]
    _bind(onboarding, issued, 3001)
    onboarding.unbind(COMMAND_LINE, issued.person.id)
    with pytest.raises(RedeemError) as used:  # the person is free again, but this code was used
        onboarding.check_code(3002, issued.code)
    assert used.value.problem is RedeemProblem.USED
    for attempt in range(4):
        with pytest.raises(RedeemError):
            onboarding.check_code(4001, f"ZZZZ-ZZZZ-ZZ{attempt + 2}Z")
    with pytest.raises(RedeemError) as locked:  # the fifth wrong guess locks the account
        onboarding.check_code(4001, "ZZZZ-ZZZZ-ZZZ9")
    assert locked.value.problem is RedeemProblem.THROTTLED and locked.value.retry_after == timedelta(minutes=15)
    clock.now = NOW + timedelta(minutes=5)
    with pytest.raises(RedeemError) as still:  # even the right code waits
        onboarding.check_code(4001, issued.code)
    assert still.value.problem is RedeemProblem.THROTTLED and still.value.retry_after == timedelta(minutes=10)


@pytest.mark.parametrize(("raw", "code"), [(None, "name_missing"), ("x" * 121, "name_too_long")])
def test_names_are_cleaned_up_to_their_maximum_length(raw, code):
    from bot.services.onboarding import clean_name

    assert clean_name("  " + "x" * 120 + " ") == "x" * 120
    with pytest.raises(EnrolmentError) as refused:
        clean_name(raw)
    assert refused.value.code == code


def test_the_inviter_is_told_when_the_code_is_used(db, onboarding, clock):
    staff = _staff(db)
    tutor = onboarding.invite_tutor(staff, "Marc Dubois")
    clock.now = NOW + timedelta(days=2)
    _bind(onboarding, tutor, 2001)
    with db.read() as session:
        told = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "invitation.bound.inviter")).one()
    assert told.created_at.replace(tzinfo=UTC) == clock.now and told.recipient_id == staff.id
