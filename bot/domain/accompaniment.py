"""The five-step accompaniment (seed 003) as an explicit state machine, with its calendar and deadlines.

After enrolment the accompaniment goes through *stages* (the word "step" is taken by the
conversation state of ``handlers/flows``)::

    enrolled ──first meeting held──▶ first_meeting_held ──planning──▶ planned ──submit──▶ submitted
      (step 1)                          (step 2)                      (writing)          (step 3: the tutor corrects)
    submitted ──correction returned──▶ corrected ──revision sent──▶ revised ──opinion──▶ validated
                                        (step 4: the auditeur revises)  (step 5)      └─▶ not_validated
    not_validated ──staff resume (new planning)──▶ planned

Each :class:`Action` says who may take it (:class:`Party`: the auditeur, *their* tutor, staff, the
system) and from which stages; anything else is a :class:`Refusal` with a code that the templates
turn into a French message, and nothing changes. Every transition that happens is recorded as a
:class:`HistoryEntry` (who, when, what, from which stage to which).

Also here, as plain rules: the academic calendar (semester dates, enrolment windows) with
defaults that staff may replace once a year, the two-semester limit, the planning check, and when
each deadline reminder is due (daytime on working days, Paris time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from bot.domain.calendar import (
    HolidayCalendar,
    PARIS,
    next_working_day,
    paris_to_utc,
    previous_working_day,
    require_aware,
)
from bot.domain.french_dates import DateProblem, day_in_text, relative_days_as_dates
from bot.domain.french_words import calendar_words, fold
from bot.domain.report import Grid
from bot.domain.semesters import Semester


class Stage(StrEnum):
    ENROLLED = "enrolled"  # step 1: told who the tutor is; books the first meeting
    FIRST_MEETING_HELD = "first_meeting_held"  # step 2: the planning is to be recorded
    PLANNED = "planned"  # planning agreed: the auditeur writes (drafts stay theirs)
    SUBMITTED = "submitted"  # step 3: the report is with the tutor for the annotated correction
    CORRECTED = "corrected"  # step 4: the auditeur revises
    REVISED = "revised"  # step 5: the tutor writes the reasoned opinion
    VALIDATED = "validated"  # done: "validé"
    NOT_VALIDATED = "not_validated"  # "non validé": staff contact the auditeur

    @property
    def step(self) -> int:
        """The seed's step number (1-5) this stage belongs to."""
        return _STEP_OF[self]

    @property
    def final(self) -> bool:
        return self in (Stage.VALIDATED, Stage.NOT_VALIDATED)


_STEP_OF = {
    Stage.ENROLLED: 1,
    Stage.FIRST_MEETING_HELD: 2,
    Stage.PLANNED: 2,
    Stage.SUBMITTED: 3,
    Stage.CORRECTED: 4,
    Stage.REVISED: 5,
    Stage.VALIDATED: 5,
    Stage.NOT_VALIDATED: 5,
}


class Party(StrEnum):
    """Who acts, relative to one accompaniment."""

    AUDITEUR = "auditeur"  # the enrolled auditeur themself
    TUTOR = "tutor"  # the enrolment's own tutor
    STAFF = "staff"
    SYSTEM = "system"  # the bot itself (e.g. the booking service when a first meeting is marked held)
    OTHER = "other"  # another auditeur, another tutor: never allowed


class Action(StrEnum):
    FIRST_MEETING_HELD = "first_meeting_held"
    RECORD_PLANNING = "record_planning"
    SUBMIT = "submit"
    RETURN_CORRECTION = "return_correction"
    SUBMIT_REVISION = "submit_revision"
    GIVE_OPINION = "give_opinion"
    RESUME = "resume"


class Opinion(StrEnum):
    VALIDATED = "validé"
    NOT_VALIDATED = "non validé"


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Stage]
    target: Stage | None  # None: decided by the action (the opinion)
    parties: frozenset[Party]


TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        Transition(
            Action.FIRST_MEETING_HELD, frozenset({Stage.ENROLLED}), Stage.FIRST_MEETING_HELD,
            frozenset({Party.TUTOR, Party.STAFF, Party.SYSTEM}),
        ),
        Transition(
            # the tutor records the planning after the first meeting, and may change it while writing
            Action.RECORD_PLANNING, frozenset({Stage.FIRST_MEETING_HELD, Stage.PLANNED}), Stage.PLANNED,
            frozenset({Party.TUTOR}),
        ),
        Transition(Action.SUBMIT, frozenset({Stage.PLANNED}), Stage.SUBMITTED, frozenset({Party.AUDITEUR})),
        Transition(Action.RETURN_CORRECTION, frozenset({Stage.SUBMITTED}), Stage.CORRECTED, frozenset({Party.TUTOR})),
        Transition(Action.SUBMIT_REVISION, frozenset({Stage.CORRECTED}), Stage.REVISED, frozenset({Party.AUDITEUR})),
        Transition(Action.GIVE_OPINION, frozenset({Stage.REVISED}), None, frozenset({Party.TUTOR})),
        Transition(Action.RESUME, frozenset({Stage.NOT_VALIDATED}), Stage.PLANNED, frozenset({Party.STAFF})),
    )
}


class RefusalCode(StrEnum):
    NOT_YOURS = "not_yours"  # another auditeur's or another tutor's accompaniment
    WRONG_PERSON = "wrong_person"  # e.g. the auditeur tries to return a correction
    WRONG_STAGE = "wrong_stage"  # e.g. a submission before the planning is agreed
    NO_ACCOMPANIMENT = "no_accompaniment"  # no active enrolment
    DATE_PAST = "date_past"
    BEYOND_LIMIT = "beyond_limit"  # later than the end of the 2nd semester
    DATES_ORDER = "dates_order"  # an intermediate date after the deadline
    TOO_MANY_DATES = "too_many_dates"
    BAD_DATE = "bad_date"  # not understood
    GRID_INCOMPLETE = "grid_incomplete"  # a criterion without an assessment
    BAD_ASSESSMENT = "bad_assessment"
    REASONS_MISSING = "reasons_missing"  # an opinion without its reasons
    NOTHING_TO_SEND = "nothing_to_send"  # a correction with neither file nor comment; no draft to submit
    BAD_CALENDAR = "bad_calendar"
    BAD_GRID = "bad_grid"  # a certifier's grid file that cannot be loaded (details: reason)
    CASE_CLOSED = "case_closed"


class Refusal(Exception):
    """Why an action was refused; ``details`` feed the French message (templates/accompaniment)."""

    def __init__(self, code: RefusalCode, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.details = dict(details or {})

    def __str__(self) -> str:  # logs: the code and the non-personal details only
        return f"{self.code}: {dict(self.details)}"


def check(action: Action, stage: Stage, party: Party) -> Stage | None:
    """The stage ``action`` leads to from ``stage`` when ``party`` takes it (None: decided by the
    action's outcome). Raises :class:`Refusal`."""
    transition = TRANSITIONS[action]
    if party is Party.OTHER:
        raise Refusal(RefusalCode.NOT_YOURS, {"action": action})
    if party not in transition.parties:
        raise Refusal(
            RefusalCode.WRONG_PERSON,
            {"action": action, "allowed": sorted(p.value for p in transition.parties if p is not Party.SYSTEM)},
        )
    if stage not in transition.sources:
        raise Refusal(RefusalCode.WRONG_STAGE, {"action": action, "stage": stage})
    return transition.target


def opinion_stage(opinion: Opinion) -> Stage:
    return Stage.VALIDATED if opinion is Opinion.VALIDATED else Stage.NOT_VALIDATED


def next_actions(stage: Stage, party: Party) -> list[Action]:
    """What ``party`` can do next from ``stage`` (for views and buttons)."""
    return [a for a, t in TRANSITIONS.items() if stage in t.sources and party in t.parties]


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor_id: int | None  # None: the system or the command line
    party: Party
    action: Action
    from_stage: Stage
    to_stage: Stage
    details: Mapping[str, Any] = field(default_factory=dict)


def party_of(role: str, actor_id: int, *, auditeur_id: int, tutor_id: int) -> Party:
    """Who the person with ``role`` and ``actor_id`` is for the accompaniment of ``auditeur_id``."""
    if role == "staff":
        return Party.STAFF
    if role == "auditeur":
        return Party.AUDITEUR if actor_id == auditeur_id else Party.OTHER
    if role == "tutor":
        return Party.TUTOR if actor_id == tutor_id else Party.OTHER
    return Party.OTHER


# -- the academic calendar ------------------------------------------------------------------------


@dataclass(frozen=True)
class SemesterDates:
    start: date
    end: date
    enrolment_opens: date
    enrolment_closes: date


@dataclass(frozen=True)
class AcademicYear:
    """One academic year's semesters (``year`` is its first year: 2026 for 2026-2027)."""

    year: int
    s1: SemesterDates
    s2: SemesterDates

    def dates(self, number: int) -> SemesterDates:
        return self.s1 if number == 1 else self.s2

    def problems(self) -> list[str]:
        """Why these dates are not coherent (empty when they are)."""
        found = []
        for label, sem in (("s1", self.s1), ("s2", self.s2)):
            if not sem.start < sem.end:
                found.append(f"{label}_end_before_start")
            if not sem.enrolment_opens <= sem.enrolment_closes:
                found.append(f"{label}_enrolment_closes_before_opening")
            if not sem.start <= sem.enrolment_opens <= sem.end:
                found.append(f"{label}_enrolment_outside_semester")
        if not self.s1.end < self.s2.start:
            found.append("s2_starts_before_s1_ends")
        if self.s1.start.year != self.year:
            found.append("s1_not_in_year")
        if (self.s2.end - self.s1.start).days > 400:
            found.append("year_too_long")
        return found


def default_academic_year(year: int) -> AcademicYear:
    """Sensible defaults: the 1st semester from 1 September to 31 January with enrolment in October,
    the 2nd from 1 February to 31 August with enrolment in February and March (seed 003). The two
    semesters cover the whole year, as :meth:`Semester.containing` does."""
    return AcademicYear(
        year=year,
        s1=SemesterDates(date(year, 9, 1), date(year + 1, 1, 31), date(year, 10, 1), date(year, 10, 31)),
        s2=SemesterDates(date(year + 1, 2, 1), date(year + 1, 8, 31), date(year + 1, 2, 1), date(year + 1, 3, 31)),
    )


class AcademicCalendar:
    """The academic years staff set, the defaults for the others."""

    def __init__(self, years: Iterable[AcademicYear] = ()) -> None:
        self._years = {y.year: y for y in years}

    def year(self, year: int) -> AcademicYear:
        return self._years.get(year) or default_academic_year(year)

    def is_custom(self, year: int) -> bool:
        return year in self._years

    def semester_dates(self, semester: Semester) -> SemesterDates:
        return self.year(semester.academic_year).dates(semester.number)

    def accompaniment_limit(self, enrolment_semester: Semester) -> date:
        """The plan "ne pourra excéder 2 semestres": the last day of the 2nd semester counted from
        the enrolment semester (enrolled 2026-S1: the end of 2026-S2)."""
        return self.semester_dates(enrolment_semester.plus(1)).end


_CALENDAR_DATE = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?!\d)")


