"""Accompaniment refusals say exactly why: the code and the details the French message is built from.

``templates/accompaniment`` words each refusal from its ``details`` (the date refused, the limit,
the criteria missing...): a refusal with the right code but the details lost reads wrong to the tutor.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.accompaniment import (
    MAX_INTERMEDIATE_DATES,
    AcademicYear,
    Action,
    Party,
    Planning,
    Refusal,
    RefusalCode,
    SemesterDates,
    Stage,
    check,
    check_assessments,
    check_planning,
    check_reasons,
    default_academic_year,
    parse_academic_year,
    parse_correction_notes,
    parse_dates,
)
from bot.domain.report import Criterion, Grid

TODAY = date(2026, 11, 20)
LIMIT = date(2027, 8, 31)


def refusal(call, *args, **kwargs) -> Refusal:
    with pytest.raises(Refusal) as caught:
        call(*args, **kwargs)
    return caught.value


# -- the planning -----------------------------------------------------------------------------------


def test_a_planning_keeps_its_dates_sorted_and_the_limit_it_was_checked_against():
    planning = check_planning(date(2027, 6, 30), [date(2027, 3, 1), date(2027, 1, 15), date(2027, 3, 1)], today=TODAY, limit=LIMIT)
    assert planning == Planning(deadline=date(2027, 6, 30), intermediate=(date(2027, 1, 15), date(2027, 3, 1)), limit=LIMIT)


def test_five_intermediate_dates_are_accepted_six_are_too_many():
    five = [date(2027, 1, d) for d in range(10, 10 + MAX_INTERMEDIATE_DATES)]
    assert len(check_planning(date(2027, 6, 30), five, today=TODAY, limit=LIMIT).intermediate) == 5
    refused = refusal(check_planning, date(2027, 6, 30), [*five, date(2027, 2, 1)], today=TODAY, limit=LIMIT)
    assert (refused.code, refused.details) == (RefusalCode.TOO_MANY_DATES, {"max": 5})


def test_a_date_today_or_past_is_refused_with_that_date():
    refused = refusal(check_planning, date(2027, 6, 30), [TODAY], today=TODAY, limit=LIMIT)
    assert (refused.code, refused.details) == (RefusalCode.DATE_PAST, {"day": TODAY})


def test_the_limit_itself_is_allowed_the_day_after_is_refused_with_both_dates():
    assert check_planning(LIMIT, [], today=TODAY, limit=LIMIT).deadline == LIMIT
    refused = refusal(check_planning, date(2027, 9, 1), [], today=TODAY, limit=LIMIT)
    assert (refused.code, refused.details) == (RefusalCode.BEYOND_LIMIT, {"day": date(2027, 9, 1), "limit": LIMIT})


def test_an_intermediate_date_on_or_after_the_deadline_is_refused_with_both():
    refused = refusal(check_planning, date(2027, 6, 30), [date(2027, 6, 30)], today=TODAY, limit=LIMIT)
    assert (refused.code, refused.details) == (RefusalCode.DATES_ORDER, {"day": date(2027, 6, 30), "deadline": date(2027, 6, 30)})
    assert check_planning(date(2027, 6, 30), [date(2027, 6, 29)], today=TODAY, limit=LIMIT).intermediate == (date(2027, 6, 29),)


# -- the academic year typed by staff ---------------------------------------------------------------

TYPED = "S1 : 01/09/2027 au 31/01/2028, inscriptions 1/10/2027 - 31/10/27\nS2 : 01/02/2028 31/08/2028 01/02/2028 31/03/2028"


def test_dates_written_with_two_digit_years_dots_or_dashes():
    year = parse_academic_year("1.9.27 31-1-28 1/10/27 31/10/27 1/2/28 31/8/28 1/2/28 31/3/28", 2027)
    assert year == parse_academic_year(TYPED, 2027)
    assert year.s2 == SemesterDates(date(2028, 2, 1), date(2028, 8, 31), date(2028, 2, 1), date(2028, 3, 31))


def test_a_four_digit_year_is_taken_as_written():
    refused = refusal(parse_academic_year, TYPED.replace("01/09/2027", "01/09/0100"), 2027)
    # the year 100, a typo, not 2100: a four-digit year is never shifted
    assert refused.details["problems"] == ["s1_not_in_year", "year_too_long"]


def test_a_day_that_does_not_exist_is_refused_with_what_was_typed():
    refused = refusal(parse_academic_year, TYPED.replace("31/01/2028", "30/02/2028"), 2027)
    assert (refused.code, refused.details) == (RefusalCode.BAD_DATE, {"token": "30/02/2028"})


def test_the_wrong_count_of_dates_says_how_many_were_found():
    refused = refusal(parse_academic_year, "01/09/2027 31/01/2028", 2027)
    assert (refused.code, refused.details) == (RefusalCode.BAD_CALENDAR, {"problems": ["eight_dates"], "found": 2, "year": 2027})
    refused = refusal(parse_academic_year, "", 2027)
    assert refused.details == {"problems": ["eight_dates"], "found": 0, "year": 2027}
    assert refusal(parse_academic_year, None, 2027).details["found"] == 0


def test_incoherent_dates_are_refused_with_every_problem_and_the_year():
    refused = refusal(parse_academic_year, TYPED, 2026)
    assert (refused.code, refused.details) == (RefusalCode.BAD_CALENDAR, {"problems": ["s1_not_in_year"], "year": 2026})


def _year(s1: tuple, s2: tuple, year: int = 2027) -> AcademicYear:
    return AcademicYear(year, SemesterDates(*(date(*d) for d in s1)), SemesterDates(*(date(*d) for d in s2)))


GOOD_S1 = ((2027, 9, 1), (2028, 1, 31), (2027, 10, 1), (2027, 10, 31))
GOOD_S2 = ((2028, 2, 1), (2028, 8, 31), (2028, 2, 1), (2028, 3, 31))


def test_each_incoherence_is_named_with_its_semester():
    assert _year(GOOD_S1, GOOD_S2).problems() == []
    same_day = ((2027, 9, 1), (2027, 9, 1), (2027, 9, 1), (2027, 9, 1))
    assert _year(same_day, GOOD_S2).problems() == ["s1_end_before_start"]
    closes_before = ((2028, 2, 1), (2028, 8, 31), (2028, 3, 1), (2028, 2, 28))
    assert _year(GOOD_S1, closes_before).problems() == ["s2_enrolment_closes_before_opening"]
    outside = ((2028, 2, 1), (2028, 8, 31), (2028, 1, 15), (2028, 3, 31))
    assert _year(GOOD_S1, outside).problems() == ["s2_enrolment_outside_semester"]
    starts_on_s1_end = ((2028, 1, 31), (2028, 8, 31), (2028, 2, 1), (2028, 3, 31))
    assert _year(GOOD_S1, starts_on_s1_end).problems() == ["s2_starts_before_s1_ends"]


def test_enrolment_on_one_day_only_and_on_the_semester_bounds_is_coherent():
    one_day = ((2027, 9, 1), (2028, 1, 31), (2027, 9, 1), (2027, 9, 1))
    assert _year(one_day, GOOD_S2).problems() == []
    last_day = ((2027, 9, 1), (2028, 1, 31), (2028, 1, 31), (2028, 1, 31))
    assert _year(last_day, GOOD_S2).problems() == []


def test_a_year_of_400_days_is_accepted_401_is_too_long():
    s2_400 = ((2028, 2, 1), (2028, 10, 5), (2028, 2, 1), (2028, 3, 31))  # 2027-09-01 + 400 days
    assert (date(2028, 10, 5) - date(2027, 9, 1)).days == 400
    assert _year(GOOD_S1, s2_400).problems() == []
    s2_401 = ((2028, 2, 1), (2028, 10, 6), (2028, 2, 1), (2028, 3, 31))
    assert _year(GOOD_S1, s2_401).problems() == ["year_too_long"]


def test_the_default_year_is_the_seeds_dates():
    year = default_academic_year(2026)
    assert year.s1 == SemesterDates(date(2026, 9, 1), date(2027, 1, 31), date(2026, 10, 1), date(2026, 10, 31))
    assert year.s2 == SemesterDates(date(2027, 2, 1), date(2027, 8, 31), date(2027, 2, 1), date(2027, 3, 31))


# -- the correction's notes ---------------------------------------------------------------------------


def test_the_last_criterion_number_is_a_criterion_one_more_is_summary():
    comments, summary = parse_correction_notes("3. Dernier critère\n4. Pas un critère", criteria=3)
    assert comments == {3: "Dernier critère"}
    assert summary == ["4. Pas un critère"]


# -- the opinion's grid and reasons -------------------------------------------------------------------

GRID = Grid(
    title="Grille",
    intro="",
    verdicts=("validé", "non validé"),
    criteria=(
        Criterion("choix", "Choix argumenté", "", ("choix",)),
        Criterion("traces", "Traces en annexe", "", ("annexes",)),
        Criterion("forme", "Forme", "", ()),
    ),
)


def test_unknown_criteria_are_refused_by_name():
    refused = refusal(check_assessments, GRID, {"choix": "acquis", "traces": "acquis", "forme": "acquis", "zz": "acquis", "aa": "acquis"})
    assert (refused.code, refused.details) == (RefusalCode.BAD_ASSESSMENT, {"criteria": ["aa", "zz"]})


def test_criteria_left_unassessed_are_refused_with_their_labels_in_grid_order():
    refused = refusal(check_assessments, GRID, {"traces": "acquis"})
    assert (refused.code, refused.details) == (RefusalCode.GRID_INCOMPLETE, {"missing": ["Choix argumenté", "Forme"]})


def test_an_assessment_that_is_not_one_of_the_three_is_refused():
    refused = refusal(check_assessments, GRID, {"choix": "acquis", "traces": "bof", "forme": "non acquis"})
    assert (refused.code, refused.details) == (RefusalCode.BAD_ASSESSMENT, {})
    assert str(refused) == "bad_assessment: {}"


def test_reasons_need_ten_characters_once_trimmed_and_are_cut_at_4000():
    for short in (None, "", "   ", " neuf car. "):
        refused = refusal(check_reasons, short)
        assert (refused.code, refused.details) == (RefusalCode.REASONS_MISSING, {"min": 10})
    assert check_reasons(" 10 lettres ") == "10 lettres"
    assert check_reasons("x" * 5000) == "x" * 4000


# -- who may do what, and when ------------------------------------------------------------------------


def test_someone_elses_accompaniment_is_refused_with_the_action():
    refused = refusal(check, Action.SUBMIT, Stage.PLANNED, Party.OTHER)
    assert (refused.code, refused.details) == (RefusalCode.NOT_YOURS, {"action": Action.SUBMIT})


def test_the_wrong_person_is_told_who_may_act_the_system_never_named():
    refused = refusal(check, Action.FIRST_MEETING_HELD, Stage.ENROLLED, Party.AUDITEUR)
    assert (refused.code, refused.details) == (
        RefusalCode.WRONG_PERSON, {"action": Action.FIRST_MEETING_HELD, "allowed": ["staff", "tutor"]},
    )


def test_the_wrong_stage_is_refused_with_the_stage():
    refused = refusal(check, Action.SUBMIT, Stage.ENROLLED, Party.AUDITEUR)
    assert (refused.code, refused.details) == (RefusalCode.WRONG_STAGE, {"action": Action.SUBMIT, "stage": Stage.ENROLLED})


# -- dates typed by the tutor -------------------------------------------------------------------------


def test_dates_with_narrow_and_non_breaking_spaces():
    assert parse_dates("31\u202fmars 2027 et 15\xa0janvier 2027", TODAY) == [date(2027, 3, 31), date(2027, 1, 15)]


def test_a_day_that_does_not_exist_is_refused_with_the_date_typed():
    refused = refusal(parse_dates, "date butoir : 30 février 2027", TODAY)
    assert (refused.code, refused.details) == (RefusalCode.BAD_DATE, {"token": "30 fevrier 2027"})


def test_digits_that_make_no_date_are_refused_with_them_shortened():
    refused = refusal(parse_dates, "31/03/2027 puis 123456789012345678901234", TODAY)
    assert (refused.code, refused.details) == (RefusalCode.BAD_DATE, {"token": "12345678901234567890"})
    refused = refusal(parse_dates, "31/03/2027, ensuite 4", TODAY)
    assert refused.details == {"token": "4"}
    assert refusal(parse_dates, "31/03/2027,2", TODAY).details == {"token": ",2"}  # a typo stuck to the date


def test_no_date_at_all_is_refused_with_what_was_typed_shortened():
    refused = refusal(parse_dates, "  dès que possible, après les vacances  ", TODAY)
    assert (refused.code, refused.details) == (RefusalCode.BAD_DATE, {"token": "dès que possible, ap"})
