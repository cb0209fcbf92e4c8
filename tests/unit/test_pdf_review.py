"""PDF draft review: what an auditeur is told about the draft they sent (domain layer only)."""

from __future__ import annotations

import json
import re
import time
import tomllib
from functools import lru_cache

import pytest
from hypothesis import given, settings, strategies as st
from jinja2 import Environment, FileSystemLoader

from bot.domain import pdf_sandbox
from bot.domain.pdf_review import (
    NEXT_STEP_CODES,
    PROBLEM_CODES,
    PdfReview,
    compare_reviews,
    review_pdf,
    sniff_format,
)
from bot.domain.report import SECTION_IDS, default_catalogue
from bot.domain.structure import classify_heading, default_structure_lexicon
from bot.paths import PROMPTS_DIR, TEMPLATES_DIR
from bot.telegram.rendering import add_french_helpers
from tests import pdf_factory as factory

CATALOGUE = default_catalogue()
ALLOWED_TAGS = {"b", "i", "code", "pre", "a"}


@lru_cache(maxsize=None)
def pdf(name: str, *args) -> bytes:
    return getattr(factory, name)(*args)


def review(data: bytes, type_id: str = "ua") -> PdfReview:
    return review_pdf(data, CATALOGUE.report_type(type_id), CATALOGUE)


# --- good and flawed drafts -------------------------------------------------------------------


@pytest.mark.parametrize("type_id", ["ua", "stage"])
@pytest.mark.parametrize("bookmarks", [True, False])
def test_good_draft_has_every_section_and_fits_the_limit(type_id, bookmarks):
    result = review(factory.good_draft(type_id, bookmarks=bookmarks), type_id)

    assert result.problem is None
    assert result.sections_found == SECTION_IDS
    assert result.sections_missing == ()
    assert result.sections_in_order
    assert result.annexes and result.annex_count == 2
    limit = CATALOGUE.report_type(type_id).page_limit
    assert result.page_limit == limit
    assert limit - 2 <= result.body_pages <= limit and not result.over_limit
    # annex pages exist but are not counted against the limit
    assert result.pages > result.body_pages
    assert 350 * result.body_pages <= result.words <= 600 * result.body_pages
    assert result.headings_source == ("outline+text" if bookmarks else "text")


def test_good_draft_next_steps_are_the_final_polish():
    assert review(pdf("good_draft", "ua")).next_steps == ("proofread", "ask_tutor_feedback", "assemble_deposit")


def test_good_draft_without_bookmarks_is_told_to_use_heading_styles():
    steps = review(factory.good_draft("ua", bookmarks=False)).next_steps
    assert steps[0] == "use_heading_styles" and len(steps) == 3


@pytest.mark.parametrize("type_id", ["ua", "stage"])
def test_flawed_draft_is_over_the_limit_with_missing_sections_and_no_annexes(type_id):
    result = review(factory.flawed_draft(type_id), type_id)

    assert result.problem is None
    assert result.over_limit and result.body_pages > result.page_limit
    assert result.body_pages == result.pages  # no annexes: every page counts
    assert result.sections_missing == ("choix", "questions", "conclusion", "annexes")
    assert "choix" not in result.sections_found and "introduction" in result.sections_found
    assert not result.annexes and result.annex_count == 0
    assert result.next_steps == ("reduce_pages", "add_section:choix", "add_section:questions")


def test_outline_alone_finds_headings_even_when_text_is_unstyled():
    # Same content, only bookmarks carry the section titles: unnumbered, unstyled text lines would
    # not count, the outline does.
    spec = factory.DraftSpec(numbering=False, bookmarks=True)
    result = review(factory.report_draft(spec))
    assert result.sections_found == SECTION_IDS


def test_table_of_contents_does_not_count_as_sections():
    present = ("introduction", "contexte", "role", "actes")
    spec = factory.DraftSpec(sections=present, table_of_contents=SECTION_IDS[:-1], bookmarks=False, annex_titles=())
    result = review(factory.report_draft(spec))
    assert result.sections_found == present
    assert "choix" in result.sections_missing and "conclusion" in result.sections_missing


