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
from datetime import date, time, timedelta
from enum import StrEnum

from bot.domain.french_words import calendar_words, fold, whole_word

# A numeric date, exactly: one separator throughout ("24/12/2026", "10-12", "3.11.26"). Readers
# that cut a text into dates themselves (a period "22/12/2026-02/01/2027") use this one.
NUMERIC_DATE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{4}|\d{2}))?")
# The same found inside a sentence, spaces around the separators allowed ("le 5 / 10 à 9h").
_NUMERIC_IN_TEXT = re.compile(r"(?<!\d)(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{4}|\d{2}))?(?!\d)")
# A day, its month in words and maybe its year ("21 decembre", "1er janvier 2027", "15 janv.").
WORDED_DATE = re.compile(r"(\d{1,2})(?:er)?\s+([a-z]+)\.?(?:\s+(\d{4}|\d{2}(?!\d)))?")
_WORDED_IN_TEXT = re.compile(r"(?<!\d)" + WORDED_DATE.pattern + r"(?!\d)")


class DateProblem(ValueError):
    """Why a written date is refused."""

    class Code(StrEnum):
        NOT_UNDERSTOOD = "not_understood"  # no date in the text
        INVALID = "invalid"  # no such day: 31/04, 29/02/2027
        WEEKDAY_MISMATCH = "weekday_mismatch"  # "lundi 6 janvier" when the 6th is a Tuesday
        PASSED = "passed"  # a date without its year that was this year's a few days ago ("30/11" on 1 December)
        TIME_MISSING = "time_missing"  # a moment without its time
        TIME_INVALID = "time_invalid"  # 25h, 9h75

    def __init__(self, code: DateProblem.Code, day: date | None = None, word: str | None = None) -> None:
        super().__init__(code.value)
        self.code = code
        self.day = day  # for a weekday mismatch: the date as written
        self.word = word  # for a text not understood: the word that is no part of a date, if one is
        self.at: time | None = None  # for a moment: its time of day, when it was read


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

    def last_until(self, end: date, month: int | None = None) -> date:
        """The year written, or else the last such day on or before ``end`` (the start of a period
        whose end is known). A day written without its month (``month`` given: the end's) falls in
        the month before when it is later than the end ("du 28 au 2 janvier": 28 December)."""
        if self.year is not None:
            return self.in_year(self.year, month)
        if self.month is None and month is not None and self.day > end.day and end.month == month:
            month = 12 if month == 1 else month - 1
            year = end.year - 1 if month == 12 else end.year
            return self.in_year(year, month)
        for year in (end.year, end.year - 1):
            try:
                candidate = date(year, month or self.month, self.day)
            except (ValueError, TypeError):
                continue
            if candidate <= end:
                return self.in_year(year, month)
        raise DateProblem(DateProblem.Code.INVALID)

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


def relative_days_as_dates(folded: str, today: date) -> str:
    """``folded`` with each relative day written as its date ("demain et apres-demain" on 1 December
    2026: "2/12/2026 et 3/12/2026"), for readers that cut a text into dates themselves."""
    words = sorted(calendar_words().relative_days.items(), key=lambda item: len(item[0]), reverse=True)
    for word, offset in words:  # the longest first: "apres-demain" holds "demain"
        day = today + timedelta(days=offset)
        folded = whole_word(word).sub(f"{day.day}/{day.month}/{day.year}", folded)
    return folded


def day_in_text(text: str, today: date) -> date:
    """The day a sentence names: a relative day, a date ("lundi 5 octobre", "05/10", "5/10/2027",
    "1er mars"), or a weekday alone (the next one, today included). A date without its year that was
    this year's less than a month ago ("30/11" on 1 December) is refused (``PASSED``) rather than
    taken as next year's."""
    folded = relative_days_as_dates(fold(text), today)  # "demain" has its date, year included
    weekday = weekday_named(folded)
    written = _first_date(folded)
    if written is None:
        if weekday is None:
            raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD)
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    day = replace(written, weekday=weekday).next_from(today)
    if written.year is None and just_passed(day, today):
        raise DateProblem(DateProblem.Code.PASSED, _a_year_earlier(day))
    return day


def _first_date(folded: str) -> WrittenDate | None:
    numeric = _NUMERIC_IN_TEXT.search(folded)
    if numeric is not None:
        return WrittenDate(int(numeric.group(1)), int(numeric.group(2)), full_year(numeric.group(3)))
    months = calendar_words().months
    for worded in _WORDED_IN_TEXT.finditer(folded):
        if worded.group(2) in months:
            return WrittenDate(int(worded.group(1)), months[worded.group(2)], full_year(worded.group(3)))
    return None


