"""The offer's prerequisites (seed 003) and likely duplicates, as plain rules."""

from __future__ import annotations

import pytest

from bot.domain.enrolment import (
    MIN_UNITS_VALIDATED,
    Candidate,
    likely_duplicates,
    name_key,
    parse_units,
    prerequisite_problems,
)


def test_two_units_and_the_experience_justified_or_being_acquired_open_the_offer():
    assert MIN_UNITS_VALIDATED == 2
    assert prerequisite_problems(2, "justified") == ()
    assert prerequisite_problems(7, "in_progress") == ()
    assert prerequisite_problems(1, "justified") == ("units_below_minimum",)
    assert prerequisite_problems(0, "missing") == ("units_below_minimum", "experience_missing")
    assert prerequisite_problems(3, "missing") == ("experience_missing",)
    assert prerequisite_problems(None, None) == ()  # not recorded: not judged
    with pytest.raises(ValueError):
        prerequisite_problems(2, "peut-être")


@pytest.mark.parametrize(("text", "units"), [("2", 2), (" 3 ", 3), ("0", 0), ("99", 99), ("100", None),
                                             ("deux", None), ("-1", None), ("2,5", None), ("", None),
                                             ("²", None), ("2²", None), ("①", None), ("３", 3)])
def test_units_are_a_whole_number(text, units):
    assert parse_units(text) == units


def test_names_compare_without_accents_case_punctuation_or_spacing():
    assert name_key("  Léa   BERNARD ") == name_key("lea bernard") == "lea bernard"
    assert name_key("Jean-Éric d'Ormesson") == "jean eric d ormesson"


PEOPLE = [
    Candidate(1, "Léa Bernard", "lea@exemple.fr", "auditeur"),
    Candidate(2, "Marc Dubois", "marc.dubois@exemple.fr", "tutor"),
    Candidate(3, "Léa Bernardin", None, "auditeur"),
]


def test_same_name_in_any_order_or_same_email_is_a_likely_duplicate():
    found = likely_duplicates("BERNARD Lea", None, PEOPLE)
    assert [(d.candidate.id, d.same_name, d.same_email) for d in found] == [(1, True, False)]
    by_mail = likely_duplicates("Marc-Antoine Roux", " MARC.DUBOIS@exemple.fr ", PEOPLE)
    assert [(d.candidate.id, d.same_name, d.same_email) for d in by_mail] == [(2, False, True)]
    both = likely_duplicates("lea bernard", "lea@exemple.fr", PEOPLE)
    assert [(d.candidate.id, d.same_name, d.same_email) for d in both] == [(1, True, True)]
    assert likely_duplicates("Léa Bern", None, PEOPLE) == []  # a part of a name is not the name
    assert likely_duplicates("Hugo Roux", None, PEOPLE + [Candidate(4, "", None, "tutor")]) == []
