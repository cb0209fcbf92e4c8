from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from bot.domain.availability import BookingSettings, DayOff, WeeklyWindow
from bot.domain.calendar import PARIS, HolidayCalendar
from bot.domain.slots import (
    CancelErrorCode,
    Interval,
    Slot,
    SlotErrorCode as Code,
    check_cancellable,
    check_slot_bookable,
    free_slots,
    group_by_day,
    group_by_week,
    last_bookable_day,
    week_page,
)

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = range(5)
HALF_HOUR, HOUR = timedelta(minutes=30), timedelta(hours=1)
FRANCE = HolidayCalendar()
ALSACE_MOSELLE = HolidayCalendar(alsace_moselle=True)
DEFAULTS = BookingSettings()


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def window(weekday: int, start: str, end: str) -> WeeklyWindow:
    return WeeklyWindow(weekday, time.fromisoformat(start), time.fromisoformat(end))


def meeting(start: datetime, length: timedelta = HALF_HOUR) -> Interval:
    return Interval(start.astimezone(UTC), (start + length).astimezone(UTC))


def search(windows, now, *, busy=(), days_off=(), duration=HALF_HOUR, settings=DEFAULTS, calendar=FRANCE, **kw):
    return free_slots(windows, days_off, busy, settings, duration, now, calendar, **kw)


def paris_starts(slots: list[Slot]) -> list[str]:
    return [f"{s.start_paris:%Y-%m-%d %H:%M}" for s in slots]


def check(start: datetime, windows, now, *, busy=(), days_off=(), duration=HALF_HOUR, settings=DEFAULTS, calendar=FRANCE):
    return check_slot_bookable(
        start, duration, windows=windows, days_off=days_off, busy=busy, settings=settings, now=now, calendar=calendar
    )


# -- the basics ------------------------------------------------------------------------------------


def test_slots_fill_the_window_on_a_half_hour_grid() -> None:
    slots = search([window(TUESDAY, "14:00", "17:00")], paris(2026, 3, 2, 9), end_date=date(2026, 3, 3))
    assert paris_starts(slots) == [f"2026-03-03 {t}" for t in ("14:00", "14:30", "15:00", "15:30", "16:00", "16:30")]
    assert all(s.duration == HALF_HOUR and s.start_utc.tzinfo is UTC for s in slots)


def test_sixty_minute_slots_end_inside_the_window() -> None:
    slots = search([window(TUESDAY, "14:00", "17:00")], paris(2026, 3, 2, 9), duration=HOUR, end_date=date(2026, 3, 3))
    assert paris_starts(slots) == [f"2026-03-03 {t}" for t in ("14:00", "14:30", "15:00", "15:30", "16:00")]


def test_touching_windows_offer_slots_across_the_join() -> None:
    windows = [window(TUESDAY, "09:00", "10:30"), window(TUESDAY, "10:30", "11:00")]
    slots = search(windows, paris(2026, 3, 2, 9), duration=HOUR, end_date=date(2026, 3, 3))
    assert paris_starts(slots) == ["2026-03-03 09:00", "2026-03-03 09:30", "2026-03-03 10:00"]


def test_no_windows_no_slots() -> None:
    assert search([], paris(2026, 3, 2, 9)) == []


def test_a_duration_not_offered_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        search([window(TUESDAY, "14:00", "17:00")], paris(2026, 3, 2, 9), duration=timedelta(minutes=45))


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        search([window(TUESDAY, "14:00", "17:00")], datetime(2026, 3, 2, 9))