# -- periods and lists of days ("du 21 décembre au 3 janvier", "24/12 et 31/12") -----------------------


@dataclass(frozen=True)
class Period:
    """A day (``first == last``) or a period, both days included."""

    first: date
    last: date
    years_written: bool  # a year was written for it (else its years were chosen: the next such days)


_DAY_AND_WORD = re.compile(r"(\d{1,2})(?:er)?(?:\s+([a-z]+)\.?(?:\s+(\d{4}))?)?")  # "21", "21 au" (… 23 décembre)
_PERIOD_TOKENS = re.compile(
    r"\d{1,2}([/.-])\d{1,2}(?:\1\d{4}|\1\d{2}(?!\d))?(?![\d/.])"  # 24/12/2026, 10/12, 3.11.26
    r"|\d+(?:er)?(?:\s+[a-z]+\.?(?:\s+\d{4})?)?"  # 21 décembre, 1er janvier 2027, 21 (au 23 …)
    r"|[a-z]+|-"
)


@dataclass(frozen=True)
class _Written:
    date: WrittenDate
    ends_period: bool  # a range word ("au", "-", "jusqu'au") stands between it and the date before


def _period_parts(text: str) -> list[_Written]:
    """The dates of folded text, in order, each marked when a range word joins it to the one before.
    Anything else than a date, a weekday name before a date, a filler ("du", "le", "et") or a range
    word is refused (``word``: the word, when one is to blame)."""
    words = calendar_words()
    parts: list[_Written] = []
    position = 0
    pending_weekday: int | None = None
    range_before = False
    for token in _PERIOD_TOKENS.finditer(text):
        if text[position : token.start()].strip(" ,."):  # "mer. 24/12"
            raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD)
        position = token.end()
        chunk = token.group(0).strip()
        if chunk[0].isdigit():
            written = read_date(chunk, pending_weekday)
            word = None
            if written is None:
                bare = _DAY_AND_WORD.fullmatch(chunk)
                if bare is None:
                    raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD)
                word, year = bare.group(2), bare.group(3)
                known = word in words.period_fillers or word in words.period_ranges
                if word is not None and (not known or year is not None):
                    raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD, word=word)
                written = WrittenDate(int(bare.group(1)), None, None, pending_weekday)  # its month comes later
            parts.append(_Written(written, range_before))
            range_before = word in words.period_ranges  # "21 au" (23 décembre)
            pending_weekday = None
        elif chunk in words.weekdays:
            pending_weekday = words.weekdays[chunk]
        elif chunk in words.period_ranges:
            range_before = True
        elif chunk in words.period_fillers:
            continue
        else:
            raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD, word=chunk)
    if text[position:].strip(" ,.") or range_before or not parts:
        raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD)
    if pending_weekday is not None:  # "demain mardi", "24/12 jeudi": the weekday after its date
        last = parts[-1]
        if last.date.weekday is not None:
            raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD)
        parts[-1] = _Written(replace(last.date, weekday=pending_weekday), last.ends_period)
    return parts


def read_periods(text: str, today: date, *, reference: date | None = None) -> list[Period]:
    """The days and periods of a text as people write them: "24/12/2026", "10/12", "lundi 5
    janvier", "demain", "du 21 décembre au 3 janvier", "22/12/2026-02/01/2027", "du 21 au 23
    décembre", "du 28 au 2 janvier", "jusqu'au 2 janvier" (from today), and several of them: "24/12
    et 31/12", "21, 22 et 23 décembre", "du 21 au 23 décembre et le 31/12".

    Dates joined by a range word ("au", "-", "jusqu'au") make a period; dates joined by a comma or
    "et" are separate days. A day written without its month takes the next month written. Years
    not written are chosen from ``reference`` (default: ``today``): a day is the next such day on or
    after it; a period ends on the next such day and starts on the last such day before its end
    ("du 30/11 au 4/12" on 1 December: this week). Relative days count from ``today``. Periods
    come out as read: each reader judges their length and whether they are past.
    """
    reference = reference or today
    folded = fold(text)
    for phrase in calendar_words().period_phrases:  # "au plus tard", "y compris"
        folded = whole_word(phrase).sub(" ", folded)
    folded = re.sub(r"(\d)\s*/\s*(\d)", r"\1/\2", folded)  # "le 5 / 12"
    folded = re.sub(r"[.!]+\s*$", "", folded)  # "le 24/12." as a sentence ends
    parts = _period_parts(relative_days_as_dates(folded, today))
    read: list[Period] = []
    index = 0
    while index < len(parts):
        part = parts[index].date
        closing = parts[index + 1].date if index + 1 < len(parts) and parts[index + 1].ends_period else None
        if parts[index].ends_period:  # a range word before it: "jusqu'au 2 janvier", from today
            if index > 0 or closing is not None:  # "du 1 au 3 au 5"
                raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD)
            end = _single_day(part, _first_with_month(parts, index), today)
            read.append(Period(today, end.last, end.years_written))
            index += 1
        elif closing is not None:  # "du 21 décembre au 3 janvier", "du 21 au 23 décembre"
            end_lender = _first_with_month(parts, index + 1)
            if end_lender is None:  # "du 21 décembre au 23", "du 21 au 23"
                raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD)
            read.append(_period(part, closing, end_lender, reference))
            index += 2
        else:
            read.append(_single_day(part, _first_with_month(parts, index), reference))
            index += 1
    return read


