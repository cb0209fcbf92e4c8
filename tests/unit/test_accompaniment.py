from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.accompaniment import (
    TRANSITIONS,
    AcademicCalendar,
    AcademicYear,
    Action,
    Assessment,
    Opinion,
    Party,
    Refusal,
    RefusalCode,
    ReminderKind,
    SemesterDates,
    Stage,
    check,
    check_assessments,
    check_planning,
    check_reasons,
    correction_reminders,
    intermediate_reminders,
    opinion_reminders,
    parse_academic_year,
    deadline_reminders,
    default_academic_year,
    first_meeting_alert,
    next_actions,
    opinion_stage,
    parse_correction_notes,
    parse_dates,
    party_of,
    stalled_alert,
)
from bot.domain.calendar import PARIS, HolidayCalendar
from bot.domain.report import default_catalogue
from bot.domain.semesters import Semester


@pytest.fixture(scope="module")
def france() -> HolidayCalendar:
    return HolidayCalendar(school_zone="B")


# -- the state machine ---------------------------------------------------------------------------

JOURNEY = [
    (Action.FIRST_MEETING_HELD, Party.TUTOR, Stage.ENROLLED, Stage.FIRST_MEETING_HELD),
    (Action.RECORD_PLANNING, Party.TUTOR, Stage.FIRST_MEETING_HELD, Stage.PLANNED),
    (Action.SUBMIT, Party.AUDITEUR, Stage.PLANNED, Stage.SUBMITTED),
    (Action.RETURN_CORRECTION, Party.TUTOR, Stage.SUBMITTED, Stage.CORRECTED),
    (Action.SUBMIT_REVISION, Party.AUDITEUR, Stage.CORRECTED, Stage.REVISED),
]


def test_the_whole_journey_is_allowed_to_the_right_person() -> None:
    for action, party, source, target in JOURNEY:
        assert check(action, source, party) is target
    assert check(Action.GIVE_OPINION, Stage.REVISED, Party.TUTOR) is None
    assert opinion_stage(Opinion.VALIDATED) is Stage.VALIDATED
    assert opinion_stage(Opinion.NOT_VALIDATED) is Stage.NOT_VALIDATED
    assert check(Action.RESUME, Stage.NOT_VALIDATED, Party.STAFF) is Stage.PLANNED


@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_refused_to_every_wrong_person(action: Action) -> None:
    transition = TRANSITIONS[action]
    source = next(iter(transition.sources))
    for party in Party:
        if party in transition.parties:
            continue
        with pytest.raises(Refusal) as refused:
            check(action, source, party)
        expected = RefusalCode.NOT_YOURS if party is Party.OTHER else RefusalCode.WRONG_PERSON
        assert refused.value.code is expected


@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_refused_from_a_wrong_stage(action: Action) -> None:
    transition = TRANSITIONS[action]
    party = next(iter(transition.parties))
    for stage in Stage:
        if stage in transition.sources:
            continue
        with pytest.raises(Refusal) as refused:
            check(action, stage, party)
        assert refused.value.code is RefusalCode.WRONG_STAGE
        assert refused.value.details["stage"] is stage


def test_steps_and_next_actions() -> None:
    assert [s.step for s in Stage] == [1, 2, 2, 3, 4, 5, 5, 5]
    assert next_actions(Stage.PLANNED, Party.AUDITEUR) == [Action.SUBMIT]
    assert next_actions(Stage.PLANNED, Party.TUTOR) == [Action.RECORD_PLANNING]
    assert next_actions(Stage.VALIDATED, Party.TUTOR) == []
    assert Stage.NOT_VALIDATED.final and not Stage.REVISED.final


def test_party_of_the_accompaniment() -> None:
    assert party_of("auditeur", 5, auditeur_id=5, tutor_id=9) is Party.AUDITEUR
    assert party_of("auditeur", 6, auditeur_id=5, tutor_id=9) is Party.OTHER
    assert party_of("tutor", 9, auditeur_id=5, tutor_id=9) is Party.TUTOR
    assert party_of("tutor", 8, auditeur_id=5, tutor_id=9) is Party.OTHER
    assert party_of("staff", 1, auditeur_id=5, tutor_id=9) is Party.STAFF


# -- academic calendar and the two-semester limit ------------------------------------------------


def test_default_academic_year_is_coherent_and_follows_the_seed() -> None:
    year = default_academic_year(2026)
    assert year.problems() == []
    assert (year.s1.enrolment_opens.month, year.s1.enrolment_closes.month) == (10, 10)
    assert (year.s2.enrolment_opens.month, year.s2.enrolment_closes.month) == (2, 3)
    assert year.s1.end + timedelta(days=1) == year.s2.start