# -- daylight saving --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "before", "after", "utc_before", "utc_after"),
    [
        # Spring forward on Sunday 2026-03-29: Paris goes from UTC+1 to UTC+2.
        (paris(2026, 3, 20, 9), date(2026, 3, 24), date(2026, 3, 31), 13, 12),
        # Fall back on Sunday 2026-10-25: Paris goes from UTC+2 to UTC+1.
        (paris(2026, 10, 16, 9), date(2026, 10, 20), date(2026, 10, 27), 12, 13),
    ],
)
def test_a_14h_window_stays_14h_paris_across_dst(now, before, after, utc_before, utc_after) -> None:
    slots = search([window(TUESDAY, "14:00", "15:00")], now, end_date=after)
    assert [(s.day, s.start_paris.strftime("%H:%M")) for s in slots] == [
        (before, "14:00"),
        (before, "14:30"),
        (after, "14:00"),
        (after, "14:30"),
    ]
    assert slots[0].start_utc == datetime.combine(before, time(utc_before), tzinfo=UTC)
    assert slots[2].start_utc == datetime.combine(after, time(utc_after), tzinfo=UTC)
    assert slots[0].start_paris.utcoffset() != slots[2].start_paris.utcoffset()


def test_dst_week_is_fully_offered_in_paris_time() -> None:
    # Every weekday of the week after the spring change keeps 08:00–19:00 Paris exactly.
    windows = [window(day, "08:00", "19:00") for day in range(5)]
    slots = search(windows, paris(2026, 3, 26, 7), start_date=date(2026, 3, 30), end_date=date(2026, 4, 3), duration=HOUR)
    by_day = group_by_day(slots)
    assert [d.day for d in by_day] == [date(2026, 3, 30) + timedelta(days=i) for i in range(5)]
    for day in by_day:
        assert day.slots[0].start_paris.time() == time(8)
        assert day.slots[-1].end_paris.time() == time(19)
        assert day.slots[0].start_utc.hour == 6


def test_a_busy_meeting_stored_in_utc_blocks_the_right_paris_slot_after_dst() -> None:
    busy = [Interval(utc(2026, 3, 31, 12), utc(2026, 3, 31, 12, 30))]  # 14:00 Paris, summer time
    slots = search([window(TUESDAY, "14:00", "15:00")], paris(2026, 3, 27, 9), busy=busy, end_date=date(2026, 3, 31))
    assert paris_starts(slots) == ["2026-03-31 14:30"]


# -- holidays and days off --------------------------------------------------------------------------


def test_11_november_is_never_offered() -> None:
    slots = search([window(WEDNESDAY, "09:00", "10:00")], paris(2026, 11, 2, 9))
    days = {s.day for s in slots}
    assert date(2026, 11, 4) in days and date(2026, 11, 18) in days
    assert date(2026, 11, 11) not in days


@pytest.mark.parametrize(
    ("now", "ascension"), [(paris(2026, 5, 4, 9), date(2026, 5, 14)), (paris(2027, 4, 26, 9), date(2027, 5, 6))]
)
def test_ascension_thursday_is_never_offered(now: datetime, ascension: date) -> None:
    slots = search([window(THURSDAY, "09:00", "10:00")], now, end_date=ascension + timedelta(days=7))
    days = sorted({s.day for s in slots})
    assert days == [ascension - timedelta(days=7), ascension + timedelta(days=7)]


@pytest.mark.parametrize(
    ("now", "holiday"), [(paris(2026, 3, 27, 9), date(2026, 4, 3)), (paris(2025, 12, 19, 9), date(2025, 12, 26))]
)
def test_alsace_moselle_good_friday_and_26_december(now: datetime, holiday: date) -> None:
    windows = [window(FRIDAY, "09:00", "10:00")]
    assert holiday in {s.day for s in search(windows, now, end_date=holiday)}
    assert holiday not in {s.day for s in search(windows, now, end_date=holiday, calendar=ALSACE_MOSELLE)}
    nine = datetime.combine(holiday, time(9), tzinfo=PARIS)
    assert check(nine, windows, now, calendar=ALSACE_MOSELLE) == Code.PUBLIC_HOLIDAY
    assert check(nine, windows, now) is None


def test_days_off_are_not_offered() -> None:
    windows = [window(day, "09:00", "10:00") for day in range(5)]
    off = [DayOff(date(2026, 3, 10), date(2026, 3, 12))]
    slots = search(windows, paris(2026, 3, 6, 9), days_off=off, end_date=date(2026, 3, 13))
    assert sorted({s.day for s in slots}) == [date(2026, 3, 9), date(2026, 3, 13)]


