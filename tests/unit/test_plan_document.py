"""The /plan skeleton (.docx and Markdown) and the /ressources document."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from xml.dom import minidom

import pytest
from docx import Document

from bot.documents.plan import build_plan_docx, build_plan_markdown, outline, plan_filename
from bot.documents.resources import build_resources_docx, default_resources
from bot.domain.report import default_catalogue

NOTES = {
    "role": ["J'ai conçu le module de 12 heures.", "J'ai coordonné 3 formateurs <b>& l'OPCO</b>."],
    "difficultes": ["Retard du planning en mars 2024.", "# pas un titre\n- ni une liste"],
}
EXPECTED_HEADINGS = [
    ("Heading 1", "Introduction"),
    ("Heading 1", "1. Le choix de la pratique"),
    ("Heading 2", "Choix de la pratique"),
    ("Heading 2", "Contexte de référence"),
    ("Heading 1", "2. La pratique décrite"),
    ("Heading 2", "Mission et rôle tenu"),
    ("Heading 2", "Actes et moments professionnels"),
    ("Heading 2", "Difficultés rencontrées et réponses apportées"),
    ("Heading 1", "3. La pratique commentée"),
    ("Heading 2", "Compétences d'ingénierie et de coordination"),
    ("Heading 2", "Questions méthodologiques et théoriques"),
    ("Heading 1", "Conclusion"),
    ("Heading 1", "Annexes"),
]


@pytest.fixture(scope="module")
def catalogue():
    return default_catalogue()


@pytest.fixture(scope="module")
def plan_bytes(catalogue):
    return build_plan_docx(catalogue, "ua", NOTES)


def _paragraphs(data: bytes):
    return [(p.style.name, p.text) for p in Document(io.BytesIO(data)).paragraphs]


def _under(paragraphs, heading: str) -> list[tuple[str, str]]:
    """The paragraphs after a heading, up to the next heading."""
    start = [text for _, text in paragraphs].index(heading) + 1
    block = []
    for style, text in paragraphs[start:]:
        if style.startswith("Heading"):
            break
        block.append((style, text))
    return block


def test_outline_follows_the_official_order(catalogue):
    assert [(f"Heading {e.level}", e.title) for e in outline(catalogue)] == EXPECTED_HEADINGS


def test_docx_headings_are_real_word_headings_in_order(plan_bytes):
    headings = [(style, text) for style, text in _paragraphs(plan_bytes) if style.startswith("Heading")]
    assert headings == EXPECTED_HEADINGS
    assert _paragraphs(plan_bytes)[0] == ("Title", "Rapport d'activité de l'unité d'activité (UA)")


def test_docx_notes_and_budget_under_their_heading(plan_bytes):
    role = _under(_paragraphs(plan_bytes), "Mission et rôle tenu")
    assert ("Coach budget", "Volume visé : environ 0,75 p., soit 338 mots.") in role
    assert ("Normal", "J'ai conçu le module de 12 heures.") in role
    assert ("Normal", "J'ai coordonné 3 formateurs <b>& l'OPCO</b>.") in role  # kept verbatim
    contexte = _under(_paragraphs(plan_bytes), "Contexte de référence")
    assert [t for s, t in contexte if s == "Normal"] == []
    assert any("À rédiger" in t for _, t in contexte)
    annexes = _under(_paragraphs(plan_bytes), "Annexes")
    assert any("Hors volume" in t for _, t in annexes)


def test_docx_stage_budget(catalogue):
    paragraphs = _paragraphs(build_plan_docx(catalogue, "stage", {}))
    assert ("Coach budget", "Volume visé : environ 3 p., soit 1350 mots.") in _under(
        paragraphs, "Actes et moments professionnels"
    )


def test_docx_guiding_questions_are_word_comments_on_the_headings(catalogue, plan_bytes):
    document = Document(io.BytesIO(plan_bytes))
    comments = list(document.comments)
    assert len(comments) == len(catalogue.sections)
    difficultes = catalogue.section("difficultes")
    texts = ["\n".join(p.text for p in c.paragraphs) for c in comments]
    matching = [t for t in texts if difficultes.questions[0].text in t]
    assert len(matching) == 1 and all(q.text in matching[0] for q in difficultes.questions)
    assert all(c.author == "coachbot" for c in comments)


def test_docx_is_a_valid_zip_with_well_formed_xml(plan_bytes):
    with zipfile.ZipFile(io.BytesIO(plan_bytes)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert {"[Content_Types].xml", "word/document.xml", "word/comments.xml", "word/styles.xml"} <= set(names)
        for name in names:
            if name.endswith(".xml") or name.endswith(".rels"):
                minidom.parseString(archive.read(name))
        document_xml = archive.read("word/document.xml").decode()
        assert document_xml.count("<w:commentRangeStart") == document_xml.count("<w:commentRangeEnd") == 10
        assert "&lt;b&gt;&amp; l'OPCO&lt;/b&gt;" in document_xml


def test_markdown_outline_notes_and_escaping(catalogue):
    markdown = build_plan_markdown(catalogue, "ua", NOTES)
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == ["# Rapport d'activité de l'unité d'activité (UA)"] + [
        ("## " if style == "Heading 1" else "### ") + title for style, title in EXPECTED_HEADINGS
    ]
    role = markdown.split("### Mission et rôle tenu")[1].split("###")[0]
    assert "_Volume visé : environ 0,75 p., soit 338 mots._" in role
    assert "J'ai conçu le module de 12 heures." in role
    assert r"3 formateurs \<b\>& l'OPCO\</b\>." in role
    assert "> - De quoi étiez-vous personnellement responsable dans cette pratique ?" in role
    difficultes = markdown.split("### Difficultés rencontrées et réponses apportées")[1]
    assert "\\# pas un titre\n\\- ni une liste" in difficultes  # the auditeur cannot inject headings


def test_filenames():
    assert plan_filename("ua") == "plan-rapport-ua.docx"
    assert plan_filename("stage", markdown=True) == "plan-rapport-stage.md"


def test_resources_document_holds_every_page_the_grid_and_the_outline(catalogue):
    resources = default_resources()
    data = build_resources_docx(resources, catalogue)
    paragraphs = _paragraphs(data)
    heading_1 = [t for s, t in paragraphs if s == "Heading 1"]
    assert heading_1 == [p.title for p in resources.pages] + [resources.outline_title]
    texts = [t for _, t in paragraphs]
    grid = _under(paragraphs, "La grille d'évaluation")
    assert sum(1 for s, _ in grid if s == "List Bullet") == len(catalogue.grid.criteria)
    assert any("2 heures d'accompagnement" in t for t in texts)
    assert any("du lundi au vendredi entre 8 h et 19 h" in t for t in texts)
    assert any("4 semaines" in t and "6 semaines" in t for t in texts)
    assert any("2 semestres" in t for t in texts)
    assert any("« validé » ou « non validé »" in t for t in texts)
    steps = [t for t in texts if t.startswith("Étape ")]
    assert [s.split(" :")[0] for s in steps] == [f"Étape {n}" for n in range(1, 6)]


@pytest.mark.skipif(
    not (os.environ.get("COACHBOT_LIBREOFFICE") and shutil.which("soffice")),
    reason="slow; set COACHBOT_LIBREOFFICE=1 with LibreOffice installed",
)
def test_libreoffice_opens_the_plan(tmp_path, plan_bytes):
    source = tmp_path / "plan.docx"
    source.write_bytes(plan_bytes)
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "txt:Text",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = (tmp_path / "plan.txt").read_text(encoding="utf-8-sig")
    assert "Difficultés rencontrées et réponses apportées" in text
    assert "J'ai conçu le module de 12 heures." in text


def _langs(docx_bytes: bytes) -> tuple[list[str], list[str]]:
    """The w:lang values of the document defaults and of every style."""
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as archive:
        styles = minidom.parseString(archive.read("word/styles.xml"))
    defaults = [e.getAttribute("w:val") for e in styles.getElementsByTagName("w:rPrDefault")[0].getElementsByTagName("w:lang")]
    per_style = []
    for style in styles.getElementsByTagName("w:style"):
        if style.getAttribute("w:type") == "numbering":
            continue
        langs = [e.getAttribute("w:val") for e in style.getElementsByTagName("w:lang")]
        per_style.append(langs[0] if langs else "")
    return defaults, per_style


@pytest.mark.parametrize("which", ["plan", "resources"])
def test_generated_documents_are_french_with_real_properties(which):
    from datetime import UTC, datetime

    created = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    if which == "plan":
        content = build_plan_docx(default_catalogue(), "ua", NOTES, created=created)
        title = "Rapport d'activité"
    else:
        content = build_resources_docx(default_resources(), default_catalogue(), created=created)
        title = default_resources().document_title
    defaults, per_style = _langs(content)
    assert defaults == ["fr-FR"] and per_style and set(per_style) == {"fr-FR"}
    properties = Document(io.BytesIO(content)).core_properties
    assert properties.created.replace(tzinfo=None) == datetime(2026, 12, 1, 9, 30)
    assert properties.language == "fr-FR" and "coachbot" in properties.author
    assert title.split()[0] in properties.title
    assert "python-docx" not in (properties.comments or "") and properties.created.year == 2026