def test_the_two_semester_limit_counts_from_the_enrolment_semester() -> None:
    calendar = AcademicCalendar()
    assert calendar.accompaniment_limit(Semester(2026, 1)) == date(2027, 8, 31)  # end of 2026-S2
    assert calendar.accompaniment_limit(Semester(2026, 2)) == date(2028, 1, 31)  # end of 2027-S1


def test_staff_set_years_replace_the_defaults() -> None:
    custom = AcademicYear(
        2026,
        SemesterDates(date(2026, 9, 15), date(2027, 1, 20), date(2026, 10, 1), date(2026, 10, 31)),
        SemesterDates(date(2027, 1, 25), date(2027, 6, 30), date(2027, 2, 1), date(2027, 3, 15)),
    )
    assert custom.problems() == []
    calendar = AcademicCalendar([custom])
    assert calendar.accompaniment_limit(Semester(2026, 1)) == date(2027, 6, 30)
    assert calendar.is_custom(2026) and not calendar.is_custom(2027)
    broken = AcademicYear(2026, custom.s2, custom.s1)
    assert "s2_starts_before_s1_ends" in broken.problems()


def test_planning_within_the_limit_is_accepted_sorted() -> None:
    planning = check_planning(
        date(2027, 5, 31), [date(2027, 3, 1), date(2027, 1, 15)], today=date(2026, 11, 20), limit=date(2027, 8, 31)
    )
    assert planning.intermediate == (date(2027, 1, 15), date(2027, 3, 1))


@pytest.mark.parametrize(
    ("deadline", "steps", "code"),
    [
        (date(2027, 9, 1), [], RefusalCode.BEYOND_LIMIT),
        (date(2027, 5, 1), [date(2027, 9, 2)], RefusalCode.BEYOND_LIMIT),
        (date(2026, 11, 20), [], RefusalCode.DATE_PAST),
        (date(2027, 5, 1), [date(2027, 5, 2)], RefusalCode.DATES_ORDER),
        (date(2027, 5, 1), [date(2027, 1, d) for d in range(2, 9)], RefusalCode.TOO_MANY_DATES),
    ],
)
def test_planning_refusals(deadline, steps, code) -> None:
    with pytest.raises(Refusal) as refused:
        check_planning(deadline, steps, today=date(2026, 11, 20), limit=date(2027, 8, 31))
    assert refused.value.code is code
    if code is RefusalCode.BEYOND_LIMIT:
        assert refused.value.details["limit"] == date(2027, 8, 31)


def test_correction_notes_as_tutors_number_them() -> None:
    text = ("1. Argumentez davantage le choix.\n3) Le rôle propre manque\nCritère 2 : actes peu décrits\n"
            "C4 - annexes à citer\n5 – conclusion trop courte\nBonne base, 3.5 pages à reprendre.\n\n"
            "12. hors grille\n1. Et citez le contexte.")
    comments, summary = parse_correction_notes(text, criteria=10)
    assert comments == {1: "Argumentez davantage le choix.\nEt citez le contexte.", 3: "Le rôle propre manque",
                        2: "actes peu décrits", 4: "annexes à citer", 5: "conclusion trop courte"}
    assert summary == ["Bonne base, 3.5 pages à reprendre.", "12. hors grille"]  # 12: no such criterion
    long = "x" * 5000
    assert parse_correction_notes(f"2. {long}", criteria=3)[0] == {2: long}  # nothing cut


def test_parse_dates() -> None:
    today = date(2026, 11, 20)
    assert parse_dates("31/03/2027 15/01/27, 10/12", today) == [date(2027, 3, 31), date(2027, 1, 15), date(2026, 12, 10)]
    assert parse_dates("01/10", today) == [date(2027, 10, 1)]
    with pytest.raises(Refusal) as refused:
        parse_dates("01/11", today)  # 19 days ago: not taken as next year's
    assert (refused.value.code, refused.value.details) == (RefusalCode.DATE_PAST, {"day": date(2026, 11, 1)})
    # as tutors write them: month names, weekdays, words around, no separator but words
    assert parse_dates("31 mars 2027", today) == [date(2027, 3, 31)]
    assert parse_dates("Date butoir le mercredi 31 mars 2027, point d'étape le 15 janvier", today) == [
        date(2027, 3, 31), date(2027, 1, 15)]
    assert parse_dates("le 1er mars et le 15 févr.", today) == [date(2027, 3, 1), date(2027, 2, 15)]
    assert parse_dates("31\u202fmars 2027 ; 10 DÉCEMBRE", today) == [date(2027, 3, 31), date(2026, 12, 10)]
    assert parse_dates("demain et le 31 mars", today) == [today + timedelta(days=1), date(2027, 3, 31)]  # the shared words
    for bad in ("", "bientôt", "31/02/2027", "1/2/3/4", "mardi 31 mars 2027", "31 mars 2027 et 45",
                "le 30 fevrier"):
        with pytest.raises(Refusal):
            parse_dates(bad, today)