# -- notice, horizon, busy, buffer ------------------------------------------------------------------


def test_minimum_notice_boundary_is_exact() -> None:
    windows = [window(WEDNESDAY, "14:00", "15:00")]
    exactly = paris(2026, 3, 3, 14)  # 24 h before Wednesday 14:00
    assert paris_starts(search(windows, exactly, end_date=date(2026, 3, 4)))[0] == "2026-03-04 14:00"
    assert check(paris(2026, 3, 4, 14), windows, exactly) is None
    a_second_late = exactly + timedelta(seconds=1)
    assert paris_starts(search(windows, a_second_late, end_date=date(2026, 3, 4))) == ["2026-03-04 14:30"]
    assert check(paris(2026, 3, 4, 14), windows, a_second_late) == Code.TOO_SHORT_NOTICE


def test_minimum_notice_is_respected() -> None:
    windows = [window(TUESDAY, "14:00", "17:00"), window(WEDNESDAY, "14:00", "17:00")]
    slots = search(windows, paris(2026, 3, 3, 14, 10), end_date=date(2026, 3, 4))
    assert paris_starts(slots)[0] == "2026-03-04 14:30"
    no_notice = BookingSettings(min_notice=timedelta(0))
    slots = search(windows, paris(2026, 3, 3, 14, 10), settings=no_notice, end_date=date(2026, 3, 3))
    assert paris_starts(slots)[0] == "2026-03-03 14:30"


def test_horizon_counts_whole_days() -> None:
    now = paris(2026, 3, 2, 18)  # a Monday evening
    windows = [window(MONDAY, "09:00", "10:00"), window(TUESDAY, "09:00", "10:00")]
    slots = search(windows, now)
    assert last_bookable_day(now, DEFAULTS) == date(2026, 4, 27)
    assert max(s.day for s in slots) == date(2026, 4, 27)
    assert check(paris(2026, 4, 27, 9, 30), windows, now) is None
    assert check(paris(2026, 4, 28, 9), windows, now) == Code.BEYOND_HORIZON


def test_end_date_cannot_widen_the_horizon() -> None:
    slots = search([window(MONDAY, "09:00", "10:00")], paris(2026, 3, 2, 18), end_date=date(2026, 12, 31))
    assert max(s.day for s in slots) == date(2026, 4, 27)


def test_start_and_end_date_narrow_the_search_to_one_week() -> None:
    windows = [window(day, "09:00", "10:00") for day in range(5)]
    slots = search(windows, paris(2026, 3, 2, 9), start_date=date(2026, 3, 16), end_date=date(2026, 3, 22))
    assert sorted({s.day for s in slots}) == [date(2026, 3, 16) + timedelta(days=i) for i in range(5)]


def test_booked_meetings_are_not_offered_again() -> None:
    busy = [meeting(paris(2026, 3, 3, 15))]
    windows = [window(TUESDAY, "14:00", "17:00")]
    slots = search(windows, paris(2026, 3, 2, 9), busy=busy, duration=HOUR, end_date=date(2026, 3, 3))
    assert paris_starts(slots) == ["2026-03-03 14:00", "2026-03-03 15:30", "2026-03-03 16:00"]


def test_busy_intervals_may_be_unsorted_and_overlapping() -> None:
    busy = [meeting(paris(2026, 3, 3, 16)), meeting(paris(2026, 3, 3, 14, 15), HOUR), meeting(paris(2026, 3, 3, 14, 30), HOUR)]
    slots = search([window(TUESDAY, "14:00", "17:00")], paris(2026, 3, 2, 9), busy=busy, end_date=date(2026, 3, 3))
    assert paris_starts(slots) == ["2026-03-03 15:30", "2026-03-03 16:30"]


