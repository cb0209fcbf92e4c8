"""The /plan document: an editable skeleton of the report, as .docx and as Markdown.

The official outline becomes real Word headings (Heading 1 for the parts, Heading 2 for the
sections inside a part), each followed by the page budget of the section, the auditeur's notes and,
as a Word comment on the heading, the guiding questions. The wording comes from
``templates/plan/labels.toml`` and the catalogue; the styles from ``templates/plan/plan_base.docx``.
"""

from __future__ import annotations

import io
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from docx import Document
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.documents.properties import set_french, set_properties
from bot.domain.report import Catalogue, Section
from bot.paths import TEMPLATES_DIR

PLAN_DIR = TEMPLATES_DIR / "plan"
BASE_DOCX = PLAN_DIR / "plan_base.docx"
NOTE_STYLE = "Coach note"
BUDGET_STYLE = "Coach budget"


@dataclass(frozen=True)
class OutlineEntry:
    level: int  # 1 = Heading 1, 2 = Heading 2
    title: str
    section: Section | None  # None for a part heading


@lru_cache(maxsize=4)
def load_labels(templates_dir: Path = TEMPLATES_DIR) -> dict:
    with (templates_dir / "plan" / "labels.toml").open("rb") as handle:
        return tomllib.load(handle)


def outline(catalogue: Catalogue) -> list[OutlineEntry]:
    """The headings of the report in order: a part once, then its sections one level below."""
    entries: list[OutlineEntry] = []
    current_part: str | None = None
    for section in catalogue.sections:
        if section.part is None:
            current_part = None
            entries.append(OutlineEntry(1, section.title, section))
            continue
        if section.part != current_part:
            current_part = section.part
            entries.append(OutlineEntry(1, catalogue.part(section.part).title, None))
        entries.append(OutlineEntry(2, section.title, section))
    return entries


def _pages(pages: float) -> str:
    return f"{pages:g}".replace(".", ",")


def budget_line(catalogue: Catalogue, report_type: str, section: Section, labels: dict) -> str:
    pages = catalogue.report_type(report_type).pages_for(section.id)
    if not pages:
        return labels["plan"]["no_budget"]
    return labels["plan"]["budget"].format(pages=_pages(pages), words=catalogue.target_words(report_type, section.id))


def build_plan_docx(
    catalogue: Catalogue,
    report_type: str,
    notes: Mapping[str, Sequence[str]],
    templates_dir: Path = TEMPLATES_DIR,
    *,
    created: datetime | None = None,
) -> bytes:
    """The skeleton as .docx bytes: headings in the expected order, budget, notes, questions as comments.

    Tagged French on every style, with a title, an author and `created` (the service clock) as dates.
    """
    labels = load_labels(templates_dir)
    kind = catalogue.report_type(report_type)
    document = Document(str(templates_dir / "plan" / "plan_base.docx"))
    set_french(document)
    set_properties(document, title=kind.label, author=labels["document"]["author"], created=created)
    document.add_paragraph(kind.label, style="Title")
    document.add_paragraph(labels["plan"]["subtitle"].format(limit=kind.limit_wording), style=NOTE_STYLE)
    document.add_paragraph(labels["plan"]["intro"], style=NOTE_STYLE)
    for entry in outline(catalogue):
        heading = document.add_heading(entry.title, level=entry.level)
        section = entry.section
        if section is None:
            continue
        document.add_paragraph(budget_line(catalogue, report_type, section, labels), style=BUDGET_STYLE)
        if section.purpose:
            document.add_paragraph(labels["plan"]["purpose"].format(purpose=section.purpose), style=NOTE_STYLE)
        if section.questions:
            comment = document.add_comment(
                heading.runs,
                text=labels["plan"]["questions_title"],
                author=labels["plan"]["comment_author"],
                initials=labels["plan"]["comment_initials"],
            )
            for question in section.questions:
                comment.add_paragraph(f"• {question.text}")
        section_notes = [n.strip() for n in notes.get(section.id, ()) if n.strip()]
        for note in section_notes:
            document.add_paragraph(note)
        if not section_notes:
            document.add_paragraph(labels["plan"]["empty"], style=NOTE_STYLE)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


_MD_LINE_START = re.compile(r"^(\s*)([#>*+\-]|\d+[.)]|```|\|)", re.MULTILINE)
_MD_INLINE = re.compile(r"([\\`*_\[\]<>])")


def escape_markdown(text: str) -> str:
    """Keep the auditeur's notes as plain text inside the Markdown outline."""
    text = _MD_INLINE.sub(r"\\\1", text)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def build_plan_markdown(
    catalogue: Catalogue,
    report_type: str,
    notes: Mapping[str, Sequence[str]],
    templates_dir: Path = TEMPLATES_DIR,
) -> str:
    labels = load_labels(templates_dir)
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = escape_markdown
    entries = [
        {
            "level": entry.level,
            "title": entry.title,
            "section": entry.section,
            "budget": budget_line(catalogue, report_type, entry.section, labels) if entry.section else "",
            "notes": [n.strip() for n in notes.get(entry.section.id, ()) if n.strip()] if entry.section else [],
        }
        for entry in outline(catalogue)
    ]
    kind = catalogue.report_type(report_type)
    return env.get_template("plan/plan.md.j2").render(kind=kind, labels=labels["plan"], entries=entries)


def plan_filename(report_type: str, markdown: bool = False, templates_dir: Path = TEMPLATES_DIR) -> str:
    key = "markdown_filename" if markdown else "filename"
    return load_labels(templates_dir)["plan"][key].format(type=report_type)
