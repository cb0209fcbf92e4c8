"""Rules around draft versions and the deposit: annex titles, file names, the annex check.

Pure Python, no Telegram: the handlers and services call these.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

from bot.domain.annexes import MAX_ANNEXES, clean_title
from bot.domain.pdf_review import PdfProblemError, open_pdf, pdf_limits

MAX_FILE_NAME_CHARS = 255

__all__ = ["MAX_ANNEXES", "annex_title", "check_annex", "deposit_file_name", "safe_file_name"]


def safe_file_name(name: str | None, default: str = "document.pdf") -> str:
    """The base name of what the user sent, one line, at most 255 characters."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = " ".join(base.split())
    return (base or default)[:MAX_FILE_NAME_CHARS]


def annex_title(caption: str | None, file_name: str | None) -> str:
    """The title of an annex: the caption if there is one, else the file name without extension."""
    if caption and caption.strip():
        return clean_title(caption)
    stem = PurePosixPath(safe_file_name(file_name, "")).stem
    return clean_title(re.sub(r"[_]+", " ", stem))


def deposit_file_name(display_name: str) -> str:
    """``rapport-depot-lea-bernard.pdf``: ASCII, lower case, dashes."""
    decomposed = unicodedata.normalize("NFKD", display_name)
    ascii_name = "".join(c for c in decomposed if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    return f"rapport-depot-{slug or 'auditeur'}.pdf"


def check_annex(data: bytes) -> tuple[str | None, str | None, int]:
    """(problem code or None, detected format, page count) for a PDF meant as an annex.

    Unlike a draft, an annex may be a scan: it only has to open. Run it through
    ``pdf_sandbox.run_isolated`` for untrusted bytes (module-level, so the child can import it).
    """
    try:
        with pdf_limits():
            reader = open_pdf(data)
            return None, None, len(reader.pages)
    except PdfProblemError as problem:
        return problem.code, problem.detected_format, 0