def test_buffer_keeps_distance_on_both_sides() -> None:
    busy = [meeting(paris(2026, 3, 3, 14, 30))]
    windows = [window(TUESDAY, "14:00", "17:00")]
    no_buffer = search(windows, paris(2026, 3, 2, 9), busy=busy, end_date=date(2026, 3, 3))
    assert paris_starts(no_buffer)[:2] == ["2026-03-03 14:00", "2026-03-03 15:00"]
    buffered = BookingSettings(buffer=timedelta(minutes=10))
    slots = search(windows, paris(2026, 3, 2, 9), busy=busy, settings=buffered, end_date=date(2026, 3, 3))
    assert paris_starts(slots)[0] == "2026-03-03 15:30"
    assert check(paris(2026, 3, 3, 15), windows, paris(2026, 3, 2, 9), busy=busy, settings=buffered) == Code.OVERLAPS


# -- re-validating a chosen slot --------------------------------------------------------------------

WINDOWS = [window(TUESDAY, "14:00", "17:00"), window(FRIDAY, "08:00", "09:00")]
NOW = paris(2026, 3, 2, 9)  # Monday


@pytest.mark.parametrize(
    ("start", "kwargs", "expected"),
    [
        (paris(2026, 3, 3, 14), {}, None),
        (paris(2026, 3, 3, 16, 30), {}, None),
        (paris(2026, 3, 3, 14), {"duration": timedelta(minutes=45)}, Code.BAD_DURATION),
        (paris(2026, 3, 1, 14), {}, Code.PAST),
        (paris(2026, 3, 2, 14), {}, Code.TOO_SHORT_NOTICE),
        (paris(2026, 5, 5, 14), {}, Code.BEYOND_HORIZON),
        (paris(2026, 3, 7, 14), {}, Code.WEEKEND),
        (paris(2026, 4, 6, 14), {}, Code.PUBLIC_HOLIDAY),  # Easter Monday
        (paris(2026, 3, 10, 14), {"days_off": [DayOff(date(2026, 3, 9), date(2026, 3, 10))]}, Code.DAY_OFF),
        (paris(2026, 3, 6, 7, 30), {}, Code.OUT_OF_HOURS),
        (paris(2026, 3, 3, 18, 30), {"duration": HOUR}, Code.OUT_OF_HOURS),
        (paris(2026, 3, 4, 14), {}, Code.OUTSIDE_WINDOWS),  # a Wednesday: no window
        (paris(2026, 3, 3, 16, 30), {"duration": HOUR}, Code.OUTSIDE_WINDOWS),  # runs past 17:00
        (paris(2026, 3, 3, 13, 30), {}, Code.OUTSIDE_WINDOWS),
        (paris(2026, 3, 3, 14, 15), {}, Code.OFF_GRID),
        (paris(2026, 3, 3, 14, 30), {"busy": [meeting(paris(2026, 3, 3, 14, 45))]}, Code.OVERLAPS),
        (paris(2026, 3, 3, 14, 30), {"busy": [meeting(paris(2026, 3, 3, 15))]}, None),
    ],
)
def test_check_slot_bookable(start: datetime, kwargs: dict, expected: Code | None) -> None:
    assert check(start, WINDOWS, NOW, **kwargs) == expected


def test_a_stale_button_is_refused_once_someone_booked_the_slot() -> None:
    offered = search(WINDOWS, NOW, end_date=date(2026, 3, 3))[0]
    assert check(offered.start_utc, WINDOWS, NOW) is None
    taken = [Interval(offered.start_utc, offered.end_utc)]
    assert check(offered.start_utc, WINDOWS, NOW, busy=taken) == Code.OVERLAPS
    assert offered not in search(WINDOWS, NOW, busy=taken, end_date=date(2026, 3, 3))


# -- cancelling -------------------------------------------------------------------------------------


def test_auditeur_may_cancel_only_until_the_notice_limit() -> None:
    start = paris(2026, 3, 10, 14)
    assert check_cancellable(start, start - timedelta(hours=25), DEFAULTS) is None
    assert check_cancellable(start, start - timedelta(hours=24), DEFAULTS) is None
    assert check_cancellable(start, start - timedelta(hours=23, minutes=59), DEFAULTS) == CancelErrorCode.TOO_LATE
    assert check_cancellable(start, start - timedelta(hours=2), DEFAULTS, by_tutor=True) is None
    assert check_cancellable(start, start, DEFAULTS, by_tutor=True) == CancelErrorCode.ALREADY_STARTED
    assert check_cancellable(start, start + HOUR, DEFAULTS) == CancelErrorCode.ALREADY_STARTED


