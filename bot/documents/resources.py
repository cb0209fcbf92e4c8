"""The /ressources content (``prompts/resources/resources.toml``) and its downloadable .docx."""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from docx import Document

from bot.documents.plan import load_labels
from bot.documents.properties import set_french, set_properties
from bot.domain.report import Catalogue, CatalogueError, Criterion
from bot.paths import PROMPTS_DIR, TEMPLATES_DIR

NOTE_STYLE = "Coach note"


@dataclass(frozen=True)
class ResourcePage:
    id: str
    title: str
    intro: str
    items: tuple[str, ...]
    outro: str
    from_grid: bool


@dataclass(frozen=True)
class Resources:
    document_title: str
    document_filename: str
    outline_title: str
    pages: tuple[ResourcePage, ...]

    def page(self, page_id: str) -> ResourcePage:
        for page in self.pages:
            if page.id == page_id:
                return page
        raise KeyError(page_id)


def load_resources(prompts_dir: Path = PROMPTS_DIR) -> Resources:
    path = prompts_dir / "resources" / "resources.toml"
    try:
        with path.open("rb") as handle:
            doc = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc
    pages = tuple(
        ResourcePage(
            id=p["id"],
            title=p["title"],
            intro=p.get("intro", ""),
            items=tuple(p.get("items", ())),
            outro=p.get("outro", ""),
            from_grid=bool(p.get("from_grid", False)),
        )
        for p in doc["pages"]
    )
    if len({p.id for p in pages}) != len(pages):
        raise CatalogueError(f"{path}: duplicate page ids")
    return Resources(doc["document_title"], doc["document_filename"], doc.get("outline_title", ""), pages)


@lru_cache(maxsize=1)
def default_resources() -> Resources:
    return load_resources()


def grid_criteria(catalogue: Catalogue) -> list[Criterion]:
    return list(catalogue.grid.criteria) if catalogue.grid else []


def build_resources_docx(
    resources: Resources,
    catalogue: Catalogue,
    templates_dir: Path = TEMPLATES_DIR,
    *,
    created: datetime | None = None,
) -> bytes:
    """One document with every page of the resources space, the grid and the expected outline."""
    labels = load_labels(templates_dir)
    separator = labels["resources"]["criterion_separator"]
    document = Document(str(templates_dir / "plan" / "plan_base.docx"))
    set_french(document)
    set_properties(document, title=resources.document_title, author=labels["document"]["author"], created=created)
    document.add_paragraph(resources.document_title, style="Title")
    for page in resources.pages:
        document.add_heading(page.title, level=1)
        if page.intro:
            document.add_paragraph(page.intro)
        for item in page.items:
            document.add_paragraph(item, style="List Bullet")
        if page.from_grid:
            for criterion in grid_criteria(catalogue):
                paragraph = document.add_paragraph(style="List Bullet")
                paragraph.add_run(criterion.label).bold = True
                paragraph.add_run(separator + criterion.description)
            if catalogue.grid and catalogue.grid.source_note:
                document.add_paragraph(catalogue.grid.source_note, style=NOTE_STYLE)
        if page.outro:
            document.add_paragraph(page.outro, style=NOTE_STYLE)
    if resources.outline_title:
        document.add_heading(resources.outline_title, level=1)
        for section in catalogue.sections:
            document.add_heading(section.title, level=2)
            if section.purpose:
                document.add_paragraph(section.purpose)
            for item in section.good_answer:
                document.add_paragraph(item, style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
