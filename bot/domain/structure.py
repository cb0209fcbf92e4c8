"""The structure of a draft understood by meaning: which part of the report each heading and passage is.

Pure: text lines in (with font size and boldness, per page, plus the PDF outline), a ``Structure``
out. ``pdf_review`` reads the PDF and calls ``analyse``.

How a draft is read:
- **Pages that are not the body.** A cover page (the first page, when it holds fewer than
  ``COVER_MAX_WORDS`` words and more pages follow), a contents page (among the first pages, one that
  starts with "Sommaire"/"Table des matières", or whose lines mostly end with a page number, with or
  without dot leaders) and the annexes (from the first heading "Annexe(s)…" on) are recognised and
  not counted as body pages.
- **Headings.** A line is a heading when it is short, does not end a sentence and is set apart: bold
  or larger than the body text, numbered ("2.", "II -", "2.3", "A)"), or a short line standing
  alone between sentences. Bookmarks (the PDF outline) are headings too.
- **Parts from headings** (strong evidence): the heading's content words, lemmatised, are compared
  with the words and phrases of each part in ``prompts/report/structure.toml``, in any order; one
  heading may name several parts ("Difficultés et compétences"); generic headings ("Partie 2",
  "La pratique décrite") name none.
- **Parts from paragraphs** (for headings that are absent, generic, merged or in one's own words):
  every paragraph is scored per part by the distinct lemmas it shares with the part's strong words
  and cues. A score at ``content_threshold`` shows the part; between ``weak_threshold`` and it, the
  part is "not clearly found" and the closest passage is quoted; below, with no heading either, the
  part is missing.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.domain.lexicon import Cue, Lemmatizer, cues_of, find_cues, folded_lemmas, strip_accents
from bot.domain.report import SECTION_IDS
from bot.paths import PROMPTS_DIR

COVER_MAX_WORDS = 120
CONTENTS_SEARCH_PAGES = 3
HEADING_MAX_WORDS = 14
STYLED_SIZE_RATIO = 1.15
SHORT_LINE_RATIO = 0.75
QUOTE_MAX_CHARS = 160
INTRO_PARAGRAPHS = 3  # the introduction is looked for in the first paragraphs only
CONCLUSION_PARAGRAPHS = 3  # the conclusion in the last ones
SHARE_OF_TOP = 0.6  # a paragraph shows a part only if it scores at least half its best part's score

_NUMBERING = re.compile(
    r"^\s*(?:(?:partie|chapitre|section)\s+)?"
    r"(?:\d+(?:\s*\.\s*\d+)*\s*[.)\-–—:/]?|[ivxlcIVXLC]+\s*[.)\-–—:/]|[a-hA-H]\s*[.)\-–—:/])\s*(?:[-–—:.]\s*)?",
    re.IGNORECASE,
)
_ENDS_SENTENCE = re.compile(r"[.…;,]\s*$")
_PAGE_NUMBER_END = re.compile(r"(?:\.{2,}|…+|_{2,}|\s)\s*\d{1,3}\s*$")
_ANNEX_LABEL = re.compile(r"^\s*annexes?\s+(?:n\s*[°o]\s*)?(\d+|[ivxlc]+\b|[a-z]\b)", re.IGNORECASE)
_ANNEX_REFERENCE = re.compile(
    r"\bannexes?\s*(?:n\s*[°o]\s*)?((?:\d+|[IVXLC]+\b|[A-H]\b)(?:\s*(?:,|et|à|-)\s*(?:\d+|[IVXLC]+\b|[A-H]\b))*)",
    re.IGNORECASE,
)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


@dataclass
class Line:
    text: str
    size: float = 0.0
    bold: bool = False


# --------------------------------------------------------------------------------------------
# The lexicon


@dataclass(frozen=True)
class PartLexicon:
    heading: tuple[Cue, ...]
    content: tuple[Cue, ...]  # strong words (weight 2) and cues (weight 1)


@dataclass(frozen=True)
class StructureLexicon:
    lemmatizer: Lemmatizer
    parts: dict[str, PartLexicon]
    stopwords: frozenset[str]
    generic: tuple[Cue, ...]
    contents_markers: frozenset[tuple[str, ...]]
    annex_headings: tuple[Cue, ...]
    content_threshold: float
    weak_threshold: float

    def content_lemmas(self, text: str) -> tuple[str, ...]:
        return tuple(l for l in folded_lemmas(text, self.lemmatizer) if l not in self.stopwords and len(l) > 1)


def load_structure_lexicon(
    path: Path = PROMPTS_DIR / "report" / "structure.toml", *, cache_dir: Path | None = None
) -> StructureLexicon:
    with path.open("rb") as handle:
        doc = tomllib.load(handle)
    specs = doc.get("parts", {})
    unknown = set(specs) - set(SECTION_IDS)
    if unknown or set(SECTION_IDS) - set(specs):
        raise ValueError(f"{path}: parts must be exactly the section ids {SECTION_IDS}")
    vocabulary: list[str] = [*doc.get("stopwords", []), *doc.get("generic_headings", [])]
    vocabulary += [*doc.get("contents_markers", []), *doc.get("annex_headings", [])]
    for spec in specs.values():
        for key in ("heading", "strong", "cues"):
            vocabulary += spec.get(key, [])
    lemmatizer = Lemmatizer(vocabulary, cache_dir=cache_dir)
    stopwords = frozenset(strip_accents(l) for w in doc.get("stopwords", []) for l in lemmatizer.lemmas(w))

    def content_cues(texts: list[str], weight: float = 1.0) -> tuple[Cue, ...]:
        result = []
        for cue in cues_of(texts, lemmatizer, weight):
            kept = tuple(l for l in cue.lemmas if l not in stopwords) or cue.lemmas
            result.append(Cue(cue.text, kept, weight))
        return tuple(result)

    parts = {
        section_id: PartLexicon(
            heading=content_cues(spec.get("heading", [])),
            content=cues_of(spec.get("strong", []), lemmatizer, 2.0) + cues_of(spec.get("cues", []), lemmatizer, 1.0),
        )
        for section_id, spec in specs.items()
    }
    return StructureLexicon(
        lemmatizer=lemmatizer,
        parts=parts,
        stopwords=stopwords,
        generic=content_cues(doc.get("generic_headings", [])),
        contents_markers=frozenset(c.lemmas for c in cues_of(doc.get("contents_markers", []), lemmatizer)),
        annex_headings=content_cues(doc.get("annex_headings", [])),
        content_threshold=float(doc.get("content_threshold", 5)),
        weak_threshold=float(doc.get("weak_threshold", 3)),
    )


@lru_cache(maxsize=1)
def default_structure_lexicon() -> StructureLexicon:
    return load_structure_lexicon()


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class OutlineItem:
    """One entry of the outline the review understood: a heading or a passage, its parts, its page."""

    page: int  # 1-based page of the PDF
    kind: str  # "heading" or "passage"
    text: str
    parts: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"page": self.page, "kind": self.kind, "text": self.text, "parts": list(self.parts)}

    @classmethod
    def from_json(cls, data: dict) -> OutlineItem:
        return cls(int(data["page"]), str(data["kind"]), str(data["text"]), tuple(data.get("parts", ())))


@dataclass(frozen=True)
class Evidence:
    """Why a part is considered present: status heading, content, weak (not clearly) or missing."""

    part: str
    status: str
    page: int | None = None
    quote: str | None = None
    score: float = 0.0

    def to_json(self) -> dict:
        return {"part": self.part, "status": self.status, "page": self.page, "quote": self.quote, "score": self.score}

    @classmethod
    def from_json(cls, data: dict) -> Evidence:
        return cls(data["part"], data["status"], data.get("page"), data.get("quote"), float(data.get("score", 0.0)))


@dataclass
class Structure:
    pages: int
    cover_page: bool = False
    contents_pages: tuple[int, ...] = ()  # 0-based
    annex_start: int | None = None  # 0-based page where the annexes start
    annex_labels: tuple[str, ...] = ()
    annex_references: tuple[str, ...] = ()  # "voir annexe N" labels met in the body
    outline: list[OutlineItem] = field(default_factory=list)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    heading_order: list[str] = field(default_factory=list)
    headings_from_text: bool = False
    headings_from_outline: bool = False
    body_page_indexes: tuple[int, ...] = ()

    @property
    def body_pages(self) -> int:
        return len(self.body_page_indexes)


# --------------------------------------------------------------------------------------------
# Helpers


def quote_of(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= QUOTE_MAX_CHARS:
        return text
    cut = text[:QUOTE_MAX_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def strip_numbering(text: str) -> tuple[str, bool]:
    match = _NUMBERING.match(text)
    if not match or match.end() == 0:
        return text.strip(), False
    rest = text[match.end():].strip()
    if not rest or not rest[0].isalpha():
        return text.strip(), False
    return rest, True


def normalise_label(label: str) -> str:
    label = label.strip().lower()
    if label in _ROMAN:
        return str(_ROMAN[label])
    if len(label) == 1 and label.isalpha():
        return str(ord(label) - ord("a") + 1)
    return label.lstrip("0") or "0"


def annex_references(text: str) -> set[str]:
    labels: set[str] = set()
    for match in _ANNEX_REFERENCE.finditer(text):
        span = match.group(1)
        tokens = re.findall(r"\d+|[IVXLCivxlc]+\b|[A-Ha-h]\b", span)
        if "à" in span or "-" in span:
            numbers = [int(normalise_label(t)) for t in tokens if normalise_label(t).isdigit()]
            if len(numbers) == 2 and 0 < numbers[1] - numbers[0] < 20:
                labels.update(str(n) for n in range(numbers[0], numbers[1] + 1))
                continue
        labels.update(normalise_label(t) for t in tokens)
    return labels


def _is_contents_page(lines: list[Line], lexicon: StructureLexicon) -> bool:
    for line in lines[:5]:
        lemmas = folded_lemmas(strip_numbering(line.text)[0], lexicon.lemmatizer)
        if lemmas and lemmas in lexicon.contents_markers:
            return True
    numbered = sum(1 for line in lines if _PAGE_NUMBER_END.search(line.text) and _WORD.search(line.text))
    return numbered >= 3 and numbered >= 0.5 * len(lines)


def _matching(lemmas: tuple[str, ...], cues: tuple[Cue, ...]) -> list[Cue]:
    present = set(lemmas)
    return [cue for cue in cues if set(cue.lemmas) <= present]


# --------------------------------------------------------------------------------------------
# Classification


def classify_heading(text: str, lexicon: StructureLexicon) -> tuple[tuple[str, ...], bool, bool]:
    """(parts named, is generic, is an annex heading) for a heading's text."""
    rest, _ = strip_numbering(text)
    lemmas = lexicon.content_lemmas(rest)
    if _ANNEX_LABEL.match(rest) or (lemmas and _matching(lemmas, lexicon.annex_headings) and len(lemmas) <= 4
                                    and lemmas[0] in {c.lemmas[0] for c in lexicon.annex_headings}):
        return ("annexes",), False, True
    remaining = set(lemmas)
    for cue in _matching(lemmas, lexicon.generic):
        remaining -= set(cue.lemmas)
    if not remaining:
        return (), True, False
    kept = tuple(l for l in lemmas if l in remaining)
    parts = tuple(
        section_id
        for section_id in SECTION_IDS
        if section_id != "annexes" and _matching(kept, lexicon.parts[section_id].heading)
    )
    return parts, not parts, False