def _first_with_month(parts: list[_Written], start: int) -> WrittenDate | None:
    """The first date from ``start`` on written with its month: the one a day number borrows its
    month (and year) from ("21, 22 et 23 décembre")."""
    return next((part.date for part in parts[start:] if part.date.month is not None), None)


def _single_day(part: WrittenDate, lender: WrittenDate | None, reference: date) -> Period:
    if lender is None:
        if part.weekday is None:  # "le 7": no month, nothing to confirm it
            raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD)
        day = _next_day_number(part, reference)  # "lundi 7": its weekday confirms it
        return Period(day, day, False)
    if part.month is None and lender.year is not None:
        day = part.in_year(lender.year, lender.month)  # "21 et 22 décembre 2026"
    else:
        day = part.next_from(reference, _month_for(part, lender))
    return Period(day, day, part.year is not None or lender.year is not None)


def _next_day_number(written: WrittenDate, today: date) -> date:
    """A day number without its month ("jeudi 3"): this month's if still to come, else next month's
    (a 31st skips a month without one)."""
    following = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    months = ([(today.year, today.month)] if written.day >= today.day else []) + [following]
    for year, month in months:
        try:
            return written.in_year(year, month)
        except DateProblem as problem:
            if problem.code != DateProblem.Code.INVALID:  # a weekday that does not match: said as is
                raise
    raise DateProblem(DateProblem.Code.INVALID)


def _month_for(written: WrittenDate, lender: WrittenDate) -> int | None:
    return lender.month if written.month is None else None


def _period(start: WrittenDate, end: WrittenDate, end_lender: WrittenDate, reference: date) -> Period:
    end_month = _month_for(end, end_lender)
    if start.year is not None and end.year is None:  # "du 21 décembre 2026 au 3 janvier"
        first = start.in_year(start.year, _month_for(start, end_lender))
        return Period(first, end.next_from(first, end_month), True)
    if end.year is None and end_lender.year is not None and end.month is None:
        last = end.in_year(end_lender.year, end_month)
    else:
        last = end.next_from(reference, end_month)
    month = (end_month or end.month) if start.month is None else None
    first = start.last_until(last, month)
    return Period(first, last, start.year is not None or end.year is not None or end_lender.year is not None)


# -- a moment: a day and a time ("lundi 5 octobre 9h", "demain à 14 heures 30", "mardi prochain 8h du soir")

# "heures" before "h"; minutes are never the start of a date ("midi 30/11", "9h 15/12")
_TIME_OF_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*(?:heures?|h|:)(?:\s*(\d{2})(?!\d)(?!\s*[/.]\s*\d))?(?!\d)")
# The hours each part of the day holds, once a morning hour of "pm" words has moved to the afternoon
PARTS_OF_DAY = {"morning": range(0, 13), "afternoon": range(12, 20), "evening": range(17, 24),
                "am": range(0, 12), "pm": range(12, 24)}
_AFTER_NOON = frozenset({"afternoon", "evening", "pm"})