def parse_academic_year(text: str, year: int) -> AcademicYear:
    """The year's eight dates as staff type them in Telegram, in this order: the 1st semester's
    start and end, its enrolment opening and closing, then the same for the 2nd semester
    (``01/09/2027``; words between the dates are ignored). Raises :class:`Refusal`: ``bad_calendar``
    with ``problems`` (the count of dates, or what is incoherent), ``bad_date`` for a day that does
    not exist."""
    days = []
    for match in _CALENDAR_DATE.finditer(text or ""):
        day, month, year_part = (int(g) for g in match.groups())
        try:
            days.append(date(year_part + 2000 if year_part < 100 else year_part, month, day))
        except ValueError:
            raise Refusal(RefusalCode.BAD_DATE, {"token": match.group(0)}) from None
    if len(days) != 8:
        raise Refusal(RefusalCode.BAD_CALENDAR, {"problems": ["eight_dates"], "found": len(days), "year": year})
    found = AcademicYear(year, SemesterDates(*days[:4]), SemesterDates(*days[4:]))
    problems = found.problems()
    if problems:
        raise Refusal(RefusalCode.BAD_CALENDAR, {"problems": problems, "year": year})
    return found


# -- the planning (step 2) ------------------------------------------------------------------------

MAX_INTERMEDIATE_DATES = 5


@dataclass(frozen=True)
class Planning:
    deadline: date  # the "date butoir" of the submission
    intermediate: tuple[date, ...] = ()
    limit: date | None = None  # the two-semester limit it was checked against


def check_planning(deadline: date, intermediate: Iterable[date], *, today: date, limit: date) -> Planning:
    """The planning the tutor records after the first meeting. Raises :class:`Refusal`."""
    steps = tuple(sorted(set(intermediate)))
    if len(steps) > MAX_INTERMEDIATE_DATES:
        raise Refusal(RefusalCode.TOO_MANY_DATES, {"max": MAX_INTERMEDIATE_DATES})
    for day in (*steps, deadline):
        if day <= today:
            raise Refusal(RefusalCode.DATE_PAST, {"day": day})
        if day > limit:
            raise Refusal(RefusalCode.BEYOND_LIMIT, {"day": day, "limit": limit})
    if steps and steps[-1] >= deadline:
        raise Refusal(RefusalCode.DATES_ORDER, {"day": steps[-1], "deadline": deadline})
    return Planning(deadline=deadline, intermediate=steps, limit=limit)


