"""The report catalogue: report types, their page budgets and the sections in official order.

The catalogue is data (``prompts/report/*.toml``) so that staff can change the wording without
touching Python; this module only loads and validates it. Section ids are stable identifiers used
in file names, the PDF review JSON and the database.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.domain.ids import REPORT_TYPE_IDS, SECTION_IDS  # noqa: F401 - the catalogue ids, re-exported
from bot.paths import PROMPTS_DIR


class CatalogueError(ValueError):
    """The content files in prompts/ are inconsistent; raised at load time, never mid-conversation."""


@dataclass(frozen=True)
class ReportType:
    id: str
    label: str
    short_label: str
    page_limit: int
    limit_wording: str
    budget: dict[str, float]  # section id -> target pages
    max_body_pages: int = 0  # most body pages accepted (UA "moins de 8 pages": 7)
    min_body_pages: int = 0  # fewest body pages before the review says the report is short

    def pages_for(self, section_id: str) -> float:
        return self.budget.get(section_id, 0.0)


@dataclass(frozen=True)
class Question:
    """A guiding question of a section, asked one at a time by the coach."""

    id: str
    text: str


@dataclass(frozen=True)
class Part:
    """A part of the outline grouping sections (Heading 1 in the plan, sections under it are Heading 2)."""

    id: str
    title: str


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    purpose: str = ""
    part: str | None = None
    good_answer: tuple[str, ...] = ()
    questions: tuple[Question, ...] = ()
    checks: tuple[str, ...] = ()

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)


@dataclass(frozen=True)
class Criterion:
    """A criterion of the evaluation grid and the sections where it is mainly assessed."""

    id: str
    label: str
    description: str
    sections: tuple[str, ...]


@dataclass(frozen=True)
class Grid:
    title: str
    intro: str
    verdicts: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    source: str = "bot"  # "bot": the project's working grid; "certifier": the certifier's own grid
    source_note: str = ""  # said wherever the criteria are shown

    @property
    def is_certifiers(self) -> bool:
        return self.source == "certifier"

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)

    def criteria_for(self, section_id: str) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if section_id in c.sections)


@dataclass(frozen=True)
class Catalogue:
    words_per_page: int
    report_types: dict[str, ReportType]
    sections: tuple[Section, ...]
    parts: tuple[Part, ...] = ()
    grid: Grid | None = None

    def section(self, section_id: str) -> Section:
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def report_type(self, type_id: str) -> ReportType:
        return self.report_types[type_id]

    def part(self, part_id: str) -> Part:
        for part in self.parts:
            if part.id == part_id:
                return part
        raise KeyError(part_id)

    def target_words(self, type_id: str, section_id: str) -> int:
        """Words aimed at for a section of a report type (page budget x words per page)."""
        return round(self.report_type(type_id).pages_for(section_id) * self.words_per_page)


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc


def load_catalogue(prompts_dir: Path = PROMPTS_DIR) -> Catalogue:
    types_doc = _read_toml(prompts_dir / "report" / "types.toml")
    sections_doc = _read_toml(prompts_dir / "report" / "sections.toml")

    parts = tuple(Part(id=p["id"], title=p["title"]) for p in sections_doc.get("parts", []))
    sections = tuple(_section_from(spec, {p.id for p in parts}) for spec in sections_doc.get("sections", []))
    ids = tuple(s.id for s in sections)
    if ids != SECTION_IDS:
        raise CatalogueError(f"sections.toml must list the sections {SECTION_IDS} in order, found {ids}")

    report_types: dict[str, ReportType] = {}
    for type_id, spec in types_doc.get("types", {}).items():
        budget = {k: float(v) for k, v in spec.get("budget", {}).items()}
        unknown = set(budget) - set(SECTION_IDS)
        if unknown:
            raise CatalogueError(f"types.{type_id}.budget names unknown sections {sorted(unknown)}")
        if sum(budget.values()) > spec["page_limit"]:
            raise CatalogueError(f"types.{type_id}: the section budgets exceed the page limit")
        report_types[type_id] = ReportType(
            id=type_id,
            label=spec["label"],
            short_label=spec["short_label"],
            page_limit=int(spec["page_limit"]),
            limit_wording=spec["limit_wording"],
            budget=budget,
            max_body_pages=int(spec.get("max_body_pages", spec["page_limit"])),
            min_body_pages=int(spec.get("min_body_pages", 0)),
        )
    if tuple(sorted(report_types)) != tuple(sorted(REPORT_TYPE_IDS)):
        raise CatalogueError(f"types.toml must define exactly {REPORT_TYPE_IDS}")
    grid_path = prompts_dir / "report" / "grid.toml"
    grid = _grid_from(_read_toml(grid_path)) if grid_path.exists() else None
    return Catalogue(
        words_per_page=int(types_doc.get("words_per_page", 450)),
        report_types=report_types,
        sections=sections,
        parts=parts,
        grid=grid,
    )


def _section_from(spec: dict, part_ids: set[str]) -> Section:
    questions = tuple(Question(id=q["id"], text=q["text"]) for q in spec.get("questions", []))
    question_ids = [q.id for q in questions]
    if len(set(question_ids)) != len(question_ids):
        raise CatalogueError(f"section {spec.get('id')}: duplicate question ids {question_ids}")
    part = spec.get("part")
    if part is not None and part not in part_ids:
        raise CatalogueError(f"section {spec.get('id')}: unknown part {part!r}")
    return Section(
        id=spec["id"],
        title=spec["title"],
        raw=spec,
        purpose=spec.get("purpose", ""),
        part=part,
        good_answer=tuple(spec.get("good_answer", ())),
        questions=questions,
        checks=tuple(spec.get("checks", ())),
    )


def _grid_from(doc: dict) -> Grid:
    criteria = tuple(
        Criterion(id=c["id"], label=c["label"], description=c["description"], sections=tuple(c.get("sections", ())))
        for c in doc.get("criteria", [])
    )
    for criterion in criteria:
        unknown = set(criterion.sections) - set(SECTION_IDS)
        if unknown:
            raise CatalogueError(f"grid criterion {criterion.id} names unknown sections {sorted(unknown)}")
    if len({c.id for c in criteria}) != len(criteria):
        raise CatalogueError("grid.toml: duplicate criterion ids")
    source = doc.get("source", "bot")
    if source not in ("bot", "certifier"):
        raise CatalogueError(f"grid.toml: source must be 'bot' or 'certifier', not {source!r}")
    return Grid(
        title=doc.get("title", ""),
        intro=doc.get("intro", ""),
        verdicts=tuple(doc.get("verdicts", ())),
        criteria=criteria,
        source=source,
        source_note=doc.get("source_notes", {}).get(source, ""),
    )


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return load_catalogue()
