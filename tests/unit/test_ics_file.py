"""The .ics file as calendar clients read it: every line of a REQUEST, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.ics import Participant, meeting_invitation

START = datetime(2027, 1, 5, 9, tzinfo=UTC)
STAMP = datetime(2026, 12, 1, 8, tzinfo=UTC)


def lines(data: bytes) -> list[str]:
    """The content lines, unfolded (RFC 5545 §3.1)."""
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")


def make(**changes) -> bytes:
    arguments = dict(
        uid="meeting-1@coachbot", sequence=2, start_utc=START, end_utc=START + timedelta(hours=1), summary="RDV",
        description="Sujet", url="https://visio.example.org/x", organizer=Participant("Marc Dubois", "marc@example.fr"),
        attendees=[Participant("Léa Roux", None, "person-3"), Participant("Sans adresse")], stamp=STAMP,
    )
    arguments.update(changes)
    return meeting_invitation(**arguments)


def test_every_line_of_a_request():
    assert lines(make()) == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//coachbot//tutoring meetings//FR",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        "SUMMARY:RDV",
        "DTSTART:20270105T090000Z",
        "DTEND:20270105T100000Z",
        "DTSTAMP:20261201T080000Z",
        "UID:meeting-1@coachbot",
        "SEQUENCE:2",
        'ATTENDEE;CN="Marc Dubois";CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:marc@example.fr',
        'ATTENDEE;CN="Léa Roux";CUTYPE=INDIVIDUAL;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT:'
        "urn:uuid:d2344963-f650-5bc7-945b-53756cb0b2dd",
        "DESCRIPTION:Sujet",
        "LOCATION:https://visio.example.org/x",
        'ORGANIZER;CN="Marc Dubois":mailto:marc@example.fr',
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "URL:https://visio.example.org/x",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]


def test_without_a_stamp_the_file_is_stamped_now_in_utc():
    before = datetime.now(UTC).replace(microsecond=0)
    (stamp,) = [line for line in lines(make(stamp=None)) if line.startswith("DTSTAMP:")]
    written = datetime.strptime(stamp, "DTSTAMP:%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= written <= datetime.now(UTC)


def test_a_naive_stamp_is_refused_by_name():
    with pytest.raises(ValueError, match="^stamp must be timezone-aware"):
        make(stamp=datetime(2026, 12, 1, 8))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"method": "PUBLISH"}, "method must be REQUEST or CANCEL, got 'PUBLISH'"),
        ({"uid": ""}, "a meeting needs a non-empty uid and a sequence >= 0"),
        ({"sequence": -1}, "a meeting needs a non-empty uid and a sequence >= 0"),
        ({"end_utc": START}, "a meeting must end after it starts"),
    ],
)
def test_an_invalid_meeting_is_refused_with_its_reason(changes, message):
    with pytest.raises(ValueError) as caught:
        make(**changes)
    assert str(caught.value) == message


@pytest.mark.parametrize("name", ["start_utc", "end_utc"])
def test_a_naive_time_is_refused_by_its_name(name):
    with pytest.raises(ValueError, match=rf"^{name} must be timezone-aware"):
        make(**{name: datetime(2027, 1, 5, 9 if name == "start_utc" else 10)})