@lru_cache(maxsize=1)
def _date_expression() -> re.Pattern[str]:
    """One date in a message, with the weekday written before it (the names: calendar_words.toml)."""
    weekdays = "|".join(sorted(calendar_words().weekday_names, key=len, reverse=True))
    return re.compile(
        rf"(?:(?:{weekdays})\s+)?(?:le\s+)?"
        r"(?:\d{1,2}\s*[/.-]\s*\d{1,2}(?:\s*[/.-]\s*\d{2,4})?(?![\d/.-])"  # 31/03/2027, 31/03/27, 31/03
        r"|(?:\d{1,2}|1er)\s+[a-z]+\.?(?:\s+\d{4})?)"  # 31 mars 2027, 1er mars, 15 janv. (day_in_text checks the month)
    )


def parse_dates(text: str, today: date) -> list[date]:
    """The dates of a message, in the order written, the way people write them: ``31/03/2027``, ``demain``,
    ``31/03/27``, ``31/03`` or ``31 mars`` (the next such day), ``mercredi 31 mars 2027``, ``1er mars``,
    with any words between them ("date butoir le 31 mars 2027, point d'étape le 15 janvier"). The
    first is the deadline in the planning dialogue. Refused: no date at all, a day that does not
    exist, a weekday that does not match its date, digits left over that make no date."""
    # NFKD: no-break and narrow no-break spaces become spaces; "demain" becomes its date
    folded = relative_days_as_dates(fold(text), today)
    days: list[date] = []
    expression = _date_expression()
    for match in expression.finditer(folded):
        try:
            days.append(day_in_text(match.group(0), today))
        except DateProblem as problem:
            if problem.code == DateProblem.Code.PASSED:  # "30/11" typed on 1 December
                raise Refusal(RefusalCode.DATE_PAST, {"day": problem.day}) from None
            raise Refusal(RefusalCode.BAD_DATE, {"token": match.group(0).strip()[:20]}) from None
    leftover = expression.sub(" ", folded)
    stray = re.search(r"\S*\d\S*", leftover)
    if stray is not None or not days:
        raise Refusal(RefusalCode.BAD_DATE, {"token": (stray.group(0) if stray else text.strip())[:20]})
    return days


# -- the annotated correction (step 3) -------------------------------------------------------------

_CRITERION_NOTE = re.compile(
    r"^\s*(?:crit[eè]re\s*|c\s*)?(?:n\s*[°o]\s*)?(\d{1,2})\s*(?:[.)]\s+|\s*[:\-–—]\s*)(\S.*)$", re.IGNORECASE
)


def parse_correction_notes(text: str, criteria: int) -> tuple[dict[int, str], list[str]]:
    """A tutor's message while writing the correction: a line that starts with a criterion's number
    ("3. …", "3) …", "3 : …", "3 - …", "Critère 3 : …", "C3 : …") is the comment on that criterion
    of the grid (1 to ``criteria``); every other non-empty line belongs to the summary. Nothing is
    cut: the forwarded correction is split into messages as long as it needs."""
    comments: dict[int, str] = {}
    summary: list[str] = []
    for line in text.splitlines():
        match = _CRITERION_NOTE.match(line)
        if match is not None and 1 <= int(match.group(1)) <= criteria:
            number = int(match.group(1))
            comments[number] = f"{comments[number]}\n{match.group(2).strip()}" if number in comments else match.group(2).strip()
        elif line.strip():
            summary.append(line.strip())
    return comments, summary


# -- the opinion (step 5) ---------------------------------------------------------------------------


class Assessment(StrEnum):
    MET = "acquis"
    PARTLY = "partiellement acquis"
    NOT_MET = "non acquis"


def check_assessments(grid: Grid, assessments: Mapping[str, str]) -> dict[str, Assessment]:
    """Every criterion of ``grid`` assessed, nothing else. Raises :class:`Refusal`."""
    known = {c.id for c in grid.criteria}
    unknown = set(assessments) - known
    if unknown:
        raise Refusal(RefusalCode.BAD_ASSESSMENT, {"criteria": sorted(unknown)})
    missing = [c.label for c in grid.criteria if c.id not in assessments]
    if missing:
        raise Refusal(RefusalCode.GRID_INCOMPLETE, {"missing": missing})
    try:
        return {cid: Assessment(value) for cid, value in assessments.items()}
    except ValueError:
        raise Refusal(RefusalCode.BAD_ASSESSMENT, {}) from None