# -- grouping and paging ----------------------------------------------------------------------------


def test_group_by_day_and_week_in_paris_time() -> None:
    windows = [window(MONDAY, "08:00", "09:00"), window(FRIDAY, "18:00", "19:00")]
    slots = search(windows, paris(2026, 3, 2, 9), end_date=date(2026, 3, 31))
    weeks = group_by_week(slots)
    assert [w.monday for w in weeks] == [date(2026, 3, 2) + timedelta(weeks=i) for i in range(5)]
    assert [d.day for d in weeks[0].days] == [date(2026, 3, 6)]  # Monday 2 March is within the notice
    assert [d.day for d in weeks[1].days] == [date(2026, 3, 9), date(2026, 3, 13)]
    assert weeks[1].slot_count == 4
    assert all(slot.day == day.day for week in weeks for day in week.days for slot in day.slots)


def test_weeks_without_slots_are_skipped_and_pages_clamp() -> None:
    windows = [window(MONDAY, "09:00", "10:00")]
    off = [DayOff(date(2026, 3, 16), date(2026, 3, 27))]
    slots = search(windows, paris(2026, 3, 6, 9), days_off=off, end_date=date(2026, 3, 31))
    page = week_page(slots, 0)
    assert page.week.monday == date(2026, 3, 9) and page.count == 2
    assert not page.has_previous and page.has_next
    last = week_page(slots, 1)
    assert last.week.monday == date(2026, 3, 30) and last.has_previous and not last.has_next
    assert week_page(slots, 99).index == 1
    assert week_page(slots, -3).index == 0
    empty = week_page([], 0)
    assert empty.week is None and empty.count == 0 and not empty.has_next


# -- properties -------------------------------------------------------------------------------------

ANCHORS = [
    utc(2026, 3, 18),  # the weeks around the spring DST change
    utc(2026, 10, 14),  # the weeks around the autumn DST change
    utc(2026, 5, 4),  # Ascension 2026, 8 May
    utc(2027, 4, 26),  # Ascension 2027
    utc(2026, 11, 2),  # 1 and 11 November
    utc(2025, 12, 15),  # Christmas, 26 December in Alsace-Moselle
    utc(2026, 3, 25),  # Good Friday, Easter Monday
    utc(2026, 6, 1),
]


