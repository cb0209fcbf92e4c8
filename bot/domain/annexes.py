"""Assembly of the deposit PDF: the report, then each annex, ready to upload to diplome.cnam.fr.

The result has one bookmark per part ("Rapport", "Annexe 1 — <title>", …) with the report's own
bookmarks kept under "Rapport", page labels (report pages 1..n, annex pages "A1-1", "A1-2", …,
"A2-1", …) so that a viewer shows where each page belongs, and the title and author metadata.
Inputs are untrusted: each one is checked like a reviewed draft (not a PDF, encrypted, corrupted,
too large, too complex) and a problem raises ``DepositError`` naming the part at fault.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject
from pypdf.errors import LimitReachedError, PyPdfError

from bot.domain.pdf_review import MAX_PDF_BYTES, PdfProblemError, open_pdf, pdf_limits

MAX_ANNEXES = 20
MAX_TITLE_CHARS = 120
MAX_DEPOSIT_BYTES = 4 * MAX_PDF_BYTES
REPORT_BOOKMARK = "Rapport"
DOCUMENT_LANGUAGE = "fr-FR"
ANNEX_BOOKMARK = "Annexe {number} — {title}"
ANNEX_LABEL_PREFIX = "A{number}-"

DEPOSIT_ERROR_CODES: tuple[str, ...] = (
    "encrypted",
    "corrupted",
    "not_pdf",
    "too_large",
    "too_complex",
    "too_many_annexes",
)


class DepositError(Exception):
    """A part cannot go into the deposit. ``part`` is "report", "annex 2" (1-based) or "deposit"."""

    def __init__(self, code: str, part: str, detail: str = ""):
        super().__init__(f"{part}: {code}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.part = part
        self.detail = detail

    @property
    def annex_number(self) -> int | None:
        return int(self.part.split()[1]) if self.part.startswith("annex ") else None


@dataclass(frozen=True)
class _Part:
    bookmark: str
    label_prefix: str
    reader: PdfReader


def clean_title(title: str) -> str:
    """One line of at most ``MAX_TITLE_CHARS`` characters (empty stays empty)."""
    text = " ".join((title or "").split())
    if len(text) > MAX_TITLE_CHARS:
        text = text[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return text


def annex_bookmark(number: int, title: str) -> str:
    """"Annexe 2 — Grille d'évaluation", or "Annexe 2" alone when the title is empty."""
    text = clean_title(title)
    return ANNEX_BOOKMARK.format(number=number, title=text) if text else f"Annexe {number}"


def _open(data: bytes, part: str) -> PdfReader:
    try:
        return open_pdf(data)
    except PdfProblemError as problem:
        raise DepositError(problem.code, part, problem.detail) from problem


def assemble_deposit(report: bytes, annexes: list[tuple[str, bytes]], *, title: str, author: str) -> bytes:
    """One PDF: the report then the annexes in the given order, with bookmarks, labels, metadata."""
    if len(annexes) > MAX_ANNEXES:
        raise DepositError("too_many_annexes", "deposit", f"{len(annexes)} > {MAX_ANNEXES}")
    total = len(report) + sum(len(data) for _, data in annexes)
    if total > MAX_DEPOSIT_BYTES:
        raise DepositError("too_large", "deposit", f"{total} bytes")
    try:
        with pdf_limits():
            parts = [_Part(REPORT_BOOKMARK, "", _open(report, "report"))]
            for number, (annex_title, data) in enumerate(annexes, start=1):
                parts.append(
                    _Part(
                        annex_bookmark(number, annex_title),
                        ANNEX_LABEL_PREFIX.format(number=number),
                        _open(data, f"annex {number}"),
                    )
                )
            return _write(parts, title=title, author=author)
    except DepositError:
        raise
    except LimitReachedError as exc:
        raise DepositError("too_complex", "deposit", str(exc)) from exc
    except MemoryError as exc:
        raise DepositError("too_complex", "deposit", "out of memory") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise DepositError("corrupted", "deposit", f"{type(exc).__name__}: {exc}") from exc


def _write(parts: list[_Part], *, title: str, author: str) -> bytes:
    writer = PdfWriter()
    ranges: list[tuple[int, int, str]] = []
    for index, part in enumerate(parts):
        first = len(writer.pages)
        # The report keeps its own bookmarks (nested under "Rapport"); an annex's would only clutter.
        writer.append(part.reader, outline_item=part.bookmark, import_outline=index == 0)
        ranges.append((first, len(writer.pages) - 1, part.label_prefix))
    for first, last, prefix in ranges:
        if prefix:
            writer.set_page_label(first, last, style="/D", prefix=prefix, start=1)
        else:
            writer.set_page_label(first, last, style="/D", start=1)
    writer.add_metadata(
        {
            "/Title": " ".join(title.split()),
            "/Author": " ".join(author.split()),
            "/Creator": "coachbot",
            "/Producer": "coachbot (pypdf)",
        }
    )
    writer.page_mode = "/UseOutlines"
    writer._root_object[NameObject("/Lang")] = TextStringObject(DOCUMENT_LANGUAGE)  # screen readers, search
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
