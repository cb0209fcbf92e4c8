"""Review of a report draft sent as a PDF: pages against the limit, words, sections, annexes.

Pure: bytes in, a ``PdfReview`` out. Untrusted input is bounded here by pypdf's own limits (a
tighter ``pypdf.Configuration`` applied for the duration of the review) and by the size check; the
wall-clock timeout and the memory cap live in ``pdf_sandbox``, which runs this in a child process.

Headings are recognised from the outline (bookmarks) and from the text, where a line counts as a
heading when it starts with a known variant (``prompts/report/headings.toml``) and looks like a
heading: set in a larger or bold font, numbered ("2.", "II -", "2.3"), or nothing but the heading.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import tomllib
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from pypdf import PdfReader, apply_configuration
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError, PyPdfError

from bot.domain.report import SECTION_IDS, Catalogue, ReportType
from bot.paths import PROMPTS_DIR

MAX_PDF_BYTES = 20 * 1024 * 1024
"""Largest file reviewed or assembled (20 MiB); check Telegram's ``file_size`` against it first."""

PROBLEM_CODES: tuple[str, ...] = ("encrypted", "corrupted", "not_pdf", "no_text", "too_large", "too_complex")

# pypdf limits for untrusted drafts: a report of 15-40 pages never comes near them.
PYPDF_LIMITS: dict[str, int] = {
    "zlib_maximum_output_length": 16_000_000,
    "lzw_maximum_output_length": 16_000_000,
    "run_length_maximum_output_length": 16_000_000,
    "brotli_maximum_output_length": 16_000_000,
    "array_based_stream_maximum_output_length": 16_000_000,
    "zlib_maximum_recovery_input_length": 2_000_000,
    "maximum_declared_stream_length": 25_000_000,
    "stream_decoding_work_maximum_length": 40_000_000,
    "image_maximum_buffer_size": 16_000_000,
    "stream_parsing_work_maximum_count": 1_000_000,
    "outline_maximum_entries": 2_000,
    "outline_maximum_depth": 10,
    "page_tree_maximum_entries": 5_000,
    "page_tree_maximum_depth": 20,
    "xform_maximum_invocations_per_extraction": 500,
}
MAX_PAGES = 300
"""More pages than any report plus annexes: reviewing them would only burn time."""

MIN_WORDS = 50
"""Below this a PDF is treated as a scan (image pages without a text layer)."""

HEADING_MAX_WORDS = 14
STYLED_SIZE_RATIO = 1.15
NEXT_STEPS_COUNT = 3


class PdfProblemError(Exception):
    """The bytes are not a PDF that can be read; ``code`` is one of ``PROBLEM_CODES``."""

    def __init__(self, code: str, detail: str = "", *, detected_format: str | None = None):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.detected_format = detected_format


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class PdfReview:
    """What the review found. Sections are ids, in catalogue order; next steps are codes."""

    report_type: str
    sha256: str
    size_bytes: int
    page_limit: int
    problem: str | None = None
    detected_format: str | None = None  # for ``not_pdf``: word, odt, image, text, zip, unknown
    pages: int = 0
    body_pages: int = 0  # pages before the annexes: the ones the limit counts
    over_limit: bool = False
    words: int = 0  # words of the body (annexes excluded)
    sections_found: tuple[str, ...] = ()
    sections_missing: tuple[str, ...] = ()
    sections_in_order: bool = True
    headings_source: str = "none"  # outline, text, outline+text or none
    annexes: bool = False
    annex_count: int = 0
    next_steps: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("sections_found", "sections_missing", "next_steps"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PdfReview:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("sections_found", "sections_missing", "next_steps"):
            values[key] = tuple(values.get(key, ()))
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


# --------------------------------------------------------------------------------------------
# Headings


_NUMBERING = re.compile(
    r"^(?:(?:partie|chapitre|section)\s+)?"
    r"(?:\d+(?:\s*\.\s*\d+)*\s*[.)\-–—:/]?|[ivxlc]+\s*[.)\-–—:/]|[a-h]\s*[.)\-–—:/])\s*(?:[-–—:.]\s*)?"
)
_LEADING_ARTICLES = frozenset({"le", "la", "les", "l", "mon", "ma", "mes", "notre", "nos", "un", "une", "des", "du"})
_TOC_LEADER = re.compile(r"(?:\.{3,}|…+|_{3,}|\s{2,}|\t)\s*\d+\s*$")
_ANNEX_LABEL = re.compile(r"^annexes?\s+(\d+|[ivxlc]+|[a-z])\b")
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def _plain(text: str) -> str:
    """Lower case without accents, spaces collapsed; punctuation kept (numbering needs it)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "oe"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


def fold(text: str) -> str:
    """Lower case, accents and punctuation removed, spaces collapsed: "L’Acte n°2" -> "l acte n 2"."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", _plain(text)).split())