def quarter_time(quarter: int) -> time:
    """The ``quarter``-th quarter hour after 08:00 (0 → 08:00, 44 → 19:00)."""
    return time(8 + quarter // 4, 15 * (quarter % 4))


@st.composite
def weekly_windows(draw) -> list[WeeklyWindow]:
    windows = []
    for weekday in range(5):
        quarters = sorted(draw(st.lists(st.integers(0, 44), unique=True, max_size=4)))
        for start, end in zip(quarters[::2], quarters[1::2]):
            windows.append(WeeklyWindow(weekday, quarter_time(start), quarter_time(end)))
    return windows


@st.composite
def scenarios(draw):
    now = draw(st.sampled_from(ANCHORS)) + timedelta(minutes=draw(st.integers(0, 14 * 24 * 60)))
    settings = BookingSettings(
        min_notice=timedelta(hours=draw(st.sampled_from([0, 1, 24, 48]))),
        horizon=timedelta(days=draw(st.integers(1, 21))),
        buffer=timedelta(minutes=draw(st.sampled_from([0, 10, 15, 30]))),
        slot_step=timedelta(minutes=draw(st.sampled_from([15, 30, 60]))),
    )
    busy = []
    for _ in range(draw(st.integers(0, 15))):
        start = now + timedelta(minutes=draw(st.integers(-24 * 60, 22 * 24 * 60)))
        busy.append(Interval(start, start + timedelta(minutes=draw(st.integers(1, 120)))))
    days_off = []
    for _ in range(draw(st.integers(0, 2))):
        first = now.date() + timedelta(days=draw(st.integers(0, 20)))
        days_off.append(DayOff(first, first + timedelta(days=draw(st.integers(0, 4)))))
    return {
        "windows": draw(weekly_windows()),
        "days_off": days_off,
        "busy": busy,
        "settings": settings,
        "duration": draw(st.sampled_from([HALF_HOUR, HOUR])),
        "now": now,
        "calendar": draw(st.sampled_from([FRANCE, ALSACE_MOSELLE])),
    }


def naive_free_slots(windows, days_off, busy, settings, duration, now, calendar) -> list[tuple[datetime, datetime]]:
    """An independent, slow oracle: every quarter hour of every day, checked rule by rule."""
    quarter = timedelta(minutes=15)
    today = now.astimezone(PARIS).date()
    found = []
    for offset in range(-1, settings.horizon.days + 2):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5 or calendar.is_public_holiday(day) or any(o.first <= day <= o.last for o in days_off):
            continue
        covered = {
            q
            for w in windows
            if w.weekday == day.weekday()
            for q in range((w.start.hour * 60 + w.start.minute) // 15, (w.end.hour * 60 + w.end.minute) // 15)
        }
        for q in range(96):
            needed = range(q, q + duration // quarter)
            if not all(n in covered for n in needed):
                continue
            span_start = q
            while span_start - 1 in covered:
                span_start -= 1
            if ((q - span_start) * quarter) % settings.slot_step:
                continue
            start = (datetime.combine(day, time(0), tzinfo=PARIS) + q * quarter).astimezone(UTC)
            end = start + duration
            if start < now + settings.min_notice or day > today + settings.horizon:
                continue
            if any(b.start_utc - settings.buffer < end and start < b.end_utc + settings.buffer for b in busy):
                continue
            found.append((start, end))
    return found


PROPERTY_SETTINGS = hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(scenarios())
def test_every_offered_slot_obeys_every_rule(case) -> None:
    slots = free_slots(**case)
    settings, now, calendar = case["settings"], case["now"], case["calendar"]
    for slot in slots:
        start, end = slot.start_paris, slot.end_paris
        assert slot.duration == case["duration"]
        assert start.date() == end.date() and start.weekday() < 5
        assert not calendar.is_public_holiday(start.date())
        assert not any(off.covers(start.date()) for off in case["days_off"])
        assert time(8) <= start.time() and end.time() <= time(19)
        assert any(w.weekday == start.weekday() and w.start <= start.time() for w in case["windows"])
        assert slot.start_utc >= now + settings.min_notice
        assert start.date() <= now.astimezone(PARIS).date() + settings.horizon
        for busy in case["busy"]:
            assert busy.end_utc + settings.buffer <= slot.start_utc or slot.end_utc + settings.buffer <= busy.start_utc
    assert slots == sorted(slots) and len(set(slots)) == len(slots)


@PROPERTY_SETTINGS
@given(scenarios())
def test_free_slots_match_a_naive_oracle(case) -> None:
    assert [(s.start_utc, s.end_utc) for s in free_slots(**case)] == naive_free_slots(**case)


@PROPERTY_SETTINGS
@given(scenarios(), st.lists(st.integers(0, 24 * 60), max_size=10))
def test_check_slot_bookable_agrees_with_free_slots(case, odd_minutes) -> None:
    offered = {s.start_utc for s in free_slots(**case)}
    now = case["now"]
    rules = {k: case[k] for k in ("windows", "days_off", "busy", "settings", "now", "calendar")}
    # Every quarter hour of working time from yesterday to past the horizon, plus odd minutes.
    today = now.astimezone(PARIS).date()
    candidates = {
        datetime.combine(today + timedelta(days=offset), time(7), tzinfo=PARIS) + timedelta(minutes=minutes)
        for offset in range(-1, case["settings"].horizon.days + 2)
        for minutes in [*range(0, 13 * 60, 15), *odd_minutes]
    }
    assert offered <= {c.astimezone(UTC) for c in candidates}
    for start in candidates:
        verdict = check_slot_bookable(start, case["duration"], **rules)
        assert (verdict is None) == (start in offered), (start, verdict)
