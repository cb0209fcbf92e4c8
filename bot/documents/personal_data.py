"""The copy of a person's data: a readable .docx (French, from ``templates/personal_data/export.md.j2``)
and the same data as JSON.

The template writes simple lines: ``# `` and ``## `` are headings, ``- `` bullets, anything else a
paragraph; this module turns them into Word paragraphs with real heading and list styles.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from typing import Any

from docx import Document

from bot.domain.experience import ExperienceContent
from bot.domain.report import Catalogue
from bot.telegram.rendering import Renderer

_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
_ISO_DAY = re.compile(r"^\d{4}-\d\d-\d\d$")


def _with_datetimes(value: Any) -> Any:
    """The export's ISO timestamps back to datetimes, for the template's date filters."""
    if isinstance(value, str) and (_ISO.match(value) or _ISO_DAY.match(value)):
        try:
            return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _with_datetimes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_datetimes(v) for v in value]
    return value


def export_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")


def export_text(
    data: dict[str, Any], renderer: Renderer, catalogue: Catalogue, experience: ExperienceContent | None = None,
    **context: Any,
) -> str:
    titles = {
        "sections": {s.id: s.title for s in catalogue.sections},
        "questions": {f"{s.id}/{q.id}": q.text for s in catalogue.sections for q in s.questions},
        "experience": {q.id: q.text for q in experience.questions} if experience else {},
        "experience_answers": (
            {**experience.answer_labels, **{f"{q.id}/{c.value}": c.label for q in experience.questions for c in q.choices}}
            if experience
            else {}
        ),
        "reasons": dict(experience.reasons) if experience else {},
    }
    return renderer.render("personal_data/export.md.j2", data=_with_datetimes(data), titles=titles, **context)


def export_docx(text: str) -> bytes:
    document = Document()
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            continue
        if line.startswith("## "):
            document.add_heading(line[3:], level=2)
        elif line.startswith("# "):
            document.add_heading(line[2:], level=1)
        elif line.startswith("- "):
            document.add_paragraph(line[2:], style="List Bullet")
        else:
            document.add_paragraph(line)
    document.core_properties.title = text.splitlines()[0].lstrip("# ") if text else ""
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
