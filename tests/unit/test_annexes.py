"""Annex assembly: one PDF for the deposit, report first, then each annex, easy to navigate."""

from __future__ import annotations

import io
from functools import lru_cache

import pytest
from pypdf import PdfReader

from bot.domain import pdf_sandbox
from bot.domain.annexes import MAX_ANNEXES, MAX_TITLE_CHARS, DepositError, assemble_deposit
from bot.domain.pdf_review import review_pdf
from bot.domain.report import SECTION_IDS, default_catalogue
from tests import pdf_factory as factory


@lru_cache(maxsize=None)
def report() -> bytes:
    return factory.good_draft("ua")


@lru_cache(maxsize=None)
def annex(title: str, pages: int) -> bytes:
    return factory.annex_pdf(title, pages)


def annexes() -> list[tuple[str, bytes]]:
    return [("Programme de la formation", annex("Programme", 2)), ("Grille d'évaluation", annex("Grille", 1))]


def read(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def top_level_bookmarks(reader: PdfReader) -> list[tuple[str, int]]:
    return [(item.title, reader.get_destination_page_number(item)) for item in reader.outline if not isinstance(item, list)]


def test_deposit_is_report_then_annexes_with_bookmarks_labels_and_metadata():
    report_pages = len(read(report()).pages)
    deposit = read(assemble_deposit(report(), annexes(), title="Rapport d'activité UA", author="Camille Martin"))

    assert len(deposit.pages) == report_pages + 3
    assert top_level_bookmarks(deposit) == [
        ("Rapport", 0),
        ("Annexe 1 — Programme de la formation", report_pages),
        ("Annexe 2 — Grille d'évaluation", report_pages + 2),
    ]
    assert deposit.page_labels == [str(n) for n in range(1, report_pages + 1)] + ["A1-1", "A1-2", "A2-1"]
    assert deposit.metadata.title == "Rapport d'activité UA"
    assert deposit.metadata.author == "Camille Martin"
    assert deposit.page_mode == "/UseOutlines"
    assert deposit.trailer["/Root"]["/Lang"] == "fr-FR"
    # page content really comes from the annex, in order
    assert "Programme (2/2)" in deposit.pages[report_pages + 1].extract_text()
    assert "Grille (1/1)" in deposit.pages[report_pages + 2].extract_text()


def test_report_bookmarks_are_kept_under_rapport_and_annex_bookmarks_are_not_imported():
    deposit = read(assemble_deposit(report(), annexes(), title="t", author="a"))
    nested = deposit.outline[1]
    assert isinstance(nested, list)
    assert [item.title for item in nested][:2] == ["1. Introduction", "2. Le choix de la pratique"]
    titles = [item.title for item in deposit.outline if not isinstance(item, list)]
    assert "Programme" not in titles  # the annex file's own bookmark


def test_deposit_is_still_a_reviewable_report():
    catalogue = default_catalogue()
    deposit = assemble_deposit(report(), annexes(), title="t", author="a")
    result = review_pdf(deposit, catalogue.report_type("ua"), catalogue)
    assert result.problem is None and result.sections_found == SECTION_IDS and not result.over_limit


def test_no_annex_gives_the_report_alone_with_its_metadata():
    deposit = read(assemble_deposit(report(), [], title="Mon rapport", author="C. M."))
    assert len(deposit.pages) == len(read(report()).pages)
    assert top_level_bookmarks(deposit) == [("Rapport", 0)]
    assert deposit.metadata.title == "Mon rapport"


def test_empty_and_long_titles():
    long_title = "Compte rendu " * 30
    deposit = read(assemble_deposit(report(), [("  ", annex("A", 1)), (long_title, annex("B", 1))], title="t", author="a"))
    titles = [title for title, _ in top_level_bookmarks(deposit)]
    assert titles[1] == "Annexe 1"
    assert titles[2].startswith("Annexe 2 — Compte rendu") and titles[2].endswith("…")
    assert len(titles[2]) <= len("Annexe 2 — ") + MAX_TITLE_CHARS


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (factory.encrypted_pdf, "encrypted"),
        (factory.truncated_pdf, "corrupted"),
        (factory.docx_renamed, "not_pdf"),
        (factory.plain_text_file, "not_pdf"),
        (factory.oversized_pdf, "too_large"),
    ],
)
def test_a_bad_annex_is_named_with_its_problem(bad, code):
    with pytest.raises(DepositError) as error:
        assemble_deposit(report(), [("Programme", annex("Programme", 1)), ("Mauvaise", bad())], title="t", author="a")
    assert error.value.code == code
    assert error.value.part == "annex 2" and error.value.annex_number == 2


def test_a_bad_report_is_named_as_the_report():
    with pytest.raises(DepositError) as error:
        assemble_deposit(factory.docx_renamed(), annexes(), title="t", author="a")
    assert (error.value.code, error.value.part, error.value.annex_number) == ("not_pdf", "report", None)


def test_scanned_annexes_are_accepted():
    deposit = read(assemble_deposit(report(), [("Attestation", factory.scanned_pdf(1))], title="t", author="a"))
    assert deposit.page_labels[-1] == "A1-1"


def test_too_many_annexes():
    with pytest.raises(DepositError) as error:
        assemble_deposit(report(), [("x", annex("x", 1))] * (MAX_ANNEXES + 1), title="t", author="a")
    assert error.value.code == "too_many_annexes"


def test_isolated_assembly_gives_the_same_pages_and_raises_the_same_errors():
    data = pdf_sandbox.assemble_deposit_isolated_sync(report(), annexes(), title="t", author="a")
    assert read(data).page_labels[-3:] == ["A1-1", "A1-2", "A2-1"]
    with pytest.raises(DepositError) as error:
        pdf_sandbox.assemble_deposit_isolated_sync(report(), [("x", factory.encrypted_pdf())], title="t", author="a")
    assert (error.value.code, error.value.part) == ("encrypted", "annex 1")