# -- the opinion's grid -----------------------------------------------------------------------------


def test_the_grid_must_be_assessed_criterion_by_criterion() -> None:
    grid = default_catalogue().grid
    full = {c.id: "acquis" for c in grid.criteria}
    assert set(check_assessments(grid, full).values()) == {Assessment.MET}
    partial = dict(full)
    partial.pop(grid.criteria[0].id)
    with pytest.raises(Refusal) as refused:
        check_assessments(grid, partial)
    assert refused.value.code is RefusalCode.GRID_INCOMPLETE
    with pytest.raises(Refusal):
        check_assessments(grid, {**full, "nope": "acquis"})
    with pytest.raises(Refusal):
        check_assessments(grid, {**full, grid.criteria[0].id: "bof"})
    with pytest.raises(Refusal):
        check_reasons("  ok ")
    assert check_reasons("  Analyse solide, annexes pertinentes. ") == "Analyse solide, annexes pertinentes."


# -- reminders ---------------------------------------------------------------------------------------


def _paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def test_auditeur_reminders_14_7_1_days_before_on_working_days_at_nine(france) -> None:
    now = datetime(2027, 1, 4, 10, tzinfo=UTC)
    deadline = date(2027, 3, 1)  # a Monday: 1 day before is a Sunday -> Friday 26 Feb
    found = deadline_reminders(deadline, france, now)
    assert [(_paris(r.due_utc).date(), _paris(r.due_utc).hour, r.days) for r in found] == [
        (date(2027, 2, 15), 9, 14),
        (date(2027, 2, 22), 9, 7),
        (date(2027, 2, 26), 9, 1),
    ]
    assert {r.kind for r in found} == {ReminderKind.AUDITEUR_DEADLINE}


def test_past_reminders_are_left_out(france) -> None:
    now = datetime(2027, 2, 23, 10, tzinfo=UTC)
    assert [r.days for r in deadline_reminders(date(2027, 3, 1), france, now)] == [1]


def test_tutor_and_staff_correction_reminders(france) -> None:
    due = date(2027, 3, 30)
    found = correction_reminders(due, france, datetime(2027, 2, 15, 12, tzinfo=UTC))
    assert [(r.kind, _paris(r.due_utc).date()) for r in found] == [
        (ReminderKind.TUTOR_CORRECTION, date(2027, 3, 23)),
        (ReminderKind.TUTOR_CORRECTION, date(2027, 3, 26)),  # 28 March is a Sunday -> Friday
        (ReminderKind.STAFF_CORRECTION_OVERDUE, date(2027, 3, 31)),
        (ReminderKind.TUTOR_CORRECTION_OVERDUE, date(2027, 3, 31)),
        # the overdue alert comes back every week, three times (8, 15 and 22 days late)
        (ReminderKind.STAFF_CORRECTION_OVERDUE, date(2027, 4, 7)),
        (ReminderKind.TUTOR_CORRECTION_OVERDUE, date(2027, 4, 7)),
        (ReminderKind.STAFF_CORRECTION_OVERDUE, date(2027, 4, 14)),
        (ReminderKind.TUTOR_CORRECTION_OVERDUE, date(2027, 4, 14)),
        (ReminderKind.STAFF_CORRECTION_OVERDUE, date(2027, 4, 21)),
        (ReminderKind.TUTOR_CORRECTION_OVERDUE, date(2027, 4, 21)),
    ]
    assert [r.days for r in found if r.kind is ReminderKind.TUTOR_CORRECTION_OVERDUE] == [-1, -8, -15, -22]


def test_overdue_alert_skips_a_weekend_and_a_public_holiday(france) -> None:
    # due Friday 30 April 2027: Saturday, Sunday, then Monday 3 May; 1 May (a Saturday) changes nothing
    found = correction_reminders(date(2027, 4, 30), france, datetime(2027, 4, 1, tzinfo=UTC))
    overdue = [r for r in found if r.kind is ReminderKind.TUTOR_CORRECTION_OVERDUE]
    assert _paris(overdue[0].due_utc).date() == date(2027, 5, 3)