def _strip_numbering(plain: str) -> tuple[str, bool]:
    """Remove a leading "1.", "2.3 -", "II)", "A." or "Partie 2 :" from an already _plain() line."""
    match = _NUMBERING.match(plain)
    if not match or match.end() == 0:
        return plain, False
    rest = plain[match.end():].strip()
    if not rest or not rest[0].isalpha():
        return plain, False
    return rest, True


def _drop_articles(words: list[str]) -> list[str]:
    while words and words[0] in _LEADING_ARTICLES:
        words = words[1:]
    return words


@dataclass(frozen=True)
class HeadingMatcher:
    """Recognises section headings from their variants (see ``prompts/report/headings.toml``)."""

    variants: dict[str, tuple[tuple[str, ...], ...]]  # section id -> variants as word tuples
    toc_markers: frozenset[str] = field(default_factory=frozenset)

    def match(self, line: str) -> tuple[str | None, bool, bool]:
        """(section id or None, was numbered, is exactly the variant) for one line of text."""
        plain = _plain(line)
        if not plain:
            return None, False, False
        rest, numbered = _strip_numbering(plain)
        words = _drop_articles(fold(rest).split())
        if not words or len(words) > HEADING_MAX_WORDS:
            return None, numbered, False
        best: tuple[int, str] | None = None
        exact = False
        for section_id, section_variants in self.variants.items():
            for variant in section_variants:
                if tuple(words[: len(variant)]) == variant and (best is None or len(variant) > best[0]):
                    best = (len(variant), section_id)
                    exact = len(variant) == len(words)
        return (best[1] if best else None), numbered, exact

    def is_toc_marker(self, line: str) -> bool:
        return " ".join(_drop_articles(fold(line).split())) in self.toc_markers


def load_heading_matcher(path: Path = PROMPTS_DIR / "report" / "headings.toml") -> HeadingMatcher:
    with path.open("rb") as handle:
        doc = tomllib.load(handle)
    variants: dict[str, tuple[tuple[str, ...], ...]] = {}
    for section_id, texts in doc.get("variants", {}).items():
        if section_id not in SECTION_IDS:
            raise ValueError(f"{path}: unknown section id {section_id!r}")
        variants[section_id] = tuple(
            tuple(_drop_articles(fold(t).split())) for t in texts if fold(t)
        )
    missing = set(SECTION_IDS) - set(variants)
    if missing:
        raise ValueError(f"{path}: no heading variants for {sorted(missing)}")
    markers = frozenset(fold(m) for m in doc.get("table_of_contents", {}).get("markers", []))
    return HeadingMatcher(variants=variants, toc_markers=markers)


@lru_cache(maxsize=1)
def default_heading_matcher() -> HeadingMatcher:
    return load_heading_matcher()


# --------------------------------------------------------------------------------------------
# Reading the PDF


