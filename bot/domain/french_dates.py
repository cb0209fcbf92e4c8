"""Dates as people write them in French: "24/12/2026", "10/12", "3.11.26", "5 janvier", "1er mars
2027", "lundi 5 janvier", "mardi", "demain".

One set of rules for every reader of typed dates (a broadcast's time and an enrolment period, a
tutor's days off, the planning's dates): a two-digit year is this century's, a date written without
its year is the next such day (today included), a weekday written with a date must be that date's,
and a day that does not exist is refused. The words are data (``prompts/input/calendar_words.toml``);
each reader turns a ``DateProblem`` into its own refusal. Pure: no Telegram, no SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from bot.domain.french_words import calendar_words, fold

# A numeric date, exactly: one separator throughout ("24/12/2026", "10-12", "3.11.26"). Readers
# that cut a text into dates themselves (a period "22/12/2026-02/01/2027") use this one.
NUMERIC_DATE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{4}|\d{2}))?")
# The same found inside a sentence, spaces around the separators allowed ("le 5 / 10 à 9h").
_NUMERIC_IN_TEXT = re.compile(r"(?<!\d)(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{4}|\d{2}))?(?!\d)")
# A day, its month in words and maybe its year ("21 decembre", "1er janvier 2027", "15 janv.").
WORDED_DATE = re.compile(r"(\d{1,2})(?:er)?\s+([a-z]+)\.?(?:\s+(\d{4}))?")
_WORDED_IN_TEXT = re.compile(r"(?<!\d)" + WORDED_DATE.pattern + r"(?!\d)")


class DateProblem(ValueError):
    """Why a written date is refused."""

    class Code(StrEnum):
        NOT_UNDERSTOOD = "not_understood"  # no date in the text
        INVALID = "invalid"  # no such day: 31/04, 29/02/2027
        WEEKDAY_MISMATCH = "weekday_mismatch"  # "lundi 6 janvier" when the 6th is a Tuesday

    def __init__(self, code: DateProblem.Code, day: date | None = None) -> None:
        super().__init__(code.value)
        self.code = code
        self.day = day  # for a weekday mismatch: the date as written


@dataclass(frozen=True)
class WrittenDate:
    """A date as written: its month may be left for later ("du 21 au 23 décembre") and its year
    unsaid; the weekday written with it, if any, is checked once the date is known."""

    day: int
    month: int | None
    year: int | None
    weekday: int | None = None  # Monday = 0

    def in_year(self, year: int, month: int | None = None) -> date:
        """This date in ``year`` (and ``month`` when it was not written with it)."""
        try:
            day = date(year, month or self.month, self.day)
        except (ValueError, TypeError):
            raise DateProblem(DateProblem.Code.INVALID) from None
        if self.weekday is not None and day.weekday() != self.weekday:
            raise DateProblem(DateProblem.Code.WEEKDAY_MISMATCH, day)
        return day

    def next_from(self, today: date, month: int | None = None) -> date:
        """The year written, or else the first such day on or after ``today``: this year's, or next
        year's once it has passed (or when it does not exist this year: 29 February)."""
        if self.year is not None:
            return self.in_year(self.year, month)
        for year in (today.year, today.year + 1):
            try:
                candidate = date(year, month or self.month, self.day)
            except (ValueError, TypeError):
                continue
            if candidate >= today:
                return self.in_year(year, month)
        raise DateProblem(DateProblem.Code.INVALID)


def full_year(written: str | None) -> int | None:
    """"27" is 2027; four digits are read as written."""
    if written is None:
        return None
    year = int(written)
    return year + 2000 if year < 100 else year


def read_date(chunk: str, weekday: int | None = None) -> WrittenDate | None:
    """``chunk`` (folded) if it is exactly one date, numeric or with its month in words; None if not."""
    numeric = NUMERIC_DATE.fullmatch(chunk)
    if numeric is not None:
        return WrittenDate(int(numeric.group(1)), int(numeric.group(3)), full_year(numeric.group(4)), weekday)
    worded = WORDED_DATE.fullmatch(chunk)
    if worded is not None and worded.group(2) in calendar_words().months:
        month = calendar_words().months[worded.group(2)]
        return WrittenDate(int(worded.group(1)), month, full_year(worded.group(3)), weekday)
    return None


def weekday_named(folded: str) -> int | None:
    """The weekday written in full in the text ("mardi"), if any: abbreviations ("ma", "je") are
    ordinary words in a sentence."""
    return next((n for w, n in calendar_words().weekday_names.items() if re.search(rf"\b{w}\b", folded)), None)


def relative_day(folded: str, today: date) -> date | None:
    """"aujourd'hui", "demain", "après-demain" (the words: ``[relative_days]``), if the text says one."""
    found = [(len(word), offset) for word, offset in calendar_words().relative_days.items()
             if re.search(rf"(?<![a-z-]){re.escape(word)}(?![a-z-])", folded)]
    return today + timedelta(days=max(found)[1]) if found else None  # the longest: "apres-demain" holds "demain"


def relative_days_as_dates(folded: str, today: date) -> str:
    """``folded`` with each relative day written as its date ("demain et apres-demain" on 1 December
    2026: "2/12/2026 et 3/12/2026"), for readers that cut a text into dates themselves."""
    words = sorted(calendar_words().relative_days.items(), key=lambda item: len(item[0]), reverse=True)
    for word, offset in words:
        day = today + timedelta(days=offset)
        folded = re.sub(rf"(?<![a-z-]){re.escape(word)}(?![a-z-])", f"{day.day}/{day.month}/{day.year}", folded)
    return folded


def day_in_text(text: str, today: date, *, past_ok: bool = False) -> tuple[date, bool]:
    """The day a sentence names: a relative day, a date ("lundi 5 octobre", "05/10", "5/10/2027",
    "1er mars"), or a weekday alone (the next one, today included). Returns it and whether its year
    was written. ``past_ok``: a date without its year stays in ``today``'s year even once passed."""
    folded = fold(text)
    weekday = weekday_named(folded)
    day = relative_day(folded, today)
    year_given = False
    if day is None:
        written = _first_date(folded)
        if written is None:
            if weekday is None:
                raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD)
            return today + timedelta(days=(weekday - today.weekday()) % 7), False
        year_given = written.year is not None
        written = replace(written, weekday=weekday)
        day = written.in_year(today.year) if past_ok and not year_given else written.next_from(today)
    elif weekday is not None and day.weekday() != weekday:
        raise DateProblem(DateProblem.Code.WEEKDAY_MISMATCH, day)
    return day, year_given


def _first_date(folded: str) -> WrittenDate | None:
    numeric = _NUMERIC_IN_TEXT.search(folded)
    if numeric is not None:
        return WrittenDate(int(numeric.group(1)), int(numeric.group(2)), full_year(numeric.group(3)))
    months = calendar_words().months
    for worded in _WORDED_IN_TEXT.finditer(folded):
        if worded.group(2) in months:
            return WrittenDate(int(worded.group(1)), months[worded.group(2)], full_year(worded.group(3)))
    return None
