"""iCalendar (.ics) invitations and cancellations for a tutoring meeting (RFC 5545 / RFC 5546).

Choices, for compatibility with Outlook, Google Calendar, Apple Calendar and Thunderbird:

* DTSTART/DTEND are written in UTC (``…Z``). Every client reads UTC and shows it in the user's
  own zone; a TZID needs a VTIMEZONE that some clients ignore or mis-read around DST changes,
  which is exactly the "slot shifted by an hour" bug we must not have. Our meetings never recur,
  so nothing is lost by not carrying the Paris zone.
* One UID per meeting for its whole life (see :func:`meeting_uid`); each change is re-sent with a
  higher SEQUENCE, so the client updates the event in place instead of adding a second one.
* A cancellation is METHOD:CANCEL with STATUS:CANCELLED, the same UID and a higher SEQUENCE —
  never a REQUEST, which clients would treat as an update and keep in the calendar.
* A REQUEST or CANCEL names its ORGANIZER and its ATTENDEEs (RFC 5546; some clients refuse an
  invitation without attendees). The organizer is also listed as an attendee (ROLE=CHAIR). Someone
  without an e-mail address gets a stable ``urn:uuid:`` address derived from their ``key`` rather
  than an invented e-mail address that replies would be sent to; without a key they are left out.

The French wording (summary, description) is rendered by the caller from templates.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from icalendar import Calendar, Event, vCalAddress

from bot.domain.calendar import require_aware

PRODID = "-//coachbot//tutoring meetings//FR"
Method = Literal["REQUEST", "CANCEL"]


@dataclass(frozen=True)
class Participant:
    name: str
    email: str | None = None
    key: str | None = None  # stable identity (e.g. "person-12") for someone without an e-mail address

    @property
    def address(self) -> str | None:
        if self.email:
            return f"mailto:{self.email}"
        if self.key:
            return f"urn:uuid:{uuid.uuid5(_PARTICIPANT_NAMESPACE, self.key)}"
        return None


_PARTICIPANT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "participants.coachbot")


def meeting_uid(meeting_id: int | str, domain: str = "coachbot") -> str:
    """The meeting's UID, stable for its whole life: derived from its database id only."""
    return f"meeting-{meeting_id}@{domain}"


def _address(person: Participant, **parameters: str) -> vCalAddress:
    address = vCalAddress(person.address)
    address.params["CN"] = person.name
    for key, value in parameters.items():
        address.params[key] = value
    return address


def meeting_invitation(
    *,
    uid: str,
    sequence: int,
    start_utc: datetime,
    end_utc: datetime,
    summary: str,
    description: str,
    url: str | None,
    organizer: Participant,
    attendees: Sequence[Participant],
    method: Method = "REQUEST",
    stamp: datetime | None = None,
) -> bytes:
    """The .ics file for a meeting, as bytes (CRLF line endings, UTF-8).

    ``sequence`` starts at 0 and must be bumped by the caller on every change and on cancellation.
    ``url`` is the video link; it is written as LOCATION (what clients show) and URL.
    ``stamp`` (DTSTAMP) defaults to now.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, got {method!r}")
    if not uid or sequence < 0:
        raise ValueError("a meeting needs a non-empty uid and a sequence >= 0")
    start, end = require_aware(start_utc, "start_utc"), require_aware(end_utc, "end_utc")
    if end <= start:
        raise ValueError("a meeting must end after it starts")

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", require_aware(stamp, "stamp") if stamp else datetime.now(UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("description", description)
    if url:
        event.add("location", url)
        event.add("url", url)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if organizer.address:
        event.add("organizer", _address(organizer))
        event.add("attendee", _address(organizer, ROLE="CHAIR", PARTSTAT="ACCEPTED", CUTYPE="INDIVIDUAL"))
    for attendee in attendees:
        if attendee.address:
            event.add(
                "attendee",
                _address(attendee, ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", CUTYPE="INDIVIDUAL"),
            )
    calendar.add_component(event)
    return calendar.to_ical()

