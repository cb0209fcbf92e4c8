from datetime import date

import pytest

from bot.domain.availability import AvailabilityError, DayOff
from bot.domain.meetings import VideoLinkError, VideoMode, generated_room_link, parse_day_off, parse_video_link

TODAY = date(2026, 10, 19)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24/12/2026", DayOff(date(2026, 12, 24), date(2026, 12, 24))),
        ("22/12/2026-02/01/2027", DayOff(date(2026, 12, 22), date(2027, 1, 2))),
        ("du 22/12/2026 au 02/01/2027", DayOff(date(2026, 12, 22), date(2027, 1, 2))),
        (" 3.11.26 ", DayOff(date(2026, 11, 3), date(2026, 11, 3))),
        ("19/10/2026", DayOff(date(2026, 10, 19), date(2026, 10, 19))),
    ],
)
def test_days_off_are_parsed(text, expected):
    assert parse_day_off(text, TODAY) == expected


@pytest.mark.parametrize(
    "text", ["", "bientôt", "31/02/2026", "02/01/2027-22/12/2026", "01/01/2026", "01/01/2027-05/01/2028", "24/12/2026 midi", "1/1/2027 2/1/2027 3/1/2027"]
)
def test_bad_days_off_are_refused(text):
    with pytest.raises(AvailabilityError):
        parse_day_off(text, TODAY)


def test_video_links():
    assert parse_video_link("https://meet.jit.si/ma-salle") == (VideoMode.ROOM, "https://meet.jit.si/ma-salle")
    assert parse_video_link("  Générer ") == (VideoMode.GENERATE, None)
    for bad in ("ma salle", "javascript:alert(1)", "https://", "ftp://x.org", "https://a.org/<b>"):
        with pytest.raises(VideoLinkError):
            parse_video_link(bad)


def test_generated_rooms_are_unique():
    links = {generated_room_link() for _ in range(200)}
    assert len(links) == 200 and all(link.startswith("https://meet.jit.si/coachbot-") for link in links)