def sniff_format(data: bytes) -> str:
    """What a file is, from its first bytes: pdf, word, odt, zip, image, text or unknown."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        if b"word/" in data[:200_000]:
            return "word"
        if b"opendocument" in data[:200]:
            return "odt"
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") or head.startswith(b"{\\rtf"):
        return "word"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")) or head[4:12] in (
        b"ftypheic",
        b"ftypmif1",
    ):
        return "image"
    try:
        sample = head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown"
    printable = sum(c.isprintable() or c in "\r\n\t" for c in sample)
    return "text" if sample and printable / len(sample) > 0.95 else "unknown"


def open_pdf(data: bytes) -> PdfReader:
    """A reader over ``data`` (decrypted if it only has an owner password), or ``PdfProblemError``.

    Call it inside ``pdf_limits()`` so that parsing is bounded too.
    """
    if len(data) > MAX_PDF_BYTES:
        raise PdfProblemError("too_large", f"{len(data)} bytes")
    detected = sniff_format(data)
    if detected != "pdf":
        raise PdfProblemError("not_pdf", detected, detected_format=detected)
    if b"%%EOF" not in data[-4096:]:
        raise PdfProblemError("corrupted", "no end-of-file marker: the file is incomplete")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except (PyPdfError, NotImplementedError, ValueError) as exc:
                raise PdfProblemError("encrypted", str(exc)) from exc
            if not unlocked:
                raise PdfProblemError("encrypted", "a password is needed to open it")
        page_count = len(reader.pages)
    except PdfProblemError:
        raise
    except LimitReachedError as exc:
        raise PdfProblemError("too_complex", str(exc)) from exc
    except FileNotDecryptedError as exc:
        raise PdfProblemError("encrypted", str(exc)) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise PdfProblemError("corrupted", f"{type(exc).__name__}: {exc}") from exc
    if page_count == 0:
        raise PdfProblemError("corrupted", "no pages")
    if page_count > MAX_PAGES:
        raise PdfProblemError("too_complex", f"{page_count} pages")
    return reader


def pdf_limits():
    """Context manager applying ``PYPDF_LIMITS`` to pypdf for the current context."""
    return apply_configuration(**PYPDF_LIMITS)


@dataclass
class _Line:
    text: str = ""
    size: float = 0.0
    bold: bool = False


def _scale(matrix: list[float]) -> float:
    return math.hypot(matrix[2], matrix[3]) or 1.0


def _page_lines(page) -> tuple[list[_Line], str]:
    """The page's text lines with the font size and boldness of each, and the plain text."""
    lines: list[_Line] = [_Line()]

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text:
            return
        base_font = str(font.get("/BaseFont", "")) if isinstance(font, dict) else ""
        effective = float(size or 0) * _scale(tm) * _scale(cm)
        bold = any(w in base_font.lower() for w in ("bold", "black", "heavy", "semibold", "demi"))
        parts = text.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append(_Line())
            if part.strip():
                line = lines[-1]
                line.text += part
                line.size = max(line.size, effective)
                line.bold = line.bold or bold

    text = page.extract_text(visitor_text=visit)
    return [line for line in lines if line.text.strip()], text


@dataclass
class _Scan:
    found: dict[str, int] = field(default_factory=dict)  # section id -> first page index
    order: list[str] = field(default_factory=list)
    annex_start: int | None = None
    annex_labels: set[str] = field(default_factory=set)


def _outline_titles(reader: PdfReader) -> Iterator[tuple[str, int | None]]:
    stack: list[Any] = [reader.outline]
    seen = 0
    while stack and seen < PYPDF_LIMITS["outline_maximum_entries"]:
        item = stack.pop(0)
        if isinstance(item, list):
            stack[:0] = item
            continue
        seen += 1
        title = str(getattr(item, "title", "") or "")
        try:
            page_index = reader.get_destination_page_number(item)
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            page_index = None
        yield title, page_index


def _record(scan: _Scan, section_id: str, page_index: int, title: str, body_starts_here: bool) -> None:
    if section_id not in scan.found:
        scan.found[section_id] = page_index
        scan.order.append(section_id)
    if section_id == "annexes":
        label = _ANNEX_LABEL.match(fold(title))
        if label:
            scan.annex_labels.add(label.group(1))
        start = page_index if body_starts_here else page_index + 1
        if scan.annex_start is None or start < scan.annex_start:
            scan.annex_start = max(start, 1)


# --------------------------------------------------------------------------------------------
# The review


def review_pdf(
    data: bytes,
    report_type: ReportType,
    catalogue: Catalogue,
    *,
    headings: HeadingMatcher | None = None,
) -> PdfReview:
    """Review a draft. Never raises for a bad file: the problem is in ``PdfReview.problem``."""
    headings = headings or default_heading_matcher()
    try:
        with pdf_limits():
            reader = open_pdf(data)
            return _review_reader(reader, data, report_type, catalogue, headings)
    except PdfProblemError as problem:
        return PdfReview.for_problem(data, report_type, problem.code, detected_format=problem.detected_format)
    except LimitReachedError:
        return PdfReview.for_problem(data, report_type, "too_complex")
    except MemoryError:
        return PdfReview.for_problem(data, report_type, "too_complex")
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return PdfReview.for_problem(data, report_type, "corrupted")


