"""Benchmark: free slots of one tutor over two semesters with 200, 1,000 and 5,000 meetings.

Run from the project root:  python bench/bench_slots.py [--repeat 31]

The tutor has ten weekly windows (30 hours a week, two per weekday); the search covers 40 weeks
(two semesters) from a Monday in September, across the October DST change, All Saints', Christmas,
the March DST change, Easter and Ascension. Busy intervals are random 30/60-minute meetings on the
half-hour grid inside working hours (seeded, so runs are comparable). Each case is timed
``--repeat`` times; the median is reported, with its growth against the smallest case.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.availability import BookingSettings, DayOff, WeeklyWindow  # noqa: E402
from bot.domain.calendar import PARIS, HolidayCalendar  # noqa: E402
from bot.domain.slots import Interval, free_slots  # noqa: E402

WEEKS = 40
FIRST_DAY = date(2026, 9, 7)  # a Monday
NOW = datetime(2026, 9, 4, 9, 0, tzinfo=UTC)
MEETING_COUNTS = (200, 1_000, 5_000)
TARGET_MS_AT_1000 = 20.0


def tutor_windows() -> list[WeeklyWindow]:
    return [
        window
        for weekday in range(5)
        for window in (WeeklyWindow(weekday, time(9), time(12)), WeeklyWindow(weekday, time(14), time(17)))
    ]


def random_meetings(count: int, rng: random.Random) -> list[Interval]:
    meetings = []
    for _ in range(count):
        day = FIRST_DAY + timedelta(days=rng.randrange(WEEKS * 7))
        start = datetime.combine(day, time(8), tzinfo=PARIS) + timedelta(minutes=30 * rng.randrange(21))
        end = start + timedelta(minutes=rng.choice((30, 60)))
        meetings.append(Interval(start.astimezone(UTC), end.astimezone(UTC)))
    return meetings


def measure(count: int, repeat: int) -> tuple[float, int]:
    rng = random.Random(count)
    busy = random_meetings(count, rng)
    settings = BookingSettings(horizon=timedelta(weeks=WEEKS + 1), buffer=timedelta(minutes=10))
    calendar = HolidayCalendar()
    days_off = [DayOff(date(2026, 12, 21), date(2027, 1, 1))]
    windows = tutor_windows()
    free_slots(windows, days_off, busy, settings, timedelta(minutes=30), NOW, calendar)  # warm caches
    timings, found = [], 0
    for _ in range(repeat):
        started = clock.perf_counter()
        found = len(free_slots(windows, days_off, busy, settings, timedelta(minutes=30), NOW, calendar))
        timings.append((clock.perf_counter() - started) * 1000)
    return statistics.median(timings), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=31)
    args = parser.parse_args()
    print(f"free_slots, one tutor, {WEEKS} weeks, 30 h of windows a week, median of {args.repeat} runs")
    print(f"{'meetings':>9} | {'median ms':>9} | {'growth':>7} | {'free slots':>10}")
    print(f"{'-' * 9}-+-{'-' * 9}-+-{'-' * 7}-+-{'-' * 10}")
    baseline = None
    results = {}
    for count in MEETING_COUNTS:
        median_ms, found = measure(count, args.repeat)
        results[count] = median_ms
        baseline = baseline or median_ms
        print(f"{count:>9,} | {median_ms:>9.2f} | {median_ms / baseline:>6.2f}x | {found:>10,}")
    verdict = "OK" if results[1_000] < TARGET_MS_AT_1000 else "TOO SLOW"
    print(f"target: under {TARGET_MS_AT_1000:.0f} ms at 1,000 meetings -> {verdict}")


if __name__ == "__main__":
    main()