def test_same_bytes_give_the_same_review_and_hash():
    data = pdf("good_draft", "ua")
    first, second = review(data), review(data)
    assert first == second and len(first.sha256) == 64


# --- problems ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem", "detected_format"),
    [
        ("scanned_pdf", "no_text", None),
        ("encrypted_pdf", "encrypted", None),
        ("truncated_pdf", "corrupted", None),
        ("garbled_pdf", "corrupted", None),
        ("docx_renamed", "not_pdf", "word"),
        ("plain_text_file", "not_pdf", "text"),
        ("png_image", "not_pdf", "image"),
        ("decompression_bomb", "too_complex", None),
        ("oversized_pdf", "too_large", None),
    ],
)
def test_each_unusable_file_gets_its_problem(name, problem, detected_format):
    result = review(pdf(name))
    assert result.problem == problem
    assert result.detected_format == detected_format
    assert result.next_steps == () and result.sections_found == () and not result.over_limit


def test_scanned_pdf_still_reports_its_page_count():
    assert review(pdf("scanned_pdf")).pages == 3


def test_pdf_with_only_an_owner_password_is_reviewed():
    result = review(factory.owner_only_encrypted_pdf())
    assert result.problem is None and result.sections_missing == ()


def test_bomb_is_rejected_in_process():
    # The verdict only: its wall time is measured by bench/bench_pdf_review.py, not asserted here.
    assert review(pdf("decompression_bomb")).problem == "too_complex"


def test_sniff_format_recognises_what_people_send_instead_of_a_pdf():
    assert sniff_format(pdf("good_draft", "ua")) == "pdf"
    assert sniff_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100)) == "word"  # Word 97-2003
    assert sniff_format(b"\xff\xd8\xff\xe0" + bytes(100)) == "image"
    assert sniff_format(bytes(range(256))) == "unknown"


# --- headings ---------------------------------------------------------------------------------


def parts_of(line: str) -> tuple[str, ...]:
    return classify_heading(line, default_structure_lexicon())[0]


@pytest.mark.parametrize(
    ("line", "section_id"),
    [
        ("1. Introduction", "introduction"),
        ("I - Le choix de la pratique", "choix"),
        ("II. Présentation de la pratique choisie", "choix"),
        ("Choix argumenté de la pratique", "choix"),
        ("2.3 Les difficultés rencontrées", "difficultes"),
        ("Les écueils et ce que j'en ai fait", "difficultes"),
        ("IV) COMPÉTENCES DÉVELOPPÉES", "competences"),
        ("Ce que je retiens de cette expérience", "competences"),
        ("A. Contexte de reference", "contexte"),
        ("Partie 2 : Ma mission", "role"),
        ("3 – Mon rôle dans le projet", "role"),
        ("Mon quotidien de coordinatrice", "role"),
        ("Les actes et moments professionnels", "actes"),
        ("Questions méthodologiques et théoriques", "questions"),
        ("Conclusion générale", "conclusion"),
        ("Annexe 3 : grille d'entretien", "annexes"),
    ],
)
def test_headings_are_recognised_by_their_content_words(line, section_id):
    assert section_id in parts_of(line)


def test_a_merged_heading_names_both_parts():
    assert set(parts_of("Difficultés et compétences")) == {"difficultes", "competences"}
    assert set(parts_of("Contexte et choix de la pratique")) == {"choix", "contexte"}


@pytest.mark.parametrize("line", ["Partie 2", "Deuxième partie", "2. La pratique décrite", "III - La pratique commentée"])
def test_generic_headings_name_no_part(line):
    parts, generic, _ = classify_heading(line, default_structure_lexicon())
    assert parts == () and generic


