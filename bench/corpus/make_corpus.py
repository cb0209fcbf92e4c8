"""Make the corpus of French report drafts the PDF review is measured on (bench/bench_review_corpus.py).

Run: python bench/corpus/make_corpus.py [--out bench/corpus/drafts]   (needs reportlab, python-docx
and LibreOffice: ``apt-get install -y libreoffice-writer-nogui``; the PDFs are committed, so the test
suite and the bench need neither python-docx nor LibreOffice).

Half the drafts go through a real word processor (python-docx writes a .docx with Word heading
styles or direct bold formatting, LibreOffice headless exports it to PDF, with bookmarks from the
heading styles), half through reportlab. Every draft puts its body on an exact number of pages (page
breaks), so the ground truth is known: ``truth.toml`` beside the PDFs gives, per draft, the parts
missing, the body pages, the page-limit verdict, the annexes and the annex references that point to
nothing. Drafts whose number is 2 modulo 3 are the held-out third (``split = "held_out"``): their
sentences come from a separate pool (texts.HELD_OUT) and they are measured only at the end.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import texts  # noqa: E402

SECTIONS = ("introduction", "choix", "contexte", "role", "actes", "difficultes", "competences", "questions", "conclusion")
ALL = (*SECTIONS, "annexes")
WEIGHT = {"introduction": 0.5, "choix": 1, "contexte": 0.8, "role": 0.8, "actes": 1.5, "difficultes": 1,
          "competences": 1, "questions": 0.8, "conclusion": 0.5}
LIMITS = {"ua": (0, 7), "stage": (12, 18)}

HEADINGS: dict[str, dict[str, str]] = {
    "official": {
        "introduction": "Introduction", "choix": "Choix de la pratique", "contexte": "Contexte de référence",
        "role": "Mission et rôle tenu", "actes": "Actes et moments professionnels",
        "difficultes": "Difficultés rencontrées et réponses apportées",
        "competences": "Compétences d'ingénierie et de coordination construites",
        "questions": "Questions méthodologiques et théoriques", "conclusion": "Conclusion",
    },
    "official2": {
        "introduction": "Introduction générale", "choix": "Choix argumenté de la pratique",
        "contexte": "Le contexte de la pratique", "role": "Ma mission et mon rôle",
        "actes": "Description des actes professionnels", "difficultes": "Les difficultés et les réponses apportées",
        "competences": "Les compétences construites", "questions": "Questions théoriques et méthodologiques soulevées",
        "conclusion": "Conclusion et perspectives",
    },
    "own1": {
        "introduction": "Introduction", "choix": "Pourquoi ce projet m'a tenu à cœur",
        "contexte": "Une association au service de l'insertion", "role": "Mon quotidien de coordinatrice",
        "actes": "Pas à pas : la conduite du projet", "difficultes": "Les écueils et ce que j'en ai fait",
        "competences": "Ce que je retiens de cette expérience", "questions": "Les questions qui restent ouvertes",
        "conclusion": "Pour finir",
    },
    "own2": {
        "introduction": "En guise d'introduction", "choix": "Un projet qui m'a tenu à cœur",
        "contexte": "Le terrain de l'expérience", "role": "Ma place dans le dispositif",
        "actes": "Le fil des séances", "difficultes": "Quand rien ne s'est passé comme prévu",
        "competences": "Ce que j'ai appris à faire", "questions": "Regard critique et questions en suspens",
        "conclusion": "Et après ?",
    },
}
PLAN3 = (("Introduction", ("introduction",)), ("Le choix de la pratique", ("choix", "contexte")),
         ("La pratique décrite", ("role", "actes", "difficultes")),
         ("La pratique commentée", ("competences", "questions")), ("Conclusion", ("conclusion",)))
MERGED = (("Introduction", ("introduction",)), ("Contexte et choix de la pratique", ("contexte", "choix")),
          ("Rôle et actes professionnels", ("role", "actes")), ("Difficultés et compétences", ("difficultes", "competences")),
          ("Questions ouvertes", ("questions",)), ("Conclusion", ("conclusion",)))


@dataclass(frozen=True)
class Draft:
    name: str
    maker: str  # "lo" (python-docx + LibreOffice) or "rl" (reportlab)
    report_type: str = "ua"
    headings: str = "official"  # official, official2, own1, own2, plan3, merged, generic, none
    look: str = "styled"  # styled (bigger, bold), bold (bold, body size), plain (like the body)
    numbering: str = "1."  # "1.", "I -", "A)", "1.1", "Partie", ""
    missing: tuple[str, ...] = ()
    body_pages: int = 7
    bookmarks: bool = True
    annexes: int = 2
    contents: str = ""  # "", "leaders", "plain"
    cover: bool = True
    descriptive_only: bool = False
    split: str = "dev"


def corpus() -> list[Draft]:
    d: list[Draft] = []
    add = d.append
    # complete drafts, every way of writing headings
    add(Draft("official-rl", "rl", contents="leaders"))
    add(Draft("official-lo", "lo", body_pages=6, contents="leaders"))
    add(Draft("official2-lo-stage15", "lo", "stage", "official2", body_pages=15, annexes=3))
    add(Draft("official2-rl-roman-stage", "rl", "stage", "official2", numbering="I -", body_pages=14, bookmarks=False))
    add(Draft("plan3-rl", "rl", headings="plan3", body_pages=5, bookmarks=False, cover=False))
    add(Draft("plan3-lo", "lo", headings="plan3"))
    add(Draft("own1-lo", "lo", headings="own1", numbering=""))
    add(Draft("own1-rl-bold", "rl", headings="own1", look="bold", numbering="", bookmarks=False, body_pages=6))
    add(Draft("own2-rl", "rl", headings="own2", numbering="A)"))
    add(Draft("own2-lo-plain-stage", "lo", "stage", "own2", look="plain", numbering="", bookmarks=False, body_pages=13))
    add(Draft("generic-rl", "rl", headings="generic", numbering="Partie"))
    add(Draft("generic-lo-stage", "lo", "stage", "generic", numbering="Partie", body_pages=16, contents="plain"))
    add(Draft("merged-rl", "rl", headings="merged", body_pages=6, bookmarks=False))
    add(Draft("merged-lo", "lo", headings="merged"))
    add(Draft("noheadings-rl", "rl", headings="none", body_pages=6, bookmarks=False))
    add(Draft("noheadings-lo-stage", "lo", "stage", "none", body_pages=14, bookmarks=False))
    add(Draft("boldlines-lo", "lo", look="bold", numbering="", bookmarks=False))
    add(Draft("plain-rl", "rl", look="plain", numbering="", bookmarks=False, body_pages=6, contents="plain"))
    add(Draft("letters-rl-toc", "rl", numbering="A)", contents="plain", cover=False))
    add(Draft("decimal-lo", "lo", "stage", "official2", numbering="1.1", body_pages=12))
    # each part missing in turn (two series in different styles)
    first = ["official-rl", "own1-lo", "official2-rl", "plan3-lo", "official-rl-nobm", "own2-lo", "official-lo",
             "generic-rl", "none-lo", "official-rl"]
    for part, base in zip(ALL, first):
        style, maker = base.split("-")[0], base.split("-")[1]
        style = {"none": "none"}.get(style, style)
        annexes = 0 if part == "annexes" else 2
        add(Draft(f"missing-{part}-{maker}", maker, headings=style, missing=(part,), annexes=annexes,
                  bookmarks="nobm" not in base and style not in ("none",), numbering="" if style.startswith("own") else "1."))
    second = {"choix": ("none", "rl"), "contexte": ("generic", "lo"), "role": ("own1", "rl"), "actes": ("own2", "rl"),
              "difficultes": ("plan3", "rl"), "competences": ("none", "lo"), "questions": ("official2", "lo")}
    for part, (style, maker) in second.items():
        add(Draft(f"missing2-{part}-{style}-{maker}", maker, headings=style, missing=(part,),
                  numbering="Partie" if style == "generic" else "1.", bookmarks=style != "none", body_pages=6))
    # descriptive only: no difficulties, competences, questions, conclusion
    add(Draft("descriptive-rl", "rl", missing=("difficultes", "competences", "questions", "conclusion"),
              descriptive_only=True, body_pages=4))
    add(Draft("descriptive-lo", "lo", headings="own1", numbering="",
              missing=("difficultes", "competences", "questions", "conclusion"), descriptive_only=True, body_pages=5))
    # length
    add(Draft("ua-8-rl", "rl", body_pages=8))
    add(Draft("ua-8-lo", "lo", body_pages=8, contents="leaders"))
    add(Draft("ua-10-rl", "rl", headings="own2", numbering="", body_pages=10, bookmarks=False))
    add(Draft("ua-3-lo", "lo", body_pages=3, annexes=1))
    add(Draft("stage-15-rl", "rl", "stage", body_pages=15))
    add(Draft("stage-10-lo", "lo", "stage", "official2", body_pages=10))
    add(Draft("stage-20-rl", "rl", "stage", "merged", body_pages=20, bookmarks=False))
    add(Draft("stage-18-lo", "lo", "stage", body_pages=18, annexes=1))
    add(Draft("stage-19-lo", "lo", "stage", "own1", numbering="", body_pages=19))
    return [replace(draft, name=f"{i:02d}-{draft.name}", split="held_out" if i % 3 == 2 else "dev")
            for i, draft in enumerate(d)]


# --------------------------------------------------------------------------------------------
# Content


@dataclass
class Unit:
    kind: str  # "heading", "paragraph", "break"
    text: str = ""


def _paragraphs(draft: Draft, rng: random.Random) -> dict[str, list[str]]:
    pool = texts.HELD_OUT if draft.split == "held_out" else texts.DEV
    present = [s for s in SECTIONS if s not in draft.missing]
    total_weight = sum(WEIGHT[s] for s in present)
    per_page = 3
    count = max(len(present), draft.body_pages * per_page)
    result: dict[str, list[str]] = {}
    for section in present:
        n = max(1, round(count * WEIGHT[section] / total_weight))
        sentences = pool[section]
        paragraphs = []
        for _ in range(n):
            chosen = rng.sample(sentences, k=min(len(sentences), rng.choice((2, 3, 3, 4))))
            if rng.random() < 0.3:
                chosen.insert(rng.randrange(len(chosen) + 1), rng.choice(texts.NEUTRAL))
            paragraphs.append(" ".join(chosen))
        result[section] = paragraphs
    return result


def _number(style: str, index: int) -> str:
    if style == "1.":
        return f"{index}. "
    if style == "I -":
        return f"{['I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X'][index - 1]} - "
    if style == "A)":
        return f"{'ABCDEFGHIJ'[index - 1]}) "
    if style == "1.1":
        return f"{(index + 1) // 2}.{(index + 1) % 2 + 1} "
    if style == "Partie":
        return f"Partie {index} : "
    return ""


def _groups(draft: Draft) -> list[tuple[str | None, tuple[str, ...]]]:
    if draft.headings == "plan3":
        return [(title, parts) for title, parts in PLAN3]
    if draft.headings == "merged":
        return [(title, parts) for title, parts in MERGED]
    if draft.headings == "none":
        return [(None, (s,)) for s in SECTIONS]
    if draft.headings == "generic":
        return [("" if s not in ("introduction", "conclusion") else HEADINGS["official"][s], (s,)) for s in SECTIONS]
    return [(HEADINGS[draft.headings][s], (s,)) for s in SECTIONS]


def body_units(draft: Draft) -> tuple[list[Unit], list[str]]:
    """The body as headings and paragraphs, with page breaks giving exactly ``draft.body_pages``."""
    rng = random.Random(draft.name)
    paragraphs = _paragraphs(draft, rng)
    blocks: list[list[Unit]] = []  # each block: optional heading + one paragraph (kept together)
    titles: list[str] = []
    number = 0
    for title, parts in _groups(draft):
        present = [p for p in parts if p in paragraphs]
        if not present:
            continue
        heading = None
        if title is not None:
            number += 1
            label = title or "Partie"
            if draft.headings == "generic" and not title:
                heading = f"Partie {number}" if draft.numbering != "Partie" else f"Partie {number}"
            else:
                heading = _number(draft.numbering, number) + label
            titles.append(heading)
        first = True
        for part in present:
            for paragraph in paragraphs[part]:
                unit = [Unit("heading", heading)] if first and heading else []
                blocks.append(unit + [Unit("paragraph", paragraph)])
                first = False
    units: list[Unit] = []
    n = len(blocks)
    pages = draft.body_pages
    for i, block in enumerate(blocks):
        if i and (i * pages) // n != ((i - 1) * pages) // n:
            units.append(Unit("break"))
        units.extend(block)
    return units, titles


def annex_units(draft: Draft, rng: random.Random) -> list[Unit]:
    units: list[Unit] = []
    for index in range(1, draft.annexes + 1):
        units.append(Unit("break"))
        if index == 1:
            units.append(Unit("heading", "Annexes"))
        units.append(Unit("heading", f"Annexe {index} : {texts.ANNEX_TITLES[index - 1]}"))
        for _ in range(3):
            units.append(Unit("paragraph", " ".join(rng.sample(texts.NEUTRAL, 3))))
    return units


def truth(draft: Draft, units: list[Unit]) -> dict:
    missing = list(draft.missing) + (["annexes"] if draft.annexes == 0 and "annexes" not in draft.missing else [])
    body_text = " ".join(u.text for u in units if u.kind == "paragraph")
    refs = sorted({m for m in re.findall(r"annexe (\d)", body_text)})
    low, high = LIMITS[draft.report_type]
    verdict = "over" if draft.body_pages > high else "under" if draft.body_pages < low else "ok"
    return {
        "file": f"{draft.name}.pdf",
        "split": draft.split,
        "maker": "libreoffice" if draft.maker == "lo" else "reportlab",
        "report_type": draft.report_type,
        "headings": draft.headings,
        "look": draft.look,
        "numbering": draft.numbering,
        "bookmarks": draft.bookmarks and draft.headings != "none",
        "cover": draft.cover,
        "contents": draft.contents,
        "missing": sorted(missing, key=ALL.index),
        "body_pages": draft.body_pages,
        "verdict": verdict,
        "annexes": draft.annexes,
        "annex_references_missing": [r for r in refs if int(r) > draft.annexes],
    }


def _contents_lines(draft: Draft, titles: list[str]) -> list[str]:
    lines = []
    for index, title in enumerate(titles):
        page = 2 + index * max(1, draft.body_pages // max(1, len(titles)))
        if draft.contents == "leaders":
            lines.append(f"{title} {'.' * 20} {page}")
        else:
            lines.append(f"{title}\t{page}")
    if draft.annexes:
        lines.append(f"Annexes\t{draft.body_pages + 2}")
    return lines


COVER = ("Rapport d'activité", "Unité d'activité — Licence professionnelle", "Camille Martin",
         "Cnam Pays de la Loire", "Tutrice : Mme Bernard", "Année 2025-2026")


# --------------------------------------------------------------------------------------------
# Makers


def make_reportlab(draft: Draft, units: list[Unit], titles: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    body = ParagraphStyle("body", fontName="Helvetica", fontSize=11, leading=15, spaceAfter=6)
    looks = {
        "styled": ParagraphStyle("h", fontName="Helvetica-Bold", fontSize=14, leading=19, spaceBefore=10, spaceAfter=6),
        "bold": ParagraphStyle("hb", fontName="Helvetica-Bold", fontSize=11, leading=15, spaceBefore=8, spaceAfter=4),
        "plain": ParagraphStyle("hp", fontName="Helvetica", fontSize=11, leading=15, spaceBefore=8, spaceAfter=4),
    }
    heading_style = looks[draft.look]
    cover_style = ParagraphStyle("cover", fontName="Helvetica-Bold", fontSize=18, leading=26, alignment=1)

    class Doc(SimpleDocTemplate):
        count = 0

        def afterFlowable(self, flowable):  # noqa: N802
            title = getattr(flowable, "bookmark_title", None)
            if title and draft.bookmarks:
                Doc.count += 1
                key = f"b{Doc.count}"
                self.canv.bookmarkPage(key)
                self.canv.addOutlineEntry(title, key, level=0)

    buffer = io.BytesIO()
    doc = Doc(buffer, pagesize=A4, leftMargin=2.5 * cm, rightMargin=2.5 * cm, topMargin=2.5 * cm,
              bottomMargin=2.5 * cm, title="Rapport", author="Camille Martin", invariant=1)
    story: list = []
    if draft.cover:
        story.append(Spacer(1, 6 * cm))
        story.extend(Paragraph(line, cover_style) for line in COVER)
        story.append(PageBreak())
    if draft.contents:
        story.append(Paragraph("Sommaire", heading_style))
        for line in _contents_lines(draft, titles):
            story.append(Paragraph(line.replace("\t", "&nbsp;" * 6), body))
        story.append(PageBreak())
    for unit in units:
        if unit.kind == "break":
            story.append(PageBreak())
        elif unit.kind == "heading":
            paragraph = Paragraph(unit.text.replace("&", "&amp;"), heading_style)
            paragraph.bookmark_title = unit.text
            story.append(paragraph)
        else:
            story.append(Paragraph(unit.text.replace("&", "&amp;"), body))
    doc.build(story)
    return buffer.getvalue()


def make_docx(draft: Draft, units: list[Unit], titles: list[str]) -> bytes:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = docx.Document()
    document.styles["Normal"].font.name = "Liberation Serif"
    document.styles["Normal"].font.size = Pt(12)

    def heading(text: str) -> None:
        if draft.bookmarks and draft.look == "styled":
            document.add_heading(text, level=1)
            return
        paragraph = document.add_paragraph()
        run = paragraph.add_run(text)
        if draft.look in ("styled", "bold"):
            run.bold = True
        if draft.look == "styled":
            run.font.size = Pt(15)

    if draft.cover:
        for _ in range(6):
            document.add_paragraph()
        for line in COVER:
            paragraph = document.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(line)
            run.bold = True
            run.font.size = Pt(18)
        document.add_page_break()
    if draft.contents:
        title = document.add_paragraph()
        title.add_run("Table des matières").bold = True
        for line in _contents_lines(draft, titles):
            document.add_paragraph(line)
        document.add_page_break()
    for unit in units:
        if unit.kind == "break":
            document.add_page_break()
        elif unit.kind == "heading":
            heading(unit.text)
        else:
            document.add_paragraph(unit.text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "drafts")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    entries = []
    with tempfile.TemporaryDirectory() as work:
        docx_files = []
        for draft in corpus():
            units, titles = body_units(draft)
            units = units + annex_units(draft, random.Random(draft.name + "annex"))
            entries.append(truth(draft, units))
            if draft.maker == "rl":
                (out / f"{draft.name}.pdf").write_bytes(make_reportlab(draft, units, titles))
            else:
                path = Path(work) / f"{draft.name}.docx"
                path.write_bytes(make_docx(draft, units, titles))
                docx_files.append(str(path))
        if docx_files:
            if not soffice:
                raise SystemExit("LibreOffice (soffice) is needed: apt-get install -y libreoffice-writer-nogui")
            subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(out), *docx_files],
                           check=True, capture_output=True, timeout=600)
    lines = ["# Ground truth of the corpus, written by make_corpus.py: one [[drafts]] per PDF.", ""]
    for entry in entries:
        lines.append("[[drafts]]")
        for key, value in entry.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, (int, float)):
                lines.append(f"{key} = {value}")
            elif isinstance(value, list):
                lines.append(f"{key} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]")
            else:
                lines.append(f'{key} = "{value}"')
        lines.append("")
    (out / "truth.toml").write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(entries)} drafts in {out}")


if __name__ == "__main__":
    main()