def score_passage(lemmas: tuple[str, ...], lexicon: StructureLexicon) -> dict[str, float]:
    scores: dict[str, float] = {}
    for section_id, part in lexicon.parts.items():
        if not part.content:
            continue
        found = find_cues(lemmas, part.content)
        if found:
            seen: dict[tuple[str, ...], float] = {}
            for cue in found:
                seen[cue.lemmas] = max(seen.get(cue.lemmas, 0.0), cue.weight)
            scores[section_id] = sum(seen.values())
    return scores


# --------------------------------------------------------------------------------------------
# Reading the pages


@dataclass
class _Block:
    page: int
    heading: bool
    text: str
    parts: tuple[str, ...] = ()
    generic: bool = False
    annex: bool = False


def _body_metrics(pages: list[list[Line]]) -> tuple[float, float]:
    sizes: Counter[float] = Counter()
    lengths: list[int] = []
    for lines in pages:
        for line in lines:
            sizes[round(line.size, 1)] += len(line.text)
    body_size = sizes.most_common(1)[0][0] if sizes else 0.0
    for lines in pages:
        lengths += [len(l.text.strip()) for l in lines if round(l.size, 1) == body_size]
    lengths.sort()
    typical = float(lengths[int(len(lengths) * 0.8)]) if lengths else 80.0
    return body_size, typical