@pytest.mark.parametrize(
    "line",
    ["Rapport d'activité de l'unité d'activité (UA)", "Camille Martin, auditrice", "Bibliographie", ""],
)
def test_other_lines_name_no_part(line):
    assert parts_of(line) == ()


def test_every_official_section_title_names_its_part():
    for section in CATALOGUE.sections:
        assert section.id in parts_of(section.title)


@settings(max_examples=60, deadline=None)
@given(
    section=st.sampled_from(CATALOGUE.sections),
    prefix=st.sampled_from(["", "1. ", "2.3 ", "IV - ", "B) ", "Partie 3 : ", "  7 -  "]),
    upper=st.booleans(),
)
def test_numbering_and_case_do_not_hide_a_heading(section, prefix, upper):
    title = section.title.upper() if upper else section.title
    assert section.id in parts_of(prefix + title)


# --- JSON and comparison ----------------------------------------------------------------------


def test_json_has_the_documented_fields_and_round_trips():
    result = review(pdf("flawed_draft", "ua"))
    data = json.loads(json.dumps(result.to_json()))
    for key in ("pages", "page_limit", "over_limit", "words", "sections_found", "sections_missing", "annexes", "problem"):
        assert key in data
    assert data["problem"] is None and data["over_limit"] is True
    assert data["sections_missing"] == ["choix", "questions", "conclusion", "annexes"]
    assert PdfReview.from_json(data) == result


def test_problem_codes_in_json_are_the_documented_ones():
    assert set(PROBLEM_CODES) == {"encrypted", "corrupted", "not_pdf", "no_text", "too_large", "too_complex"}
    assert review(pdf("docx_renamed")).to_json()["problem"] == "not_pdf"


def test_comparison_of_a_flawed_then_good_version():
    before, after = review(pdf("flawed_draft", "ua")), review(pdf("good_draft", "ua"))
    comparison = compare_reviews(before, after)
    assert comparison.sections_gained == ("choix", "questions", "conclusion", "annexes")
    assert comparison.sections_lost == ()
    assert comparison.was_over_limit and not comparison.is_over_limit
    assert comparison.pages_delta == after.body_pages - before.body_pages < 0
    assert not comparison.same_file

    backwards = compare_reviews(after, before)
    assert backwards.sections_lost == ("choix", "questions", "conclusion", "annexes")
    assert compare_reviews(after, after).same_file


def test_comparison_refuses_reviews_with_a_problem():
    with pytest.raises(ValueError):
        compare_reviews(review(pdf("scanned_pdf")), review(pdf("good_draft", "ua")))


# --- templates --------------------------------------------------------------------------------


ENV = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True)
add_french_helpers(ENV)


def step_wording() -> dict[str, str]:
    with (TEMPLATES_DIR / "review" / "next_steps.toml").open("rb") as handle:
        return tomllib.load(handle)["steps"]


def render_report(result: PdfReview, comparison=None) -> str:
    return ENV.get_template("review/report.html").render(
        review=result,
        report_type=CATALOGUE.report_type(result.report_type),
        catalogue=CATALOGUE,
        steps=step_wording(),
        comparison=comparison,
    )


def assert_telegram_html(text: str) -> None:
    tags = set(re.findall(r"</?([a-zA-Z]+)", text))
    assert tags <= ALLOWED_TAGS, tags


def test_every_next_step_code_has_french_wording():
    wording = step_wording()
    assert set(NEXT_STEP_CODES) == set(wording)
    assert all(len(text) > 20 for text in wording.values())


def test_report_message_of_a_flawed_draft():
    result = review(pdf("flawed_draft", "ua"))
    text = render_report(result)
    assert_telegram_html(text)
    assert f"{result.body_pages} pages" in text and "moins de 8 pages, soit 7 pages au plus" in text
    assert "moins de 8 pages" in text
    missing_line = next(line for line in text.splitlines() if "Parties manquantes" in line)
    assert "Choix de la pratique" in missing_line and "Conclusion" in missing_line
    assert "Introduction" not in missing_line
    assert "aucune trouvée" in text
    wording = step_wording()
    for index, code in enumerate(result.next_steps, start=1):
        assert f"{index}. {wording[code]}".replace("'", "&#39;") in text
    assert "version précédente" not in text


