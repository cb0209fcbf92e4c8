"""Review of a report draft sent as a PDF: pages against the limit, words, sections, annexes.

Pure: bytes in, a ``PdfReview`` out. The PDF is parsed by ``bot.domain.pdf_text`` (bounded by
pypdf's own limits, a tighter ``pypdf.Configuration``, and the size check); the wall-clock timeout
and the memory cap live in ``pdf_sandbox``, which runs the parsing in a child process.

The structure (cover, contents and annex pages, headings, which part each heading and paragraph
is) is understood by meaning in ``bot.domain.structure`` from the page lines read here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from bot.domain.lexicon import strip_accents
from bot.domain.pdf_text import (  # noqa: F401 - re-exported: the review's public names
    MAX_PAGES,
    MAX_PDF_BYTES,
    PROBLEM_CODES,
    PYPDF_LIMITS,
    PdfProblemError,
    extract,
    open_pdf,
    pdf_limits,
    sniff_format,
)
from bot.domain.report import SECTION_IDS, Catalogue, ReportType
from bot.domain.structure import Evidence, Line, OutlineItem, StructureLexicon, analyse, default_structure_lexicon

MIN_WORDS = 50
"""Below this a PDF is treated as a scan (image pages without a text layer)."""

NEXT_STEPS_COUNT = 3


@dataclass(frozen=True)
class PdfReview:
    """What the review found. Sections are ids, in catalogue order; next steps are codes.

    A section is *found* (a heading names it, or a paragraph clearly shows it), *weak* (some
    passage looks like it, not clearly: the review says so and quotes it) or *missing* (neither
    headings nor content show it). ``outline`` is what the review understood, ``evidence`` why.
    """

    report_type: str
    sha256: str
    size_bytes: int
    page_limit: int
    max_body_pages: int = 0
    min_body_pages: int = 0
    problem: str | None = None
    detected_format: str | None = None  # for ``not_pdf``: word, odt, image, text, zip, unknown
    pages: int = 0
    body_pages: int = 0  # pages the limit counts: no cover, contents or annex page
    over_limit: bool = False
    under_limit: bool = False
    words: int = 0  # words of the body pages
    sections_found: tuple[str, ...] = ()
    sections_weak: tuple[str, ...] = ()
    sections_missing: tuple[str, ...] = ()
    sections_in_order: bool = True
    headings_source: str = "none"  # outline, text, outline+text or none
    annexes: bool = False
    annex_count: int = 0
    cover_page: bool = False
    contents_pages: int = 0
    annex_references: tuple[str, ...] = ()  # "voir annexe N" labels cited in the body
    annex_references_missing: tuple[str, ...] = ()  # cited but not among the annexes
    outline: tuple[OutlineItem, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    next_steps: tuple[str, ...] = ()

    _TUPLES = (
        "sections_found", "sections_weak", "sections_missing", "next_steps", "annex_references",
        "annex_references_missing",
    )

    @property
    def ok(self) -> bool:
        return self.problem is None

    def evidence_for(self, section_id: str) -> Evidence | None:
        return next((e for e in self.evidence if e.part == section_id), None)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("outline", "evidence"):
                value = [item.to_json() for item in value]
            elif isinstance(value, tuple):
                value = list(value)
            data[f.name] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PdfReview:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in cls._TUPLES:
            values[key] = tuple(values.get(key, ()))
        values["outline"] = tuple(OutlineItem.from_json(i) for i in values.get("outline", ()))
        values["evidence"] = tuple(Evidence.from_json(i) for i in values.get("evidence", ()))
        if "max_body_pages" not in data and "page_limit" in data:
            values["max_body_pages"] = data["page_limit"]  # stored before issue 16
        return cls(**values)

    @classmethod
    def for_problem(
        cls,
        data: bytes,
        report_type: ReportType,
        problem: str,
        *,
        detected_format: str | None = None,
        pages: int = 0,
    ) -> PdfReview:
        if problem not in PROBLEM_CODES:
            raise ValueError(f"unknown problem code {problem!r}")
        return cls(
            report_type=report_type.id,
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            page_limit=report_type.page_limit,
            max_body_pages=report_type.max_body_pages,
            min_body_pages=report_type.min_body_pages,
            problem=problem,
            detected_format=detected_format,
            pages=pages,
        )


@dataclass(frozen=True)
class ReviewComparison:
    """How a new version differs from the previous one."""

    same_file: bool
    pages_before: int
    pages_after: int
    words_before: int
    words_after: int
    sections_gained: tuple[str, ...]
    sections_lost: tuple[str, ...]
    was_over_limit: bool
    is_over_limit: bool

    @property
    def pages_delta(self) -> int:
        return self.pages_after - self.pages_before

    @property
    def words_delta(self) -> int:
        return self.words_after - self.words_before


def compare_reviews(previous: PdfReview, current: PdfReview) -> ReviewComparison:
    """Compare two reviews of drafts; both must be readable (no ``problem``)."""
    if previous.problem or current.problem:
        raise ValueError("only reviews without a problem can be compared")
    before, after = set(previous.sections_found), set(current.sections_found)
    return ReviewComparison(
        same_file=previous.sha256 == current.sha256,
        pages_before=previous.body_pages,
        pages_after=current.body_pages,
        words_before=previous.words,
        words_after=current.words,
        sections_gained=tuple(s for s in SECTION_IDS if s in after - before),
        sections_lost=tuple(s for s in SECTION_IDS if s in before - after),
        was_over_limit=previous.over_limit,
        is_over_limit=current.over_limit,
    )


_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def fold(text: str) -> str:
    """Lower case, accents and punctuation removed, spaces collapsed: "L’Acte n°2" -> "l acte n 2"."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", strip_accents(text).lower()).split())