def test_staff_alerts(france) -> None:
    bound = datetime(2026, 10, 5, 14, tzinfo=UTC)
    (alert,) = first_meeting_alert(bound, france, bound)
    assert _paris(alert.due_utc).date() == date(2026, 10, 19) and alert.to == "staff"
    (stalled,) = stalled_alert(datetime(2027, 6, 1, tzinfo=UTC), date(2027, 8, 31), france, datetime(2027, 6, 1, tzinfo=UTC))
    assert _paris(stalled.due_utc).date() == date(2027, 7, 19)  # 45 days before the limit (a Saturday -> Monday)
    (silence,) = stalled_alert(datetime(2026, 11, 2, tzinfo=UTC), date(2027, 8, 31), france, datetime(2026, 11, 2, tzinfo=UTC))
    assert _paris(silence.due_utc).date() == date(2027, 1, 4)  # 60 days, 1 January -> Monday 4th


def test_the_tutors_opinion_is_reminded_then_chased_when_overdue(france) -> None:
    revised_on = date(2027, 4, 6)  # due 14 days later: Tuesday 20 April 2027
    found = opinion_reminders(revised_on, france, datetime(2027, 4, 6, 12, tzinfo=UTC))
    assert [(r.kind, r.to, _paris(r.due_utc).date(), r.days) for r in found if r.to == "tutor"] == [
        (ReminderKind.TUTOR_OPINION, "tutor", date(2027, 4, 16), 3),  # 17 April is a Saturday -> Friday
        (ReminderKind.TUTOR_OPINION_OVERDUE, "tutor", date(2027, 4, 21), -1),
        (ReminderKind.TUTOR_OPINION_OVERDUE, "tutor", date(2027, 4, 28), -8),
        (ReminderKind.TUTOR_OPINION_OVERDUE, "tutor", date(2027, 5, 5), -15),
        (ReminderKind.TUTOR_OPINION_OVERDUE, "tutor", date(2027, 5, 12), -22),
    ]
    assert [_paris(r.due_utc).date() for r in found if r.kind is ReminderKind.STAFF_OPINION_OVERDUE] == [
        date(2027, 4, 21), date(2027, 4, 28), date(2027, 5, 5), date(2027, 5, 12)]
    assert all(r.about == date(2027, 4, 20) for r in found)
    late = opinion_reminders(revised_on, france, datetime(2027, 4, 29, tzinfo=UTC))  # past ones left out
    assert [r.days for r in late if r.to == "tutor"] == [-15, -22]


def test_each_intermediate_date_is_reminded_three_days_before(france) -> None:
    found = intermediate_reminders([date(2026, 11, 10), date(2027, 1, 18)], france, datetime(2026, 11, 2, tzinfo=UTC))
    assert [(r.kind, r.to, _paris(r.due_utc).date(), r.about) for r in found] == [
        (ReminderKind.AUDITEUR_INTERMEDIATE, "auditeur", date(2026, 11, 6), date(2026, 11, 10)),  # 7th: Saturday
        (ReminderKind.AUDITEUR_INTERMEDIATE, "auditeur", date(2027, 1, 15), date(2027, 1, 18)),
    ]
    assert intermediate_reminders([date(2026, 11, 10)], france, datetime(2026, 11, 9, tzinfo=UTC)) == []


def test_the_academic_year_typed_in_telegram() -> None:
    typed = "S1 : 01/09/2027 au 31/01/2028, inscriptions 1/10/2027 - 31/10/27\nS2 : 01/02/2028 31/08/2028 01/02/2028 31/03/2028"
    year = parse_academic_year(typed, 2027)
    assert (year.s1.start, year.s1.enrolment_closes, year.s2.end) == (date(2027, 9, 1), date(2027, 10, 31), date(2028, 8, 31))
    with pytest.raises(Refusal) as refused:
        parse_academic_year("01/09/2027 31/01/2028", 2027)
    assert refused.value.code is RefusalCode.BAD_CALENDAR and refused.value.details["found"] == 2
    with pytest.raises(Refusal) as refused:
        parse_academic_year(typed, 2026)  # the 1st semester of 2026-2027 starts in 2026
    assert refused.value.details["problems"] == ["s1_not_in_year"]
    with pytest.raises(Refusal) as refused:
        parse_academic_year(typed.replace("01/02/2028 31/08", "15/01/2028 31/08"), 2027)
    assert "s2_starts_before_s1_ends" in refused.value.details["problems"]
    with pytest.raises(Refusal) as refused:
        parse_academic_year(typed.replace("31/01/2028", "30/02/2028"), 2027)
    assert refused.value.code is RefusalCode.BAD_DATE
