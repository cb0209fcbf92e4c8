"""Reading an untrusted PDF's text layer: the only part of the review that parses the PDF.

Kept lean (no dataclass, no lexicon) so that a sandboxed child can import it with pypdf and nothing
else: ``coachbot review`` forks the child first and loads the rest in the parent meanwhile. Results
are plain tuples (picklable): ``extract`` returns ``("ok", outline, pages, texts)`` where ``pages``
holds, per page, ``(text, font size, bold)`` for each line, or ``("problem", code, detected format)``.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from pypdf import PdfReader

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


class PdfProblemError(Exception):
    """The bytes are not a PDF that can be read; ``code`` is one of ``PROBLEM_CODES``."""

    def __init__(self, code: str, detail: str = "", *, detected_format: str | None = None):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.detected_format = detected_format


# --------------------------------------------------------------------------------------------
# Results


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
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError
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
    from pypdf import apply_configuration

    return apply_configuration(**PYPDF_LIMITS)


def _scale(matrix: list[float]) -> float:
    return math.hypot(matrix[2], matrix[3]) or 1.0


def _page_lines(page) -> tuple[list[list], str]:
    """The page's text lines as [text, font size, bold], and the plain text."""
    lines: list[list] = [["", 0.0, False]]

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text:
            return
        base_font = str(font.get("/BaseFont", "")) if isinstance(font, dict) else ""
        effective = float(size or 0) * _scale(tm) * _scale(cm)
        bold = any(w in base_font.lower() for w in ("bold", "black", "heavy", "semibold", "demi"))
        parts = text.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append(["", 0.0, False])
            if part.strip():
                line = lines[-1]
                line[0] += part
                line[1] = max(line[1], effective)
                line[2] = line[2] or bold

    text = page.extract_text(visitor_text=visit)
    return [line for line in lines if line[0].strip()], text


def _outline_titles(reader: PdfReader) -> Iterator[tuple[str, int | None]]:
    from pypdf.errors import PyPdfError

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


# --------------------------------------------------------------------------------------------
# The review


def extract(data: bytes) -> tuple:
    """The outline and each page's lines and text, or the problem (see the module docstring)."""
    from pypdf.errors import LimitReachedError, PdfReadError, PyPdfError

    try:
        with pdf_limits():
            reader = open_pdf(data)
            try:
                outline = list(_outline_titles(reader))
            except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
                outline = []
            pages_text: list[str] = []
            pages_lines: list[list[tuple[str, float, bool]]] = []
            unreadable = 0
            for page in reader.pages:
                try:
                    lines, text = _page_lines(page)
                except LimitReachedError:
                    raise
                except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
                    lines, text = [], ""
                    unreadable += 1
                pages_lines.append([tuple(line) for line in lines])
                pages_text.append(text)
            if unreadable == len(pages_text):
                raise PdfProblemError("corrupted", "no page could be read")
            return ("ok", outline, pages_lines, pages_text)
    except PdfProblemError as problem:
        return ("problem", problem.code, problem.detected_format)
    except LimitReachedError:
        return ("problem", "too_complex", None)
    except MemoryError:
        return ("problem", "too_complex", None)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return ("problem", "corrupted", None)