# --------------------------------------------------------------------------------------------
# Reading the PDF


@dataclass
class ExtractedPdf:
    """What the review needs from a PDF: the outline and each page's lines and text (picklable)."""

    outline: list[tuple[str, int | None]]
    pages_lines: list[list[Line]]
    pages_text: list[str]


def extract_pdf(data: bytes) -> ExtractedPdf | tuple[str, str | None]:
    """The untrusted part (parsing the PDF): the text, or (problem code, detected format)."""
    return extracted_from(extract(data))


def extracted_from(result: tuple) -> ExtractedPdf | tuple[str, str | None]:
    """``pdf_text.extract``'s plain tuples as the review's types."""
    if result[0] == "problem":
        return result[1], result[2]
    _, outline, pages, texts = result
    return ExtractedPdf(
        [(str(title), page) for title, page in outline],
        [[Line(text, float(size), bool(bold)) for text, size, bold in page] for page in pages],
        list(texts),
    )


def review_pdf(
    data: bytes,
    report_type: ReportType,
    catalogue: Catalogue,
    *,
    lexicon: StructureLexicon | None = None,
) -> PdfReview:
    """Review a draft. Never raises for a bad file: the problem is in ``PdfReview.problem``."""
    return review_extracted(extract_pdf(data), data, report_type, catalogue, lexicon=lexicon)


def review_extracted(
    extracted: ExtractedPdf | tuple[str, str | None],
    data: bytes,
    report_type: ReportType,
    catalogue: Catalogue,
    *,
    lexicon: StructureLexicon | None = None,
) -> PdfReview:
    """The review of what ``extract_pdf`` returned (pure Python on bounded text: no PDF parsing)."""
    if isinstance(extracted, tuple):
        code, detected_format = extracted
        return PdfReview.for_problem(data, report_type, code, detected_format=detected_format)
    lexicon = lexicon or default_structure_lexicon()
    outline, pages_lines, pages_text = extracted.outline, extracted.pages_lines, extracted.pages_text
    all_words = sum(len(_WORD.findall(t)) for t in pages_text)
    if all_words < MIN_WORDS:
        return PdfReview.for_problem(data, report_type, "no_text", pages=len(pages_text))

    structure = analyse(pages_lines, outline, lexicon)
    pages = len(pages_text)
    body_pages = structure.body_pages
    words = sum(len(_WORD.findall(pages_text[i])) for i in structure.body_page_indexes)
    evidence = structure.evidence
    found = tuple(s.id for s in catalogue.sections if evidence[s.id].status in ("heading", "content"))
    weak = tuple(s.id for s in catalogue.sections if evidence[s.id].status == "weak")
    missing = tuple(s.id for s in catalogue.sections if evidence[s.id].status == "missing")
    order_index = {s.id: i for i, s in enumerate(catalogue.sections)}
    heading_order = [order_index[s] for s in structure.heading_order if s in order_index]
    in_order = heading_order == sorted(heading_order)
    source = "+".join(
        name for name, used in (("outline", structure.headings_from_outline), ("text", structure.headings_from_text))
        if used
    ) or "none"
    annexes_present = evidence["annexes"].status != "missing" or structure.annex_start is not None
    labels = set(structure.annex_labels)
    unresolved = tuple(label for label in structure.annex_references if label not in labels)
    review = PdfReview(
        report_type=report_type.id,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        page_limit=report_type.page_limit,
        max_body_pages=report_type.max_body_pages,
        min_body_pages=report_type.min_body_pages,
        pages=pages,
        body_pages=body_pages,
        over_limit=body_pages > report_type.max_body_pages,
        under_limit=body_pages < report_type.min_body_pages,
        words=words,
        sections_found=found,
        sections_weak=weak,
        sections_missing=missing,
        sections_in_order=in_order,
        headings_source=source,
        annexes=annexes_present,
        annex_count=len(structure.annex_labels),
        cover_page=structure.cover_page,
        contents_pages=len(structure.contents_pages),
        annex_references=structure.annex_references,
        annex_references_missing=unresolved if annexes_present or unresolved else (),
        outline=tuple(structure.outline),
        evidence=tuple(evidence[s.id] for s in catalogue.sections),
    )
    steps = next_steps(review, catalogue, has_outline=bool(outline))
    return replace(review, next_steps=steps)


def next_steps(review: PdfReview, catalogue: Catalogue, *, has_outline: bool) -> tuple[str, ...]:
    """The three most useful things to work on next, as codes (wording in templates/review)."""
    candidates: list[str] = []
    if review.over_limit:
        candidates.append("reduce_pages")
    candidates.extend(f"add_section:{s}" for s in review.sections_missing if s != "annexes")
    if review.sections_weak:
        candidates.append("clarify_sections")
    if not review.annexes:
        candidates.append("add_annexes")
    if review.annex_references_missing:
        candidates.append("fix_annex_references")
    budget_words = catalogue.words_per_page * review.page_limit
    if review.under_limit or review.words < budget_words * 0.5:
        candidates.append("expand_text")
    if not review.sections_in_order:
        candidates.append("reorder_sections")
    if not has_outline:
        candidates.append("use_heading_styles")
    candidates.extend(("proofread", "ask_tutor_feedback", "assemble_deposit"))
    return tuple(dict.fromkeys(candidates))[:NEXT_STEPS_COUNT]


NEXT_STEP_CODES: tuple[str, ...] = (
    "reduce_pages",
    *(f"add_section:{s}" for s in SECTION_IDS if s != "annexes"),
    "clarify_sections",
    "add_annexes",
    "fix_annex_references",
    "expand_text",
    "reorder_sections",
    "use_heading_styles",
    "proofread",
    "ask_tutor_feedback",
    "assemble_deposit",
)
"""Every code ``next_steps`` can return; the wording file must cover them all."""