def read_moment(text: str, today: date) -> tuple[date, time]:
    """A day and a time of day as people write them: "lundi 5 octobre 9h", "05/10 à 9h30", "demain
    14h", "14 heures 30", "jeu. 9h", "mardi prochain 14h", "la semaine prochaine mardi 9h", "demain
    midi", "8h du soir", "demain soir 20h", "14h et demie", "ce soir 20h", "9h" (today).

    Every word must say something about the moment (``[when]`` in calendar_words.toml): a word that
    does not ("3h de la nuit blanche") is refused rather than left out, since leaving it out could
    change the moment. A part of the day ("du soir", "de l'après-midi", "pm") moves a morning hour
    to the afternoon, and the time must then be in it ("ce matin 20h" is refused). A weekday alone is
    the next one, today included; "prochain" makes it the next one after today, and "la semaine
    prochaine" the one of next week.
    """
    words = calendar_words()
    folded = fold(text)
    parts: set[str] = set()
    extra_minutes: list[int] = []
    for phrase, meaning in words.time_modifiers:  # longest first, before "midi" is read as 12h
        folded, found = whole_word(phrase).subn(" ", folded)
        if found:
            if meaning.startswith("+"):
                extra_minutes.append(int(meaning[1:]))
            else:
                parts.add(meaning)
    for word, replacement in words.times.items():  # "midi" -> "12h"
        folded = whole_word(word).sub(replacement, folded)
    found = _TIME_OF_DAY.search(folded)
    if found is None:
        raise DateProblem(DateProblem.Code.TIME_MISSING)
    hour, minute = int(found.group(1)), int(found.group(2) or 0)
    if extra_minutes:
        if found.group(2) is not None or len(extra_minutes) > 1:  # "9h30 et demie"
            raise DateProblem(DateProblem.Code.TIME_INVALID)
        minute += extra_minutes[0]
    if parts & _AFTER_NOON and not parts - _AFTER_NOON and 1 <= hour < 12:
        hour += 12  # "8h du soir", "3h de l'après-midi"
    if hour > 23 or minute > 59 or any(hour not in PARTS_OF_DAY[part] for part in parts):
        raise DateProblem(DateProblem.Code.TIME_INVALID)  # "ce matin 20h", "ce soir 9h du matin"
    rest = folded[: found.start()] + " " + folded[found.end():]
    try:
        return _day_of_moment(rest, today), time(hour, minute)
    except DateProblem as problem:
        problem.at = time(hour, minute)  # the moment it would have been (a date just passed)
        raise


def _day_of_moment(rest: str, today: date) -> date:
    words = calendar_words()
    next_week = False
    for phrase in words.next_week:  # "la semaine prochaine", then "semaine prochaine"
        rest, found = whole_word(phrase).subn(" ", rest)
        next_week = next_week or bool(found)
    rest = re.sub(r"(?<=[a-z])\.", " ", rest)  # "mer." "déc.": abbreviations
    rest = re.sub(r"[!?()\[\]@,;:]|(?<!\d)-|-(?!\d)", " ", rest)  # "à 9h !", "(heure de Paris)", "05/12 - 9h"
    rest = relative_days_as_dates(rest, today)  # "demain" has digits from here on
    said = [word for word in re.findall(r"[a-z]+", rest) if word not in words.moment_fillers]
    if not re.search(r"\d", rest):
        if not said and not next_week:
            return today  # "9h", "à 9h"
        weekdays = [words.weekdays[word] for word in said if word in words.weekdays]
        others = [word for word in said if word not in words.weekdays and word not in words.next_words]
        if others or len(weekdays) != 1:  # "la nuit", "lundi mardi"
            raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD, word=others[0] if others else None)
        (weekday,) = weekdays
        if next_week:
            return today + timedelta(days=7 - today.weekday() + weekday)
        ahead = (weekday - today.weekday()) % 7
        if ahead == 0 and any(word in words.next_words for word in said):
            ahead = 7  # "mardi prochain" said on a Tuesday
        return today + timedelta(days=ahead)
    unsaid = words.moment_fillers | words.next_words  # whole words: their order does not matter
    kept = re.sub(rf"(?<![a-z])(?:{'|'.join(map(re.escape, unsaid))})(?![a-z])", " ", rest)
    periods = read_periods(kept, today)
    if len(periods) != 1 or periods[0].first != periods[0].last:
        raise DateProblem(DateProblem.Code.NOT_UNDERSTOOD)
    (period,) = periods
    if not period.years_written and just_passed(period.first, today):  # "30/11" typed on 1 December
        raise DateProblem(DateProblem.Code.PASSED, _a_year_earlier(period.first))
    return period.first


JUST_PASSED = timedelta(days=31)


def just_passed(day: date, today: date) -> bool:
    """Whether ``day``, a date whose year was not written and so taken as next year's, was this
    year's less than a month ago: more likely a date just passed than one a year away."""
    if (day.month, day.day) == (2, 29):  # this year had none
        return False
    earlier = _a_year_earlier(day)
    return day.year > today.year and today - JUST_PASSED <= earlier < today


def _a_year_earlier(day: date) -> date:
    return day.replace(year=day.year - 1)  # never 29 February: just_passed() leaves it out