def test_report_message_of_a_good_draft_after_a_flawed_one():
    before, after = review(pdf("flawed_draft", "ua")), review(pdf("good_draft", "ua"))
    text = render_report(after, compare_reviews(before, after))
    assert_telegram_html(text)
    assert "Parties manquantes" not in text and "Toutes les parties attendues sont présentes" in text
    assert "au-delà" not in text
    assert "version précédente" in text and "Nouvelles parties" in text and "Parties disparues" not in text
    assert f"Pages : {before.body_pages} → {after.body_pages}" in text
    assert "tient de nouveau dans la limite" in text
    assert "Annexes : présentes (2)" in text


@pytest.mark.parametrize("code", PROBLEM_CODES)
def test_each_problem_has_a_message_saying_what_to_send(code):
    text = ENV.get_template(f"review/problem_{code}.html").render(detected_format=None, size_mb=21.0, limit_mb=20)
    assert_telegram_html(text)
    assert "<b>" in text and "PDF" in text and len(text) > 120


def test_word_file_message_explains_the_export():
    text = ENV.get_template("review/problem_not_pdf.html").render(detected_format="word")
    assert "document Word" in text and "Enregistrer sous &gt; PDF" in text
    image = ENV.get_template("review/problem_not_pdf.html").render(detected_format="image")
    assert "une image" in image and "document Word" not in image


# --- isolation --------------------------------------------------------------------------------


def test_isolated_review_matches_the_in_process_review():
    data = pdf("good_draft", "stage")
    assert pdf_sandbox.review_pdf_isolated_sync(data, "stage") == review(data, "stage")


def test_bomb_is_rejected_by_the_isolated_runner():
    result = pdf_sandbox.review_pdf_isolated_sync(pdf("decompression_bomb"), "ua")
    assert result.problem == "too_complex"  # wall time (target < 2 s): bench/bench_pdf_review.py


def test_timeout_gives_too_complex():
    result = pdf_sandbox.review_pdf_isolated_sync(pdf("good_draft", "stage"), "stage", timeout=0.005)
    assert result.problem == "too_complex" and result.page_limit == 15


def test_child_over_its_memory_cap_is_reported_as_memory():
    assert pdf_sandbox.run_isolated(bytearray, (500 * 2**20,), memory_mb=300).status == "memory"
    assert pdf_sandbox.run_isolated(len, (bytearray(10 * 2**20),), memory_mb=300).value == 10 * 2**20


def test_child_that_hangs_is_killed_at_the_timeout():
    outcome = pdf_sandbox.run_isolated(time.sleep, (30,), timeout=0.5)
    assert outcome.status == "timeout" and outcome.seconds < 3


def test_child_that_crashes_is_reported_as_crash():
    import os

    assert pdf_sandbox.run_isolated(os.abort, ()).status == "crash"


@pytest.mark.parametrize("status", ["memory", "crash", "timeout"])
def test_any_failed_child_gives_too_complex(monkeypatch, status):
    monkeypatch.setattr(pdf_sandbox, "run_isolated", lambda *a, **k: pdf_sandbox.ChildOutcome(status=status))
    result = pdf_sandbox.review_pdf_isolated_sync(pdf("good_draft", "ua"), "ua")
    assert result.problem == "too_complex" and result.size_bytes == len(pdf("good_draft", "ua"))


def test_too_large_is_refused_without_starting_a_child(monkeypatch):
    def no_child(*args, **kwargs):
        raise AssertionError("no child process for a file over the size limit")

    monkeypatch.setattr(pdf_sandbox, "run_isolated", no_child)
    assert pdf_sandbox.review_pdf_isolated_sync(pdf("oversized_pdf"), "ua").problem == "too_large"


