"""The deposit's rules: warnings about the chosen version, and the annex list operations."""

from __future__ import annotations

import pytest

from bot.domain.annexes import MAX_ANNEXES
from bot.domain.deposit import (
    Annex,
    DepositRuleError,
    add_annex,
    move_annex,
    remove_annex,
    rename_annex,
    report_warnings,
)
from bot.domain.pdf_review import PdfReview

A, B, C = Annex("f1", "Organigramme", 1), Annex("f2", "Fiche de poste", 2), Annex("f3", "Planning", 3)


def _review(**values) -> PdfReview:
    return PdfReview(report_type="ua", sha256="0" * 64, size_bytes=1, page_limit=8, max_body_pages=8, **values)


def test_warnings_name_the_limit_and_the_missing_parts():
    assert report_warnings(_review(pages=7, body_pages=7)) == ()
    assert report_warnings(_review(pages=11, body_pages=10, over_limit=True)) == ("over_limit",)
    assert report_warnings(_review(sections_missing=("conclusion",))) == ("missing_parts",)
    both = _review(over_limit=True, sections_missing=("conclusion", "introduction"))
    assert report_warnings(both) == ("over_limit", "missing_parts")
    assert report_warnings(_review(sections_weak=("conclusion",))) == ()  # weak is not missing
    with pytest.raises(DepositRuleError) as unreadable:
        report_warnings(_review(problem="encrypted"))
    assert unreadable.value.code == "report_unreadable"


def test_any_annex_can_be_removed_renamed_or_moved():
    annexes = (A, B, C)
    assert remove_annex(annexes, 1) == (B, C)
    assert remove_annex(annexes, 2) == (A, C)
    assert remove_annex(annexes, 3) == (A, B)
    assert rename_annex(annexes, 1, "  Organigramme   du service ")[0].title == "Organigramme du service"
    assert rename_annex(annexes, 2, "x")[1:] == (Annex("f2", "x", 2), C)
    assert move_annex(annexes, 3, -1) == (A, C, B)
    assert move_annex(annexes, 1, +1) == (B, A, C)
    assert move_annex(annexes, 1, -1) == annexes  # already first
    assert move_annex(annexes, 3, +1) == annexes  # already last


@pytest.mark.parametrize("number", [0, 4, -1])
def test_a_position_outside_the_list_is_refused(number):
    for operation in (lambda: remove_annex((A, B, C), number), lambda: move_annex((A, B, C), number, 1),
                      lambda: rename_annex((A, B, C), number, "t")):
        with pytest.raises(DepositRuleError) as refused:
            operation()
        assert refused.value.code == "annex_unknown"


def test_an_empty_title_and_one_annex_too_many_are_refused():
    with pytest.raises(DepositRuleError) as empty:
        rename_annex((A,), 1, "   ")
    assert empty.value.code == "title_missing"
    full = tuple(Annex(f"f{i}", f"t{i}", 1) for i in range(MAX_ANNEXES))
    with pytest.raises(DepositRuleError) as too_many:
        add_annex(full, A)
    assert too_many.value.code == "too_many_annexes"
    assert add_annex(full[:-1], A)[-1] == A


def test_annexes_round_trip_through_json():
    assert Annex.from_json(A.to_json()) == A
    assert Annex.from_json({"file_id": "f", "title": None, "pages": None}) == Annex("f", "", 0)
