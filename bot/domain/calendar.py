"""Working-time rules: the Paris clock, working days, public and school holidays.

Tutoring happens Monday to Friday between 08:00 and 19:00, Europe/Paris time, never on a French
public holiday. Alsace-Moselle observes two more public holidays (Good Friday and 26 December);
whether they apply is a setting, not a guess. School holidays (zone B for Pays de la Loire) do not
block meetings; they stretch the tutor's correction delay from four to six weeks.

Everything here is computed on Paris calendar dates; instants are stored in UTC elsewhere and
converted with :func:`to_paris` / :func:`paris_to_utc`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")
WORKDAY_START = time(8)
WORKDAY_END = time(19)
WORKING_WEEKDAYS: frozenset[int] = frozenset(range(5))  # date.weekday(): Monday=0 … Friday=4

ALSACE_MOSELLE_SUBDIVISIONS: tuple[str, ...] = ("57", "6AE")
SCHOOL_ZONES: tuple[str, ...] = ("A", "B", "C")
DEFAULT_SCHOOL_ZONE = "B"  # Pays de la Loire (académie de Nantes)

CORRECTION_DELAY = timedelta(weeks=4)
CORRECTION_DELAY_DURING_SCHOOL_HOLIDAYS = timedelta(weeks=6)


def require_aware(moment: datetime, name: str = "moment") -> datetime:
    """Return ``moment`` in UTC; a naive datetime is a programming error (which zone would it be?)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC)


def to_paris(moment: datetime) -> datetime:
    return require_aware(moment).astimezone(PARIS)


def paris_date(moment: datetime) -> date:
    return to_paris(moment).date()


def paris_to_utc(day: date, wall_time: time) -> datetime:
    """The UTC instant of a Paris wall-clock time (working hours never fall in a DST gap)."""
    return datetime.combine(day, wall_time, tzinfo=PARIS).astimezone(UTC)


@dataclass(frozen=True)
class SchoolHoliday:
    """One school-holiday period, both ends inclusive, as published for the zone."""

    name: str
    first: date
    last: date

    def overlaps(self, start: date, end: date) -> bool:
        return self.first <= end and start <= self.last