async def test_async_review_runs_off_the_event_loop():
    result = await pdf_sandbox.review_pdf_isolated(pdf("flawed_draft", "ua"), "ua")
    assert result.over_limit and result.sections_missing[0] == "choix"


# --- structure of real-looking drafts (issue 16) ----------------------------------------------


def test_unstyled_unnumbered_headings_without_bookmarks_are_found():
    data = factory.paged_draft(6, heading_look="plain", numbering=False, bookmarks=False)
    result = review(data)
    assert result.headings_source == "text"
    assert result.sections_missing == () and result.sections_weak == ()
    headings = [item for item in result.outline if item.kind == "heading"]
    assert [item.parts for item in headings[:3]] == [("introduction",), ("choix",), ("contexte",)]
    assert headings[0].text == "Introduction" and headings[0].page == 2


@pytest.mark.parametrize("contents", ["plain", "leaders"])
def test_a_contents_page_with_or_without_dot_leaders_is_not_a_body_page(contents):
    result = review(factory.paged_draft(6, contents=contents, bookmarks=False))
    assert result.cover_page and result.contents_pages == 1
    assert result.body_pages == 6 and result.pages == 6 + 2 + 2
    # the contents lists every heading: the headings found are the ones of the body, from page 3
    assert min(item.page for item in result.outline) == 3


@pytest.mark.parametrize(("pages", "over"), [(7, False), (8, True)])
def test_ua_report_of_8_body_pages_is_over_moins_de_8_pages(pages, over):
    result = review(factory.paged_draft(pages, contents="leaders"))
    assert result.body_pages == pages and result.max_body_pages == 7
    assert result.over_limit is over and not result.under_limit
    assert ("reduce_pages" in result.next_steps) is over


@pytest.mark.parametrize(("pages", "verdict"), [(11, "under"), (12, "ok"), (15, "ok"), (18, "ok"), (19, "over")])
def test_stage_report_band_around_une_quinzaine(pages, verdict):
    result = review(factory.paged_draft(pages, report_type="stage"), "stage")
    assert result.body_pages == pages
    assert (result.over_limit, result.under_limit) == (verdict == "over", verdict == "under")


def test_annex_references_are_checked_against_the_annexes_present():
    result = review(factory.paged_draft(6, annexes=1))
    assert result.annex_count == 1
    from bot.domain.structure import annex_references

    assert annex_references("voir annexe 2, annexes 3 et 4 ; (annexe n° 5) ; annexes 6 à 8") == {
        "2", "3", "4", "5", "6", "7", "8"
    }


def test_a_part_with_weak_evidence_is_not_reported_missing_and_quotes_the_closest_passage():
    from bot.domain.structure import Line, analyse

    text = [
        Line("Introduction", 14, True),
        Line("Ce rapport présente ma pratique ; je présenterai d'abord le choix, puis l'analyse.", 11),
        Line("Mon rôle", 14, True),
        Line("La directrice m'a confié la responsabilité du projet et une large autonomie de décision.", 11),
        Line("Un détail", 14, True),
        Line("Un problème de salle, une absence : il a fallu s'adapter.", 11),
    ]
    structure = analyse([text], [])
    assert structure.evidence["role"].status == "heading"
    weak = structure.evidence["difficultes"]
    assert weak.status == "weak" and weak.quote == "Un problème de salle, une absence : il a fallu s'adapter."
    assert structure.evidence["questions"].status == "missing"


@pytest.mark.parametrize(
    ("type_id", "pages", "over", "under"),
    [("ua", 7, False, False), ("ua", 8, True, False), ("stage", 15, False, False), ("stage", 11, False, True)],
)
def test_page_limit_at_exactly_8_and_15_pages(type_id, pages, over, under):
    # UA: "rapport de moins de 8 pages" (8 is over); stage: "d'une quinzaine de pages" (15 is fine).
    result = review(factory.text_pdf(pages), type_id)
    assert (result.body_pages, result.over_limit, result.under_limit) == (pages, over, under)