def check_reasons(reasons: str | None) -> str:
    cleaned = (reasons or "").strip()
    if len(cleaned) < 10:
        raise Refusal(RefusalCode.REASONS_MISSING, {"min": 10})
    return cleaned[:4000]


# -- deadline reminders ---------------------------------------------------------------------------

REMINDER_HOUR = time(9)  # reminders go out at 09:00 Paris on a working day


class ReminderKind(StrEnum):
    AUDITEUR_DEADLINE = "accompaniment.deadline.auditeur"
    AUDITEUR_INTERMEDIATE = "accompaniment.intermediate.auditeur"  # an intermediate date of the planning
    TUTOR_CORRECTION = "accompaniment.correction.tutor"
    TUTOR_CORRECTION_OVERDUE = "accompaniment.correction.tutor.overdue"
    TUTOR_OPINION = "accompaniment.opinion.tutor"
    TUTOR_OPINION_OVERDUE = "accompaniment.opinion.tutor.overdue"
    STAFF_OPINION_OVERDUE = "accompaniment.opinion.staff.overdue"
    STAFF_CORRECTION_OVERDUE = "accompaniment.correction.staff.overdue"
    STAFF_NO_FIRST_MEETING = "accompaniment.first_meeting.staff"
    STAFF_STALLED = "accompaniment.stalled.staff"


REMINDER_KINDS: tuple[str, ...] = tuple(k.value for k in ReminderKind)


@dataclass(frozen=True)
class ReminderPolicy:
    auditeur_days_before_deadline: tuple[int, ...] = (14, 7, 1)
    tutor_days_before_correction: tuple[int, ...] = (7, 2)
    no_first_meeting_after: timedelta = timedelta(days=14)  # after binding (or enrolment)
    stalled_after: timedelta = timedelta(days=60)  # nothing moved
    stalled_before_limit: timedelta = timedelta(days=45)  # alert this long before the limit
    opinion_days: int = 14  # the tutor's opinion is expected within this after the revision
    tutor_days_before_opinion: tuple[int, ...] = (3,)
    auditeur_days_before_intermediate: tuple[int, ...] = (3,)
    overdue_repeat_days: int = 7  # an overdue alert (correction, opinion) comes back every week…
    overdue_repeats: int = 3  # …this many times after the first one (then staff have the follow-up view)


@dataclass(frozen=True)
class PlannedReminder:
    kind: ReminderKind
    due_utc: datetime
    to: str  # "auditeur", "tutor", "staff"
    days: int = 0  # days before (positive) or after (negative) the date it is about
    about: date | None = None


def reminder_moment(day: date, calendar: HolidayCalendar, *, earlier: bool) -> datetime:
    """09:00 Paris on ``day`` if it is a working day, else on the working day before it (``earlier``:
    a reminder ahead of a deadline must not come later) or after it (an overdue alert)."""
    working = previous_working_day(day, calendar) if earlier else next_working_day(day, calendar)
    return paris_to_utc(working, REMINDER_HOUR)


def _future(reminders: list[PlannedReminder], now: datetime) -> list[PlannedReminder]:
    now = require_aware(now)
    return sorted((r for r in reminders if r.due_utc > now), key=lambda r: (r.due_utc, r.kind))


def deadline_reminders(deadline: date, calendar: HolidayCalendar, now: datetime,
                       policy: ReminderPolicy = ReminderPolicy()) -> list[PlannedReminder]:
    """The auditeur before the submission deadline (14, 7 and 1 days before by default)."""
    return _future(
        [
            PlannedReminder(ReminderKind.AUDITEUR_DEADLINE, reminder_moment(deadline - timedelta(days=d), calendar, earlier=True),
                            "auditeur", d, deadline)
            for d in policy.auditeur_days_before_deadline
        ],
        now,
    )