def _review_reader(
    reader: PdfReader, data: bytes, report_type: ReportType, catalogue: Catalogue, headings: HeadingMatcher
) -> PdfReview:
    scan = _Scan()
    outline_used = False
    try:
        outline = list(_outline_titles(reader))
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        outline = []
    for title, page_index in outline:
        section_id, _, _ = headings.match(title)
        if section_id is not None:
            outline_used = True
            # A bookmark points at the heading; with no text check we assume the heading may share
            # the page with the end of the previous section.
            _record(scan, section_id, page_index if page_index is not None else 0, title, body_starts_here=False)

    pages_text: list[str] = []
    pages_lines: list[list[_Line]] = []
    unreadable = 0
    for page in reader.pages:
        try:
            lines, text = _page_lines(page)
        except LimitReachedError:
            raise
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
            lines, text = [], ""
            unreadable += 1
        pages_lines.append(lines)
        pages_text.append(text)
    if unreadable == len(pages_text):
        raise PdfProblemError("corrupted", "no page could be read")

    all_words = sum(len(_WORD.findall(t)) for t in pages_text)
    if all_words < MIN_WORDS:
        return PdfReview.for_problem(data, report_type, "no_text", pages=len(pages_text))

    text_used = _scan_text_headings(pages_lines, headings, scan)

    pages = len(pages_text)
    body_pages = pages if scan.annex_start is None else min(pages, scan.annex_start)
    words = sum(len(_WORD.findall(t)) for t in pages_text[:body_pages])
    found = tuple(s.id for s in catalogue.sections if s.id in scan.found)
    missing = tuple(s.id for s in catalogue.sections if s.id not in scan.found)
    order_index = {s.id: i for i, s in enumerate(catalogue.sections)}
    in_order = [order_index[s] for s in scan.order if s in order_index] == sorted(
        order_index[s] for s in scan.order if s in order_index
    )
    source = "+".join(name for name, used in (("outline", outline_used), ("text", text_used)) if used) or "none"
    review = PdfReview(
        report_type=report_type.id,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        page_limit=report_type.page_limit,
        pages=pages,
        body_pages=body_pages,
        over_limit=body_pages > report_type.page_limit,
        words=words,
        sections_found=found,
        sections_missing=missing,
        sections_in_order=in_order,
        headings_source=source,
        annexes="annexes" in scan.found,
        annex_count=len(scan.annex_labels),
    )
    steps = next_steps(review, catalogue, has_outline=bool(outline))
    return replace(review, next_steps=steps)


def _scan_text_headings(pages_lines: list[list[_Line]], headings: HeadingMatcher, scan: _Scan) -> bool:
    sizes: Counter[float] = Counter()
    for lines in pages_lines:
        for line in lines:
            sizes[round(line.size, 1)] += len(line.text)
    body_size = sizes.most_common(1)[0][0] if sizes else 0.0
    used = False
    for page_index, lines in enumerate(pages_lines):
        if any(headings.is_toc_marker(line.text) for line in lines[:5]):
            continue  # a table of contents lists every heading: it proves nothing
        for line_index, line in enumerate(lines):
            if _TOC_LEADER.search(line.text) or line.text.rstrip().endswith((",", ";")):
                continue
            section_id, numbered, exact = headings.match(line.text)
            if section_id is None:
                continue
            styled = line.bold or (body_size > 0 and line.size >= body_size * STYLED_SIZE_RATIO)
            if styled or numbered or exact:
                used = True
                _record(scan, section_id, page_index, line.text, body_starts_here=line_index == 0)
    return used


def next_steps(review: PdfReview, catalogue: Catalogue, *, has_outline: bool) -> tuple[str, ...]:
    """The three most useful things to work on next, as codes (wording in templates/review)."""
    candidates: list[str] = []
    if review.over_limit:
        candidates.append("reduce_pages")
    candidates.extend(f"add_section:{s}" for s in review.sections_missing if s != "annexes")
    if not review.annexes:
        candidates.append("add_annexes")
    budget_words = catalogue.words_per_page * review.page_limit
    if review.words < budget_words * 0.5:
        candidates.append("expand_text")
    if not review.sections_in_order:
        candidates.append("reorder_sections")
    if not has_outline:
        candidates.append("use_heading_styles")
    candidates.extend(("proofread", "ask_tutor_feedback", "assemble_deposit"))
    return tuple(candidates[:NEXT_STEPS_COUNT])


NEXT_STEP_CODES: tuple[str, ...] = (
    "reduce_pages",
    *(f"add_section:{s}" for s in SECTION_IDS if s != "annexes"),
    "add_annexes",
    "expand_text",
    "reorder_sections",
    "use_heading_styles",
    "proofread",
    "ask_tutor_feedback",
    "assemble_deposit",
)
"""Every code ``next_steps`` can return; the wording file must cover them all."""
