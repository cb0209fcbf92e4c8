"""Enrolment semesters: the 1st semester starts with enrolment in October, the 2nd in February or March.

A semester is written `YYYY-S1` or `YYYY-S2`, YYYY being the first year of the academic year:
`2026-S1` is the 1st semester of 2026-2027 (enrolment October 2026), `2026-S2` its 2nd semester
(enrolment February/March 2027).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_SEMESTER_RE = re.compile(r"^\s*(\d{4})\s*-?\s*S\s*([12])\s*$", re.IGNORECASE)


class SemesterError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Semester:
    academic_year: int
    number: int  # 1 or 2

    @classmethod
    def parse(cls, raw: str) -> Semester:
        match = _SEMESTER_RE.match(raw or "")
        if not match:
            raise SemesterError(raw)
        year = int(match.group(1))
        if not 2000 <= year <= 2100:
            raise SemesterError(raw)
        return cls(year, int(match.group(2)))

    @classmethod
    def containing(cls, day: date) -> Semester:
        """The semester whose teaching period contains `day` (Sept-Jan: 1st; Feb-Aug: 2nd)."""
        if day.month >= 9:
            return cls(day.year, 1)
        if day.month == 1:
            return cls(day.year - 1, 1)
        return cls(day.year - 1, 2)

    def next(self) -> Semester:
        return Semester(self.academic_year, 2) if self.number == 1 else Semester(self.academic_year + 1, 1)

    def plus(self, count: int) -> Semester:
        semester = self
        for _ in range(count):
            semester = semester.next()
        return semester

    @property
    def code(self) -> str:
        return f"{self.academic_year}-S{self.number}"

    @property
    def academic_year_label(self) -> str:
        return f"{self.academic_year}-{self.academic_year + 1}"

    @property
    def enrolment_months(self) -> tuple[int, ...]:
        """October for the 1st semester; February or March for the 2nd."""
        return (10,) if self.number == 1 else (2, 3)

    def __str__(self) -> str:
        return self.code


def enrolment_choices(today: date) -> list[Semester]:
    """The semesters staff can enrol into today: the current one and the next two."""
    current = Semester.containing(today)
    return [current, current.next(), current.plus(2)]