def _overdue_series(due: date, calendar: HolidayCalendar, policy: ReminderPolicy,
                    kinds: tuple[tuple[ReminderKind, str], ...]) -> list[PlannedReminder]:
    """The working day after ``due``, then every ``overdue_repeat_days`` (``overdue_repeats`` times),
    for each (kind, recipient); ``days`` is negative: how late, counted from ``due``."""
    found = []
    for repeat in range(policy.overdue_repeats + 1):
        late = 1 + repeat * policy.overdue_repeat_days
        moment = reminder_moment(due + timedelta(days=late), calendar, earlier=False)
        found += [PlannedReminder(kind, moment, to, -late, due) for kind, to in kinds]
    return found


def correction_reminders(due: date, calendar: HolidayCalendar, now: datetime,
                         policy: ReminderPolicy = ReminderPolicy()) -> list[PlannedReminder]:
    """The tutor 7 and 2 days before the correction is due; once overdue, the tutor and staff the
    working day after, then again every week (3 more times by default)."""
    return _tutor_before_then_overdue(
        due, calendar, now, policy, ReminderKind.TUTOR_CORRECTION, policy.tutor_days_before_correction,
        ((ReminderKind.TUTOR_CORRECTION_OVERDUE, "tutor"), (ReminderKind.STAFF_CORRECTION_OVERDUE, "staff")),
    )


def _tutor_before_then_overdue(due: date, calendar: HolidayCalendar, now: datetime, policy: ReminderPolicy,
                               before: ReminderKind, days_before: Iterable[int],
                               overdue: tuple[tuple[ReminderKind, str], ...]) -> list[PlannedReminder]:
    """The tutor ``days_before`` the due date (the working day before), then the overdue series."""
    found = [
        PlannedReminder(before, reminder_moment(due - timedelta(days=d), calendar, earlier=True), "tutor", d, due)
        for d in days_before
    ]
    return _future(found + _overdue_series(due, calendar, policy, overdue), now)


def opinion_due(revised_on: date, policy: ReminderPolicy = ReminderPolicy()) -> date:
    """When the tutor's reasoned opinion is expected after the revised report was received."""
    return revised_on + timedelta(days=policy.opinion_days)


def opinion_reminders(revised_on: date, calendar: HolidayCalendar, now: datetime,
                      policy: ReminderPolicy = ReminderPolicy()) -> list[PlannedReminder]:
    """The tutor before the opinion is due (``opinion_days`` after the revision), then, once it is
    overdue, the tutor and staff every week as for a correction."""
    return _tutor_before_then_overdue(
        opinion_due(revised_on, policy), calendar, now, policy, ReminderKind.TUTOR_OPINION,
        policy.tutor_days_before_opinion,
        ((ReminderKind.TUTOR_OPINION_OVERDUE, "tutor"), (ReminderKind.STAFF_OPINION_OVERDUE, "staff")),
    )


def intermediate_reminders(days: Iterable[date], calendar: HolidayCalendar, now: datetime,
                           policy: ReminderPolicy = ReminderPolicy()) -> list[PlannedReminder]:
    """The auditeur before each intermediate date of the planning (3 days before by default)."""
    return _future(
        [
            PlannedReminder(ReminderKind.AUDITEUR_INTERMEDIATE, reminder_moment(day - timedelta(days=d), calendar, earlier=True),
                            "auditeur", d, day)
            for day in days for d in policy.auditeur_days_before_intermediate
        ],
        now,
    )


def first_meeting_alert(since: datetime, calendar: HolidayCalendar, now: datetime,
                        policy: ReminderPolicy = ReminderPolicy()) -> list[PlannedReminder]:
    """Staff, when the auditeur has booked no first meeting ``no_first_meeting_after`` the binding."""
    day = (require_aware(since) + policy.no_first_meeting_after).astimezone(PARIS).date()
    return _future([PlannedReminder(ReminderKind.STAFF_NO_FIRST_MEETING, reminder_moment(day, calendar, earlier=False), "staff")], now)


def stalled_alert(last_move: datetime, limit: date, calendar: HolidayCalendar, now: datetime,
                  policy: ReminderPolicy = ReminderPolicy()) -> list[PlannedReminder]:
    """Staff, when nothing has moved for ``stalled_after``, or at the latest ``stalled_before_limit``
    before the two-semester limit if the accompaniment is still not finished."""
    by_silence = (require_aware(last_move) + policy.stalled_after).astimezone(PARIS).date()
    before_limit = limit - policy.stalled_before_limit
    day = min(by_silence, before_limit)
    return _future([PlannedReminder(ReminderKind.STAFF_STALLED, reminder_moment(day, calendar, earlier=False), "staff", about=limit)], now)


def overdue(due: date | None, today: date) -> bool:
    return due is not None and today > due