def _looks_like_heading(
    lines: list[Line], index: int, body_size: float, typical: float, previous_ends: bool
) -> tuple[bool, bool]:
    """(is a heading, is numbered) for line ``index`` of a page."""
    line = lines[index]
    text = line.text.strip()
    if not text or not (text[0].isalpha() or text[0].isdigit()):
        return False, False
    rest, numbered = strip_numbering(text)
    words = _WORD.findall(rest)
    if not words or len(words) > HEADING_MAX_WORDS or not rest[:1].isupper() and not numbered:
        return False, numbered
    if _ENDS_SENTENCE.search(text) or _PAGE_NUMBER_END.search(text) and numbered:
        return False, numbered
    styled = line.bold or (body_size > 0 and line.size >= body_size * STYLED_SIZE_RATIO)
    if styled:
        return True, numbered
    short = len(text) <= typical * SHORT_LINE_RATIO
    if not short:
        return False, numbered
    next_line = lines[index + 1].text.strip() if index + 1 < len(lines) else ""
    next_starts = not next_line or next_line[:1].isupper() or next_line[:1].isdigit()
    if numbered and next_starts:
        return True, True
    return previous_ends and next_starts, numbered


def analyse(
    pages: list[list[Line]],
    outline: list[tuple[str, int | None]],
    lexicon: StructureLexicon | None = None,
) -> Structure:
    lexicon = lexicon or default_structure_lexicon()
    structure = Structure(pages=len(pages))
    body_size, typical = _body_metrics(pages)

    # Pages that are not the body: cover, contents
    contents = tuple(i for i in range(min(CONTENTS_SEARCH_PAGES, len(pages))) if _is_contents_page(pages[i], lexicon))
    structure.contents_pages = contents
    first_words = sum(len(_WORD.findall(l.text)) for l in pages[0]) if pages else 0
    structure.cover_page = len(pages) > 1 and 0 not in contents and first_words < COVER_MAX_WORDS

    # Blocks: headings and paragraphs, in reading order
    blocks: list[_Block] = []
    skip = set(contents) | ({0} if structure.cover_page else set())
    for page_index, lines in enumerate(pages):
        if page_index in skip:
            continue
        paragraph: list[str] = []
        previous_ends = True

        def flush() -> None:
            if paragraph:
                blocks.append(_Block(page_index, False, " ".join(paragraph)))
                paragraph.clear()

        for index, line in enumerate(lines):
            text = line.text.strip()
            if not text:
                continue
            is_heading, _ = _looks_like_heading(lines, index, body_size, typical, previous_ends)
            if is_heading:
                flush()
                parts, generic, annex = classify_heading(text, lexicon)
                blocks.append(_Block(page_index, True, text, parts, generic, annex))
                previous_ends = True
                continue
            paragraph.append(text)
            previous_ends = bool(_ENDS_SENTENCE.search(text) or text.endswith(":"))
            if previous_ends and len(text) < typical * 0.9:
                flush()
        flush()

    # Bookmarks: headings too (a bookmark the text scan did not see is added at its page)
    text_headings = {(b.page, " ".join(b.text.lower().split())) for b in blocks if b.heading}
    for title, page_index in outline:
        title = " ".join(title.split())
        if not title:
            continue
        parts, generic, annex = classify_heading(title, lexicon)
        if parts or annex:
            structure.headings_from_outline = True
        page = page_index if page_index is not None else 0
        if (page, title.lower()) in text_headings:
            continue
        position = next((i for i, b in enumerate(blocks) if b.page > page), len(blocks))
        blocks.insert(position, _Block(page, True, title, parts, generic, annex))

    # Annexes: from the first annex heading that comes after some body text
    seen_body = False
    for index, block in enumerate(blocks):
        if block.annex and seen_body:
            body_before = any(b.page == block.page and not b.heading for b in blocks[:index])
            structure.annex_start = block.page + 1 if body_before else block.page
            break
        if not block.heading:
            seen_body = True
    if structure.annex_start is not None:
        labels: list[str] = []
        for block in blocks:
            if block.heading and block.annex and block.page >= structure.annex_start - 1:
                match = _ANNEX_LABEL.match(strip_numbering(block.text)[0])
                if match and normalise_label(match.group(1)) not in labels:
                    labels.append(normalise_label(match.group(1)))
        structure.annex_labels = tuple(labels)
        blocks_body = [b for b in blocks if b.page < structure.annex_start and not (b.heading and b.annex)]
    else:
        blocks_body = blocks

    body_indexes = [
        i for i in range(len(pages))
        if i not in skip and (structure.annex_start is None or i < structure.annex_start)
    ]
    structure.body_page_indexes = tuple(body_indexes)

    # Evidence: headings first
    evidence: dict[str, Evidence] = {}
    for block in blocks:
        if not block.heading:
            continue
        if block.annex:
            if "annexes" not in evidence:
                evidence["annexes"] = Evidence("annexes", "heading", block.page + 1, quote_of(block.text), 10.0)
            continue
        if block.page in skip:
            continue
        structure.headings_from_text = True
        for part in block.parts:
            if part not in evidence:
                evidence[part] = Evidence(part, "heading", block.page + 1, quote_of(block.text), 10.0)
                structure.heading_order.append(part)
    if "annexes" not in evidence and structure.annex_labels:
        evidence["annexes"] = Evidence("annexes", "heading", (structure.annex_start or 0) + 1, None, 10.0)

    # Evidence: paragraphs of the body
    # A paragraph under a heading that names parts is explained by it: it shows another part only
    # when it is more about that part than about its heading's.
    paragraphs: list[tuple[_Block, tuple[str, ...]]] = []
    current: tuple[str, ...] = ()
    for block in blocks_body:
        if block.heading:
            current = block.parts
        else:
            paragraphs.append((block, current))
    best: dict[str, tuple[float, _Block]] = {}
    passage_parts: dict[int, list[str]] = {}
    for position, (block, under) in enumerate(paragraphs):
        lemmas = folded_lemmas(block.text, lexicon.lemmatizer)
        scores = score_passage(lemmas, lexicon)
        heading_score = max((scores.get(p, 0.0) for p in under), default=0.0)
        top_score = max(scores.values(), default=0.0)
        top_parts = [p for p, v in scores.items() if v == top_score]
        for part, score in scores.items():
            if under and part not in under and score <= heading_score:
                continue
            if score < SHARE_OF_TOP * top_score:
                continue  # an aside in a paragraph about something else
            if part not in ("introduction", "conclusion") and (
                set(under) & {"introduction", "conclusion"} or set(top_parts) & {"introduction", "conclusion"}
            ):
                continue  # an introduction announces every part, a conclusion recalls them: no evidence
            if part == "introduction" and position >= INTRO_PARAGRAPHS:
                continue
            if part == "conclusion" and position < len(paragraphs) - CONCLUSION_PARAGRAPHS:
                continue
            if score >= lexicon.content_threshold:
                passage_parts.setdefault(id(block), []).append(part)
            if part not in best or score > best[part][0]:
                best[part] = (score, block)
    for part in SECTION_IDS:
        if part in evidence:
            continue
        if part == "annexes":
            evidence[part] = Evidence(part, "missing")
            continue
        if part in best:
            score, block = best[part]
            if score >= lexicon.content_threshold:
                evidence[part] = Evidence(part, "content", block.page + 1, quote_of(block.text), score)
                continue
            if score >= lexicon.weak_threshold:
                evidence[part] = Evidence(part, "weak", block.page + 1, quote_of(block.text), score)
                continue
        evidence[part] = Evidence(part, "missing")
    structure.evidence = {part: evidence[part] for part in SECTION_IDS}

    # The outline understood: every heading, and the passages that carry a part no heading names
    named_by_heading = {p for p, e in evidence.items() if e.status == "heading"}
    for block in blocks:
        if block.heading:
            structure.outline.append(OutlineItem(block.page + 1, "heading", quote_of(block.text), block.parts))
        else:
            carried = [p for p in passage_parts.get(id(block), []) if p not in named_by_heading
                       and evidence[p].page == block.page + 1 and evidence[p].quote == quote_of(block.text)]
            if carried:
                structure.outline.append(OutlineItem(block.page + 1, "passage", quote_of(block.text), tuple(carried)))
    # body references to annexes
    references: set[str] = set()
    for block in blocks_body:
        if not (block.heading and block.annex):
            references |= annex_references(block.text)
    structure.annex_references = tuple(sorted(references, key=lambda s: (len(s), s)))
    return structure
