from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from bot.domain.calendar import PARIS
from bot.domain.ics import Participant, meeting_invitation, meeting_uid

START = datetime(2026, 3, 31, 14, tzinfo=PARIS)  # 12:00 UTC, summer time
TUTOR = Participant("Claire Martin", "claire.martin@example.org")
AUDITEUR = Participant("Karim Benali", "karim@example.net")
LINK = "https://visio.example.org/rdv-42"
STAMP = datetime(2026, 3, 20, 9, tzinfo=UTC)


def invitation(**changes) -> bytes:
    arguments = {
        "uid": meeting_uid(42),
        "sequence": 0,
        "start_utc": START.astimezone(UTC),
        "end_utc": (START + timedelta(minutes=30)).astimezone(UTC),
        "summary": "Premier rendez-vous de tutorat",
        "description": f"Rejoindre : {LINK}\nRapport d'activité; étape 2, suite",
        "url": LINK,
        "organizer": TUTOR,
        "attendees": [AUDITEUR],
        "stamp": STAMP,
    }
    arguments.update(changes)
    return meeting_invitation(**arguments)


def parse(data: bytes):
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def test_invitation_is_a_request_with_the_meeting_details() -> None:
    data = invitation()
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    calendar, event = parse(data)
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    assert str(event["UID"]) == "meeting-42@coachbot"
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event.decoded("DTSTART") == datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 3, 31, 12, 30, tzinfo=UTC)
    assert event.decoded("DTSTART").astimezone(PARIS).hour == 14
    assert str(event["SUMMARY"]) == "Premier rendez-vous de tutorat"
    assert str(event["DESCRIPTION"]) == f"Rejoindre : {LINK}\nRapport d'activité; étape 2, suite"
    assert str(event["LOCATION"]) == LINK and str(event["URL"]) == LINK


def test_times_are_written_in_utc_without_a_floating_or_local_time() -> None:
    text = invitation().decode()
    assert "DTSTART:20260331T120000Z" in text
    assert "DTEND:20260331T123000Z" in text
    assert "TZID" not in text


def _attendees(event) -> list:
    attendees = event.get("ATTENDEE", [])
    return attendees if isinstance(attendees, list) else [attendees]


def test_organizer_and_attendees_carry_names_and_addresses() -> None:
    _, event = parse(invitation(attendees=[AUDITEUR, Participant("Sans Courriel", None)]))
    assert str(event["ORGANIZER"]) == "mailto:claire.martin@example.org"
    assert event["ORGANIZER"].params["CN"] == "Claire Martin"
    attendees = _attendees(event)
    # the organizer chairs; nobody gets an invented e-mail address
    assert [str(a) for a in attendees] == ["mailto:claire.martin@example.org", "mailto:karim@example.net"]
    assert [a.params["ROLE"] for a in attendees] == ["CHAIR", "REQ-PARTICIPANT"]
    assert attendees[1].params["CN"] == "Karim Benali"


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_a_request_has_attendees_even_without_any_email(method) -> None:
    tutor = Participant("Claire Martin", None, key="person-3")
    auditeur = Participant("Karim Benali", None, key="person-7")
    _, event = parse(invitation(organizer=tutor, attendees=[auditeur], method=method))
    attendees = _attendees(event)
    assert [a.params["CN"] for a in attendees] == ["Claire Martin", "Karim Benali"]
    assert all(str(a).startswith("urn:uuid:") for a in attendees) and str(event["ORGANIZER"]) == str(attendees[0])
    again = parse(invitation(organizer=tutor, attendees=[auditeur]))[1]
    assert [str(a) for a in _attendees(again)] == [str(a) for a in attendees]  # stable across updates
    assert "mailto:" not in invitation(organizer=tutor, attendees=[auditeur]).decode()


def test_an_organizer_without_email_nor_key_is_left_out() -> None:
    _, event = parse(invitation(organizer=Participant("Claire Martin", None)))
    assert "ORGANIZER" not in event


def test_an_update_keeps_the_uid_and_bumps_the_sequence() -> None:
    _, first = parse(invitation())
    moved = START + timedelta(days=1)
    _, update = parse(invitation(sequence=1, start_utc=moved, end_utc=moved + timedelta(hours=1)))
    assert update["UID"] == first["UID"]
    assert update["SEQUENCE"] == 1 > first["SEQUENCE"]
    assert update.decoded("DTSTART") == datetime(2026, 4, 1, 12, tzinfo=UTC)


def test_cancellation_is_a_cancel_not_a_request() -> None:
    calendar, event = parse(invitation(method="CANCEL", sequence=2))
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert str(event["UID"]) == "meeting-42@coachbot"
    assert event["SEQUENCE"] == 2
    assert b"METHOD:REQUEST" not in invitation(method="CANCEL", sequence=2)


def test_meeting_uid_is_stable() -> None:
    assert meeting_uid(42) == meeting_uid("42") == "meeting-42@coachbot"
    assert meeting_uid(42, "cnam-pdl.example") == "meeting-42@cnam-pdl.example"
    assert meeting_uid(43) != meeting_uid(42)


def test_a_paris_start_is_converted_to_utc() -> None:
    _, event = parse(invitation(start_utc=START, end_utc=START + timedelta(minutes=30)))
    assert event.decoded("DTSTART") == datetime(2026, 3, 31, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"method": "PUBLISH"},
        {"uid": ""},
        {"sequence": -1},
        {"end_utc": START.astimezone(UTC)},
        {"start_utc": datetime(2026, 3, 31, 12)},
    ],
)
def test_invalid_invitations_are_refused(changes: dict) -> None:
    with pytest.raises(ValueError):
        invitation(**changes)

