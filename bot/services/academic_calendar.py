"""The academic calendar staff set once a year (table ``academic_years``): semester dates and each
semester's enrolment opening and closing dates, one source for the accompaniment (the
two-semester limit) and the broadcasts (the enrolment announcements).

A year staff did not set has the defaults of :func:`bot.domain.accompaniment.default_academic_year`
for the accompaniment; the announcements need the year to be set (a date nobody confirmed is not
announced to every auditeur). Who may write is checked by the callers' services (staff only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.accompaniment import AcademicCalendar, AcademicYear, Refusal, RefusalCode, SemesterDates
from bot.domain.semesters import Semester
from bot.storage.db import Database
from bot.storage.models import AcademicYearRow, AuditEvent

log = logging.getLogger(__name__)


class AcademicCalendarStore:
    def __init__(self, db: Database, *, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock

    def calendar(self, session: Session | None = None) -> AcademicCalendar:
        if session is None:
            with self._db.read() as session:
                return self.calendar(session)
        return AcademicCalendar(year_of(row) for row in session.scalars(select(AcademicYearRow)))

    def save(self, actor_id: int | None, year: AcademicYear, *, session: Session | None = None) -> AcademicYear:
        """Store a whole year after checking its coherence. Raises :class:`Refusal` (bad_calendar)."""
        problems = year.problems()
        if problems:
            raise Refusal(RefusalCode.BAD_CALENDAR, {"problems": problems, "year": year.year})
        if session is None:
            with self._db.transaction() as session:
                return self.save(actor_id, year, session=session)
        row = session.get(AcademicYearRow, year.year) or AcademicYearRow(year=year.year)
        for number, dates in ((1, year.s1), (2, year.s2)):
            setattr(row, f"s{number}_start", dates.start)
            setattr(row, f"s{number}_end", dates.end)
            setattr(row, f"s{number}_enrolment_opens", dates.enrolment_opens)
            setattr(row, f"s{number}_enrolment_closes", dates.enrolment_closes)
        row.updated_by_id, row.updated_at = actor_id, self._clock()
        session.add(row)
        session.add(AuditEvent(actor_id=actor_id, action="academic_year.set", details={"year": year.year}))
        log.info("academic year %s set by person %s", year.year, actor_id)
        return year

    def set_enrolment(self, actor_id: int | None, semester: Semester, opens_on: date, closes_on: date) -> AcademicYear:
        """One semester's enrolment window; the rest of the year as stored (or the defaults)."""
        with self._db.transaction() as session:
            current = self.calendar(session).year(semester.academic_year)
            dates = replace(current.dates(semester.number), enrolment_opens=opens_on, enrolment_closes=closes_on)
            year = replace(current, **{f"s{semester.number}": dates})
            return self.save(actor_id, year, session=session)

    def enrolment_windows(self, academic_year: int) -> dict[int, SemesterDates] | None:
        """The year's two semesters as staff set them, or None when the year was not set."""
        with self._db.read() as session:
            row = session.get(AcademicYearRow, academic_year)
            if row is None:
                return None
            year = year_of(row)
        return {1: year.s1, 2: year.s2}


def year_of(row: AcademicYearRow) -> AcademicYear:
    def sem(n: int) -> SemesterDates:
        return SemesterDates(
            getattr(row, f"s{n}_start"), getattr(row, f"s{n}_end"),
            getattr(row, f"s{n}_enrolment_opens"), getattr(row, f"s{n}_enrolment_closes"),
        )

    return AcademicYear(row.year, sem(1), sem(2))
