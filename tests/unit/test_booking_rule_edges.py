"""Edges of the booking rules that mutation testing (bench/bench_mutation.py) found untested."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain.availability import BookingSettings, WeeklyWindow
from bot.domain.meetings import MAX_LINK_LENGTH, BookingError, VideoLinkError, VideoMode, parse_video_link
from bot.domain.slots import CancelErrorCode, check_cancellable


def test_a_window_length_counts_its_minutes():
    assert WeeklyWindow(1, time(9, 15), time(10, 45)).length == timedelta(minutes=90)
    assert WeeklyWindow(1, time(14, 30), time(15, 0)).length == timedelta(minutes=30)


def test_a_video_link_of_exactly_the_limit_is_kept_one_more_is_refused():
    base = "https://visio.example/"
    exact = base + "a" * (MAX_LINK_LENGTH - len(base))
    assert parse_video_link(exact) == (VideoMode.ROOM, exact)
    with pytest.raises(VideoLinkError) as refused:
        parse_video_link(exact + "a")
    assert refused.value.args == (exact + "a",)  # the link refused, for the log


def test_cancellation_needs_aware_times_and_names_the_one_that_is_not():
    settings = BookingSettings()
    start, now = datetime(2026, 10, 20, 9, 0), datetime(2026, 10, 19, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="^start_utc must be timezone-aware"):
        check_cancellable(start, now, settings)
    with pytest.raises(ValueError, match="^now must be timezone-aware"):
        check_cancellable(start.replace(tzinfo=UTC), now.replace(tzinfo=None), settings)
    assert check_cancellable(start.replace(tzinfo=UTC), now, settings) is None
    assert check_cancellable(start.replace(tzinfo=UTC), now + timedelta(minutes=1), settings) is CancelErrorCode.TOO_LATE


def test_a_booking_error_reads_as_its_code_and_details():
    assert str(BookingError("taken")) == "taken" and BookingError("taken").details == {}
    error = BookingError("too_late_to_cancel", notice=24)
    assert str(error) == "too_late_to_cancel: {'notice': 24}" and error.code == "too_late_to_cancel"


def test_a_lone_carriage_return_in_a_topic_is_a_new_line():
    from bot.domain.meetings import clean_topic

    assert clean_topic("plan\rannexes") == "plan\nannexes"
    assert clean_topic("plan\r\nannexes") == "plan\nannexes"


def test_generated_rooms_are_letters_and_digits_only_and_distinct():
    import re

    from bot.domain.meetings import GENERATED_ROOM_BASE, generated_room_link

    links = {generated_room_link() for _ in range(300)}
    assert len(links) == 300
    assert all(re.fullmatch(re.escape(GENERATED_ROOM_BASE) + "[A-Za-z0-9]{10,16}", link) for link in links)


def test_days_off_text_without_any_entry_and_each_refused_line_say_why():
    from datetime import date

    from bot.domain.availability import AvailabilityError, AvailabilityErrorCode
    from bot.domain.meetings import read_days_off

    with pytest.raises(AvailabilityError) as empty:
        read_days_off("  \n ; ", date(2026, 10, 19))
    assert empty.value.code is AvailabilityErrorCode.BAD_DAY_OFF and empty.value.details == {"fragment": ";"}
    added, refused = read_days_off("24/12\nsamedi 31/02", date(2026, 10, 19))
    assert [(line.number, line.text, line.error.code) for line in refused] == [(2, "samedi 31/02", AvailabilityErrorCode.BAD_DAY_OFF)]
    assert len(added) == 1


def test_a_night_reminder_whose_next_morning_is_the_deadline_goes_the_evening_before():
    from bot.domain.calendar import PARIS
    from bot.domain.reminders import move_to_daytime

    night = datetime(2026, 6, 10, 22, 0, tzinfo=PARIS)
    morning = datetime(2026, 6, 11, 8, 0, tzinfo=PARIS)
    assert move_to_daytime(night, morning) == datetime(2026, 6, 10, 20, 0, tzinfo=PARIS)
    assert move_to_daytime(night, morning + timedelta(minutes=1)) == morning


def test_a_budget_other_than_two_hours_is_the_one_counted():
    from bot.domain.budget import BudgetErrorCode, MeetingStatus, MeetingUsage, allowed_durations, check_budget

    first = [MeetingUsage(timedelta(minutes=30), MeetingStatus.HELD)]
    one_hour = timedelta(hours=1)
    assert allowed_durations(first, budget=one_hour) == [timedelta(minutes=30)]
    assert check_budget(timedelta(minutes=60), first, budget=one_hour) is BudgetErrorCode.EXCEEDS_REMAINING
    assert check_budget(timedelta(minutes=30), first, budget=timedelta(minutes=30)) is BudgetErrorCode.BUDGET_EXHAUSTED
    assert check_budget(timedelta(minutes=60), first) is None  # two hours by default


def test_windows_that_touch_do_not_overlap_and_no_slot_gives_an_empty_first_page():
    from bot.domain.slots import WeekPage, week_page

    morning, noon = WeeklyWindow(1, time(9, 0), time(12, 0)), WeeklyWindow(1, time(12, 0), time(14, 0))
    assert not morning.overlaps(noon) and not noon.overlaps(morning)
    assert morning.overlaps(WeeklyWindow(1, time(11, 45), time(12, 30)))
    assert week_page([], 0) == WeekPage(None, 0, 0) and week_page([], 3) == WeekPage(None, 0, 0)


def _days(entry: str) -> list[int]:
    from bot.domain.availability import parse_window_entry

    return [w.weekday for w in parse_window_entry(entry)]


def _refusal(entry: str):
    from bot.domain.availability import AvailabilityError, parse_window_entry

    with pytest.raises(AvailabilityError) as refused:
        parse_window_entry(entry)
    return refused.value.code.value, refused.value.details


def test_weekday_lists_and_ranges_in_windows():
    assert _days("mardi au jeudi 9h-10h") == [1, 2, 3]
    assert _days("lundi, mardi / jeudi 9h-10h") == [0, 1, 3]
    assert _days("lundi - mercredi 9h-10h") == _days("lundi-mercredi 9h-10h") == [0, 1, 2]  # "-" between days: a range
    code, details = _refusal("lundi au lundi 9h-10h")  # a range must go forward
    assert code == "unparsable" and details["fragment"] == "lundi au lundi 9h-10h"
    code, details = _refusal("lundi et bientôt 9h-10h")
    assert code == "unknown_word" and details["word"] and details["fragment"] == "lundi et bientôt 9h-10h"


def test_impossible_times_are_bad_times_and_late_ones_outside_hours_with_the_fragment():
    assert _refusal("mardi 9h60-10h") == ("bad_time", {"fragment": "mardi 9h60-10h"})
    assert _refusal("mardi 23h-23h30")[0] == "outside_hours"
    assert _refusal("mardi 18h-24h") == ("outside_hours", {"fragment": "mardi 18h-24h"})
    assert _refusal("mardi 18h-25h") == ("bad_time", {"fragment": "mardi 18h-25h"})
    assert _refusal("mardi 9h59-10h")[0] != "bad_time"  # a real time (off the quarter-hour grid)


@pytest.mark.parametrize(
    ("text", "code", "details"),
    [
        ("du 21 décembre au 23", "bad_day_off", {"fragment": "du 21 décembre au 23"}),  # the end has no month
        ("du 21 au 23", "bad_day_off", {"fragment": "du 21 au 23"}),
        ("bientôt", "bad_day_off", {"fragment": "bientôt", "word": "bientôt"}),
        ("24/12 midi", "bad_day_off", {"fragment": "24/12 midi", "word": "midi"}),
        ("31/02", "bad_day_off", {"fragment": "31/02"}),
        ("lundi", "bad_day_off", {"fragment": "lundi"}),
        ("du 1/1/2027 au 3/1/2028", "bad_day_off", {"fragment": "du 1/1/2027 au 3/1/2028"}),  # 367 days
    ],
)
def test_a_refused_day_off_says_which_text_and_word(text, code, details):
    from datetime import date

    from bot.domain.availability import AvailabilityError
    from bot.domain.meetings import parse_day_off

    with pytest.raises(AvailabilityError) as refused:
        parse_day_off(text, date(2026, 10, 19))
    assert (refused.value.code.value, refused.value.details) == (code, details)


def test_a_day_off_may_last_a_year_and_a_weekday_must_match_its_date():
    from datetime import date

    from bot.domain.availability import AvailabilityError, DayOff
    from bot.domain.meetings import parse_day_off

    today = date(2026, 10, 19)
    assert parse_day_off("du 1/1/2027 au 2/1/2028", today) == DayOff(date(2027, 1, 1), date(2028, 1, 2))  # 366 days
    with pytest.raises(AvailabilityError) as mismatch:
        parse_day_off("lundi 6 janvier", today)
    assert mismatch.value.details == {"fragment": "lundi 6 janvier", "day": date(2027, 1, 6)}