class HolidayCalendar:
    """French public holidays (optionally Alsace-Moselle) and school holidays of one zone.

    Lookups are cached per year, so asking about hundreds of days costs a set membership each.
    """

    def __init__(
        self,
        alsace_moselle: bool = False,
        *,
        subdivision: str | None = None,
        school_zone: str = DEFAULT_SCHOOL_ZONE,
    ) -> None:
        if subdivision is not None and subdivision not in ALSACE_MOSELLE_SUBDIVISIONS:
            raise ValueError(f"subdivision must be one of {ALSACE_MOSELLE_SUBDIVISIONS}, got {subdivision!r}")
        if school_zone not in SCHOOL_ZONES:
            raise ValueError(f"school_zone must be one of {SCHOOL_ZONES}, got {school_zone!r}")
        self.alsace_moselle = alsace_moselle or subdivision is not None
        self.subdivision = subdivision or (ALSACE_MOSELLE_SUBDIVISIONS[0] if self.alsace_moselle else None)
        self.school_zone = school_zone
        self._public: dict[int, dict[date, str]] = {}
        self._school_days: dict[int, dict[date, str]] = {}

    def __repr__(self) -> str:
        return f"HolidayCalendar(subdivision={self.subdivision!r}, school_zone={self.school_zone!r})"

    # -- public holidays -------------------------------------------------------------------------

    def _public_holidays(self, year: int) -> dict[date, str]:
        found = self._public.get(year)
        if found is None:
            table = holidays.France(subdiv=self.subdivision, years=year, language="fr")
            found = self._public[year] = dict(table.items())
        return found

    def is_public_holiday(self, day: date) -> bool:
        return day in self._public_holidays(day.year)

    def public_holiday_name(self, day: date) -> str | None:
        """The holiday's French name as published by the ``holidays`` library, or None."""
        return self._public_holidays(day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and not a public holiday (of the configured subdivision)."""
        return day.weekday() in WORKING_WEEKDAYS and not self.is_public_holiday(day)

    # -- school holidays -------------------------------------------------------------------------

    def _school_holiday_days(self, year: int) -> dict[date, str]:
        found = self._school_days.get(year)
        if found is None:
            table = holidays.France(
                subdiv=f"Zone {self.school_zone}", categories=("school",), years=year, language="fr"
            )
            found = self._school_days[year] = dict(table.items())
        return found

    def is_school_holiday(self, day: date) -> bool:
        return day in self._school_holiday_days(day.year)

    def school_holidays(self, start: date, end: date) -> list[SchoolHoliday]:
        """School-holiday periods of the zone that touch ``start``..``end`` (inclusive), in order.

        A period spanning New Year (the Christmas break) is returned whole, as one period.
        """
        if end < start:
            return []
        # Look a few weeks beyond the range so that periods cut by it are returned whole.
        lookaround = timedelta(weeks=10)
        first_year, last_year = (start - lookaround).year, (end + lookaround).year
        days: dict[date, str] = {}
        for year in range(first_year, last_year + 1):
            days.update(self._school_holiday_days(year))
        periods: list[SchoolHoliday] = []
        for day in sorted(days):
            previous = periods[-1] if periods else None
            if previous is not None and day - previous.last == timedelta(days=1):
                periods[-1] = SchoolHoliday(previous.name, previous.first, day)
            else:
                periods.append(SchoolHoliday(days[day], day, day))
        return [period for period in periods if period.overlaps(start, end)]

    def overlaps_school_holidays(self, start: date, end: date) -> bool:
        """True when at least one day of ``start``..``end`` (inclusive) is a school holiday."""
        if end < start:
            return False
        day = start
        while day <= end:
            if self.is_school_holiday(day):
                return True
            day += timedelta(days=1)
        return False


MIN_HOLIDAY_PERIOD = timedelta(days=7)
"""Shorter school-holiday periods (the four-day "pont de l'Ascension") are not "vacances"."""


@dataclass(frozen=True)
class CorrectionDelay:
    """When the annotated correction of a report received on ``received`` is due, and why.

    ``weeks`` is 4 or 6; ``holidays`` lists the school-holiday periods that made it 6 (empty for 4);
    ``due`` is the working day the correction is due (``nominal_due`` moved off a weekend or a
    public holiday to the next working day).
    """

    received: date
    weeks: int
    nominal_due: date
    due: date
    holidays: tuple[SchoolHoliday, ...] = ()

    @property
    def stretched(self) -> bool:
        return self.weeks == 6


def _counts_as_holidays(period: SchoolHoliday, start: date, end: date) -> bool:
    """A period stretches the delay when it is real holidays (a week or more) and at least one of
    its Monday-to-Friday days falls in ``start``..``end``: a break starting on the Saturday the four
    weeks end costs the tutor no working day, so it does not count."""
    if period.last - period.first + timedelta(days=1) < MIN_HOLIDAY_PERIOD:
        return False
    day = max(period.first, start)
    while day <= min(period.last, end):
        if day.weekday() in WORKING_WEEKDAYS:
            return True
        day += timedelta(days=1)
    return False


def next_working_day(day: date, calendar: HolidayCalendar) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def previous_working_day(day: date, calendar: HolidayCalendar) -> date:
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return day


def correction_delay(received: date, calendar: HolidayCalendar) -> CorrectionDelay:
    """When the tutor's annotated correction is due (step 3 of the accompaniment), and why.

    Four weeks after the report is received, six weeks when school holidays of the calendar's zone
    fall in those four weeks. The period examined is the working period: the day after reception
    up to the four-week date, both included. Edges (decided, see :func:`_counts_as_holidays`):

    * holidays count only through their weekdays: a break whose first day (a Saturday, as
      published) is the day the four weeks end leaves four weeks;
    * a long weekend shorter than a week (the "pont de l'Ascension") is not holidays;
    * a report received on the last day of a break gets four weeks (the break is over);
    * a due date on a weekend or a public holiday moves to the next working day.
    """
    window_start, regular = received + timedelta(days=1), received + CORRECTION_DELAY
    periods = tuple(
        period for period in calendar.school_holidays(window_start, regular)
        if _counts_as_holidays(period, window_start, regular)
    )
    nominal = received + (CORRECTION_DELAY_DURING_SCHOOL_HOLIDAYS if periods else CORRECTION_DELAY)
    return CorrectionDelay(
        received=received,
        weeks=6 if periods else 4,
        nominal_due=nominal,
        due=next_working_day(nominal, calendar),
        holidays=periods,
    )


def correction_due_date(received: date, calendar: HolidayCalendar) -> date:
    """The working day the correction of a report received on ``received`` is due
    (see :func:`correction_delay` for the rule and its edges)."""
    return correction_delay(received, calendar).due
