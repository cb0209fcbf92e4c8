"""Rules of enrolment in the tutoring offer: its prerequisites and likely duplicate people.

Seed 003: the offer is open to auditeurs who "ont validé 2 unités minimum d'enseignement de la
certification visée" and "justifient d'une expérience professionnelle minimum selon la certification
visée ou en cours d'acquisition". Staff record both when they enrol someone.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

MIN_UNITS_VALIDATED = 2
MAX_UNITS = 99


class Experience(StrEnum):
    JUSTIFIED = "justified"  # the minimum professional experience is justified
    IN_PROGRESS = "in_progress"  # being acquired (the seed accepts it)
    MISSING = "missing"  # not justified: the offer is not open


def parse_units(text: str | None) -> int | None:
    """A number of teaching units typed by staff ("2", " 3 "), or None when it is not one."""
    value = (text or "").strip()
    if not value.isdecimal():  # not isdigit(): "²" (next to 1 on a French keyboard) is a digit int() refuses
        return None
    number = int(value)
    return number if number <= MAX_UNITS else None


def prerequisite_problems(units_validated: int | None, experience: str | None) -> tuple[str, ...]:
    """Why the offer is not open to this auditeur ("units_below_minimum", "experience_missing");
    empty when both prerequisites are met. A value not recorded (None) is not judged here."""
    problems = []
    if units_validated is not None and units_validated < MIN_UNITS_VALIDATED:
        problems.append("units_below_minimum")
    if experience is not None and Experience(experience) is Experience.MISSING:
        problems.append("experience_missing")
    return tuple(problems)


def name_key(name: str) -> str:
    """A name compared without accents, case, punctuation or spacing: "Léa  BERNARD" = "lea bernard"."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = "".join(c if c.isalnum() else " " for c in letters.casefold())
    return " ".join(cleaned.split())


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    email: str | None
    role: str


@dataclass(frozen=True)
class Duplicate:
    candidate: Candidate
    same_name: bool
    same_email: bool


def likely_duplicates(name: str, email: str | None, people: Iterable[Candidate]) -> list[Duplicate]:
    """The people who are likely the same as the one about to be created: same name (accents and
    case aside, words in any order) or same e-mail (case aside)."""
    key = sorted(name_key(name).split())
    mail = (email or "").strip().casefold()
    found = []
    for person in people:
        same_name = bool(key) and sorted(name_key(person.name).split()) == key
        same_email = bool(mail) and (person.email or "").strip().casefold() == mail
        if same_name or same_email:
            found.append(Duplicate(person, same_name, same_email))
    return found
