"""The deposit PDF's edges: its metadata, annexes that have bookmarks of their own, the limits, and
what a refusal names (the part at fault and why)."""

from __future__ import annotations

import io
from functools import lru_cache

import pytest
from pypdf import PdfReader
from pypdf.errors import LimitReachedError

from bot.domain import annexes as annexes_module
from bot.domain.annexes import MAX_ANNEXES, MAX_DEPOSIT_BYTES, MAX_TITLE_CHARS, DepositError, assemble_deposit, clean_title
from tests import pdf_factory as factory


@lru_cache(maxsize=None)
def report() -> bytes:
    return factory.good_draft("ua")


@lru_cache(maxsize=None)
def one_page() -> bytes:
    return factory.annex_pdf("Annexe", 1)


def refused(report_data: bytes, annexes: list[tuple[str, bytes]]) -> DepositError:
    with pytest.raises(DepositError) as caught:
        assemble_deposit(report_data, annexes, title="t", author="a")
    return caught.value


def test_the_deposit_says_who_made_it():
    metadata = PdfReader(io.BytesIO(assemble_deposit(report(), [], title="  Rapport   UA ", author=" Camille  Martin"))).metadata
    assert (metadata.title, metadata.author) == ("Rapport UA", "Camille Martin")
    assert (metadata.creator, metadata.producer) == ("coachbot", "coachbot (pypdf)")


def test_an_annex_with_bookmarks_of_its_own_gets_only_its_annex_bookmark():
    deposit = PdfReader(io.BytesIO(assemble_deposit(one_page(), [("Un autre rapport", factory.good_draft("ua"))], title="t", author="a")))
    assert [item.title for item in deposit.outline if not isinstance(item, list)] == ["Rapport", "Annexe 1 — Un autre rapport"]
    nested = [child.title for item in deposit.outline if isinstance(item, list) for child in item]
    assert nested == ["Annexe"]  # the report's own bookmark only: none of the annex's "1. Introduction"…


def test_twenty_annexes_are_accepted_twenty_one_refused_with_the_count():
    deposit = PdfReader(io.BytesIO(assemble_deposit(one_page(), [("x", one_page())] * MAX_ANNEXES, title="t", author="a")))
    assert deposit.page_labels[-1] == "A20-1"
    error = refused(one_page(), [("x", one_page())] * (MAX_ANNEXES + 1))
    assert (error.code, error.part, error.detail) == ("too_many_annexes", "deposit", "21 > 20")
    assert str(error) == "deposit: too_many_annexes (21 > 20)"


def test_a_deposit_over_the_size_limit_is_refused_before_reading_anything():
    part = b"x" * (MAX_DEPOSIT_BYTES // 4)  # each part at its own limit
    error = refused(part, [("a", part), ("b", part), ("c", part), ("d", b"y")])
    assert (error.code, error.part, error.detail) == ("too_large", "deposit", f"{MAX_DEPOSIT_BYTES + 1} bytes")
    at_the_limit = refused(part, [("a", part), ("b", part), ("c", part)])
    assert (at_the_limit.code, at_the_limit.part) == ("not_pdf", "report")  # within the limit: read, and found not a PDF


@pytest.mark.parametrize(
    ("raised", "detail"),
    [(LimitReachedError("too many objects"), "too many objects"), (MemoryError(), "out of memory")],
)
def test_a_pdf_too_complex_to_assemble_is_refused_as_such(monkeypatch, raised, detail):
    def explode(data):
        raise raised

    monkeypatch.setattr(annexes_module, "open_pdf", explode)
    error = refused(one_page(), [])
    assert (error.code, error.part, error.detail) == ("too_complex", "deposit", detail)


def test_titles_are_one_line_cut_at_120_characters():
    assert clean_title(None) == ""
    assert clean_title("  Grille\n d'évaluation  ") == "Grille d'évaluation"
    exact = "x" * MAX_TITLE_CHARS
    assert clean_title(exact) == exact
    cut = clean_title("y" * 118 + " zzzz")
    assert cut == "y" * 118 + "…"  # the space before the cut is dropped
    assert len(clean_title("y" * 200)) == MAX_TITLE_CHARS
