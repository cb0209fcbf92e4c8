"""Deterministic generators of test PDFs (and of files that only pretend to be PDFs).

Used by the unit tests, the end-to-end tests and the benchmark. Every function returns bytes and
gives the same bytes for the same arguments (reportlab runs in ``invariant`` mode, the text comes
from a seeded ``random.Random``).

Reports are built from the real catalogue: headings in a larger bold font, numbered the way
auditeurs number them ("1.", "2.", …), optionally with bookmarks (the PDF outline).
"""

from __future__ import annotations

import io
import random
import zlib
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

from bot.domain.report import SECTION_IDS, Catalogue, default_catalogue

# Body text of each section: realistic sentences of a training-engineering report, each about its
# own part (the review reads paragraphs by meaning: a section left out must not be in the text).
_SECTION_SENTENCES: dict[str, tuple[str, ...]] = {
    "introduction": (
        "Ce rapport présente une pratique de formation que j'ai conduite au sein de mon organisme.",
        "J'expliquerai d'abord le choix de cette pratique, puis je la décrirai avant d'en proposer une analyse.",
        "Je travaille depuis six ans dans la formation des adultes, aujourd'hui comme coordinatrice.",
    ),
    "choix": (
        "J'ai choisi cette pratique parce qu'elle représente le cœur de mon activité de coordination.",
        "La raison principale de ce choix tient à l'investissement personnel que ce projet m'a demandé.",
        "Mon intérêt pour ce dispositif vient de ma propre reconversion, qui m'a motivée à m'y investir.",
    ),
    "contexte": (
        "Le dispositif s'adressait à un public d'adultes en reconversion, aux parcours très variés.",
        "La commande initiale venait de la direction régionale, qui souhaitait harmoniser les pratiques.",
        "L'association, créée en 1998, compte quarante salariés et travaille avec un réseau de partenaires.",
    ),
    "role": (
        "Mon rôle de coordinateur supposait de tenir ensemble les attentes de la hiérarchie et celles des formateurs.",
        "La directrice m'a confié la responsabilité du projet, avec une large autonomie dans mes décisions.",
        "J'étais responsable du budget prévisionnel, suivi chaque mois avec la responsable financière.",
    ),
    "actes": (
        "J'ai d'abord réalisé une analyse des besoins à partir d'entretiens avec les responsables d'équipe.",
        "J'ai rédigé un cahier des charges précisant les objectifs, les modalités et les critères d'évaluation.",
        "J'ai animé les réunions de coordination avec les formateurs et le service administratif.",
        "Les supports pédagogiques ont été construits en alternant apports et mises en situation.",
    ),
    "difficultes": (
        "La principale difficulté tenait à l'hétérogénéité du groupe et aux absences répétées de certains participants.",
        "Pour y répondre, j'ai mis en place un tutorat entre pairs et des ressources accessibles à distance.",
        "J'ai aussi dû arbitrer entre la qualité attendue et les délais imposés par le financeur, un vrai problème.",
    ),
    "competences": (
        "Cette expérience m'a permis de construire des compétences d'ingénierie de formation et de pilotage de projet.",
        "Je sais désormais formaliser une démarche qualité et rendre compte des résultats à la direction.",
        "J'ai appris à conduire une analyse des besoins, ce que je ne maîtrisais pas.",
    ),
    "questions": (
        "La question de l'évaluation des transferts en situation de travail reste pour moi une question ouverte.",
        "Les travaux théoriques sur l'analyse de l'activité m'ont aidé à comprendre ce que faisaient les conseillers.",
        "Selon plusieurs auteurs, ce concept pose une question méthodologique que je n'ai pas encore résolue.",
    ),
    "conclusion": (
        "En conclusion, le bilan partagé avec l'équipe a conduit à reconduire le dispositif l'année suivante.",
        "Pour l'avenir, j'envisage de poursuivre dans cette voie et d'évoluer vers la responsabilité d'un service.",
    ),
}
_SENTENCES: tuple[str, ...] = tuple(s for sentences in _SECTION_SENTENCES.values() for s in sentences)

# Numbered headings as an auditeur would type them in Word (wording varies on purpose).
_HEADINGS: dict[str, str] = {
    "introduction": "Introduction",
    "choix": "Le choix de la pratique",
    "contexte": "Contexte de référence",
    "role": "Ma mission et mon rôle",
    "actes": "Les actes et moments professionnels",
    "difficultes": "Les difficultés rencontrées et les réponses apportées",
    "competences": "Compétences d'ingénierie et de coordination construites",
    "questions": "Questions méthodologiques et théoriques",
    "conclusion": "Conclusion",
    "annexes": "Annexes",
}

ANNEX_TITLES: tuple[str, ...] = (
    "Programme de la formation",
    "Grille d'évaluation à chaud",
    "Compte rendu du comité de pilotage",
)

_TITLE_STYLE = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=20, leading=26, spaceAfter=18)
_HEADING_STYLE = ParagraphStyle("heading", fontName="Helvetica-Bold", fontSize=15, leading=20, spaceBefore=14, spaceAfter=8)
_BODY_STYLE = ParagraphStyle("body", fontName="Helvetica", fontSize=11, leading=15, spaceAfter=6)


@dataclass(frozen=True)
class DraftSpec:
    """What a generated report draft contains."""

    report_type: str = "ua"
    sections: tuple[str, ...] = SECTION_IDS
    bookmarks: bool = True
    annex_titles: tuple[str, ...] = ANNEX_TITLES[:2]
    pages_scale: float = 1.0  # 1.0 fills the page budget of the type; 1.6 overflows it
    numbering: bool = True
    table_of_contents: tuple[str, ...] = ()  # section ids listed on a "Sommaire" page
    seed: int = 7


def _paragraph_text(rng: random.Random, sentences: int, section_id: str | None = None) -> str:
    pool = _SECTION_SENTENCES.get(section_id or "", _SENTENCES)
    return " ".join(rng.choice(pool) for _ in range(sentences))


class _BookmarkingDoc(SimpleDocTemplate):
    """Adds an outline entry for every heading flowable that carries a ``bookmark_title``."""

    def __init__(self, *args, bookmarks: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self._with_bookmarks = bookmarks
        self._bookmark_count = 0

    def afterFlowable(self, flowable):  # noqa: N802 - reportlab hook name
        title = getattr(flowable, "bookmark_title", None)
        if title and self._with_bookmarks:
            key = f"h{self._bookmark_count}"
            self._bookmark_count += 1
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(title, key, level=0)


def _heading(text: str) -> Paragraph:
    paragraph = Paragraph(text, _HEADING_STYLE)
    paragraph.bookmark_title = text
    return paragraph


def report_draft(spec: DraftSpec = DraftSpec(), catalogue: Catalogue | None = None) -> bytes:
    """A report draft: title, numbered sections filling the type's page budget, then annexes."""
    catalogue = catalogue or default_catalogue()
    report_type = catalogue.report_type(spec.report_type)
    rng = random.Random(spec.seed)
    buffer = io.BytesIO()
    doc = _BookmarkingDoc(
        buffer,
        pagesize=A4,
        leftMargin=2.5 * cm,
        rightMargin=2.5 * cm,
        topMargin=2.5 * cm,
        bottomMargin=2.5 * cm,
        title=report_type.label,
        author="Camille Martin",
        invariant=1,
        bookmarks=spec.bookmarks,
    )
    story: list = [Paragraph(report_type.label, _TITLE_STYLE), Paragraph("Camille Martin, auditrice", _BODY_STYLE)]
    if spec.table_of_contents:
        story.append(Paragraph("Sommaire", _HEADING_STYLE))
        for index, section_id in enumerate(spec.table_of_contents, start=1):
            story.append(Paragraph(f"{index}. {_HEADINGS[section_id]} ........ {index + 1}", _BODY_STYLE))
        story.append(PageBreak())
    number = 0
    for section_id in SECTION_IDS:
        if section_id not in spec.sections or section_id == "annexes":
            continue
        number += 1
        label = f"{number}. {_HEADINGS[section_id]}" if spec.numbering else _HEADINGS[section_id]
        story.append(_heading(label))
        # ~ 90 words per 6-sentence paragraph and ~ 5 paragraphs per page with this layout.
        paragraphs = max(1, round(report_type.pages_for(section_id) * 5.0 * spec.pages_scale))
        story.extend(Paragraph(_paragraph_text(rng, 6, section_id), _BODY_STYLE) for _ in range(paragraphs))
    if "annexes" in spec.sections and spec.annex_titles:
        story.append(PageBreak())
        story.append(_heading(_HEADINGS["annexes"]))
        for index, title in enumerate(spec.annex_titles, start=1):
            if index > 1:
                story.append(PageBreak())
            story.append(_heading(f"Annexe {index} : {title}"))
            story.extend(Paragraph(_paragraph_text(rng, 4), _BODY_STYLE) for _ in range(3))
    doc.build(story)
    return buffer.getvalue()


def good_draft(report_type: str = "ua", *, bookmarks: bool = True) -> bytes:
    """All sections, within the page limit (6-7 pages UA, ~14 pages stage), two annexes."""
    scale = 0.9 if report_type == "ua" else 1.0  # UA: "moins de 8 pages" means 7 at most
    return report_draft(DraftSpec(report_type=report_type, bookmarks=bookmarks, pages_scale=scale))


def flawed_draft(report_type: str = "ua", *, bookmarks: bool = False) -> bytes:
    """Over the page limit, three sections missing (choix, questions, conclusion), no annexes."""
    kept = tuple(s for s in SECTION_IDS if s not in {"choix", "questions", "conclusion", "annexes"})
    return report_draft(
        DraftSpec(
            report_type=report_type,
            sections=kept,
            bookmarks=bookmarks,
            annex_titles=(),
            pages_scale=1.9 if report_type == "ua" else 2.4,
        )
    )


def text_pdf(pages: int = 15, *, seed: int = 3) -> bytes:
    """A plain text-only PDF of ``pages`` full pages, no headings (bench baseline material)."""
    rng = random.Random(seed)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, invariant=1)
    story: list = []
    for page in range(pages):
        if page:
            story.append(PageBreak())
        story.extend(Paragraph(_paragraph_text(rng, 5), _BODY_STYLE) for _ in range(6))
    doc.build(story)
    return buffer.getvalue()


def annex_pdf(title: str = ANNEX_TITLES[0], pages: int = 2, *, seed: int = 11) -> bytes:
    """An annex document (a programme, a grid…) of ``pages`` pages with its own outline entry."""
    rng = random.Random(seed)
    buffer = io.BytesIO()
    canvas = rl_canvas.Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle(title)
    for page in range(pages):
        canvas.setFont("Helvetica-Bold", 16)
        canvas.drawString(2.5 * cm, 27 * cm, f"{title} ({page + 1}/{pages})")
        if page == 0:
            canvas.bookmarkPage("top")
            canvas.addOutlineEntry(title, "top", level=0)
        canvas.setFont("Helvetica", 10)
        y = 25.5 * cm
        for _ in range(20):
            canvas.drawString(2.5 * cm, y, rng.choice(_SENTENCES)[:95])
            y -= 0.6 * cm
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def scanned_pdf(pages: int = 3) -> bytes:
    """Image-only pages (what a scanner produces): no text layer at all."""
    buffer = io.BytesIO()
    canvas = rl_canvas.Canvas(buffer, pagesize=A4, invariant=1)
    for page in range(pages):
        # Grey "scan" bands drawn as filled rectangles; no text operator anywhere.
        for line in range(40):
            shade = 0.55 + 0.01 * ((line * 7 + page) % 30)
            canvas.setFillGray(shade)
            canvas.rect(2 * cm, (27 - line * 0.6) * cm, (14 + (line % 5)) * cm, 0.35 * cm, stroke=0, fill=1)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def encrypted_pdf(source: bytes | None = None, *, user_password: str = "secret") -> bytes:
    """An AES-256 encrypted copy of ``source`` (a good UA draft by default) that needs a password."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source or good_draft("ua"))))
    writer.encrypt(user_password=user_password, owner_password="owner-" + user_password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def owner_only_encrypted_pdf(source: bytes | None = None) -> bytes:
    """Encrypted with an empty user password: opens without a password (print/copy restrictions only)."""
    return encrypted_pdf(source, user_password="")


def truncated_pdf(source: bytes | None = None, *, keep: float = 0.45) -> bytes:
    """The first ``keep`` fraction of a PDF: what an interrupted download or upload leaves."""
    data = source or good_draft("ua")
    return data[: int(len(data) * keep)]


def garbled_pdf() -> bytes:
    """A PDF header followed by noise: no objects, no cross-reference table."""
    rng = random.Random(5)
    return b"%PDF-1.7\n" + bytes(rng.randrange(256) for _ in range(4000)) + b"\n%%EOF\n"


def docx_renamed() -> bytes:
    """A Word document (.docx), as if renamed to .pdf."""
    import docx  # python-docx, imported lazily: only this generator needs it

    document = docx.Document()
    document.add_heading("Rapport d'activité", level=1)
    document.add_paragraph(_SENTENCES[0])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def plain_text_file() -> bytes:
    """A text file, as if renamed to .pdf."""
    return ("\n".join(_SENTENCES[:6]) + "\n").encode("utf-8")


def png_image() -> bytes:
    """A tiny PNG image (a photo of a page), as if renamed to .pdf."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return len(payload).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = chunk(b"IHDR", (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0]))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b"")


def _zeros_deflate(megabytes: int) -> bytes:
    """A valid zlib stream inflating to ``megabytes`` MiB of zeros, built without inflating anything.

    After a full flush zlib emits byte-aligned, state-independent output, so the compressed form of
    each further MiB of zeros is the same byte string: repeat it, close with an empty final block
    and the Adler-32 of the zeros (a = 1, b = length mod 65521).
    """
    chunk = bytes(1 << 20)
    compressor = zlib.compressobj(9)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    length = megabytes << 20
    adler = ((length % 65521) << 16) | 1
    final_empty_block = b"\x03\x00"
    return first + repeat * (megabytes - 1) + final_empty_block + adler.to_bytes(4, "big")


def decompression_bomb(gigabytes: int = 4) -> bytes:
    """A one-page PDF whose content stream is a few KB and inflates to ``gigabytes`` GiB.

    The stream is deflated twice (``/Filter [/FlateDecode /FlateDecode]``): the outer layer
    inflates to a few MB of zlib data, which inflates to gigabytes of zeros.
    """
    inner = _zeros_deflate(gigabytes * 1024)
    stream = zlib.compress(inner, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
        b"<< /Length %d /Filter [/FlateDecode /FlateDecode] >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(out)


def oversized_pdf(megabytes: int = 21) -> bytes:
    """A good UA draft followed by comment lines, to exceed ``megabytes`` MB (the upload limit)."""
    padding = b"%" + b"x" * 1000 + b"\n"
    count = (megabytes * 1_000_000) // len(padding) + 1
    return good_draft("ua") + padding * count + b"%%EOF\n"


def paged_draft(
    body_pages: int,
    *,
    report_type: str = "ua",
    heading_look: str = "styled",  # styled (bigger, bold), plain (same font as the body)
    numbering: bool = True,
    bookmarks: bool = True,
    contents: str | None = None,  # None, "leaders" ("1. Introduction ........ 2") or "plain" ("Introduction   2")
    cover: bool = True,
    annexes: int = 2,
    seed: int = 5,
) -> bytes:
    """A complete draft whose body fills exactly ``body_pages`` pages (explicit page breaks)."""
    rng = random.Random(seed)
    plain = ParagraphStyle("plain-heading", fontName="Helvetica", fontSize=11, leading=15, spaceBefore=8, spaceAfter=4)
    heading_style = _HEADING_STYLE if heading_look == "styled" else plain
    buffer = io.BytesIO()
    doc = _BookmarkingDoc(buffer, pagesize=A4, leftMargin=2.5 * cm, rightMargin=2.5 * cm, topMargin=2.5 * cm,
                          bottomMargin=2.5 * cm, invariant=1, bookmarks=bookmarks)
    story: list = []
    if cover:
        story += [Paragraph("Rapport d'activité", _TITLE_STYLE), Paragraph("Camille Martin — Cnam Pays de la Loire", _BODY_STYLE),
                  PageBreak()]
    sections = [s for s in SECTION_IDS if s != "annexes"]
    if contents:
        story.append(Paragraph("Sommaire", heading_style))
        for index, section_id in enumerate(sections, start=1):
            label = f"{index}. {_HEADINGS[section_id]}" if numbering else _HEADINGS[section_id]
            filler = " " + "." * 24 + " " if contents == "leaders" else "&nbsp;" * 8
            story.append(Paragraph(f"{label}{filler}{index + 2}", _BODY_STYLE))
        story.append(PageBreak())
    # spread the sections over the pages: each page gets whole sections or parts of one
    per_page: list[list[str]] = [[] for _ in range(body_pages)]
    for index, section_id in enumerate(sections):
        per_page[index * body_pages // len(sections)].append(section_id)
    current = None
    for page, page_sections in enumerate(per_page):
        if page:
            story.append(PageBreak())
        if not page_sections:
            page_sections = [current]
        for section_id in page_sections:
            if section_id != current:
                current = section_id
                number = sections.index(section_id) + 1
                heading = Paragraph(f"{number}. {_HEADINGS[section_id]}" if numbering else _HEADINGS[section_id], heading_style)
                heading.bookmark_title = heading.text
                story.append(heading)
            story.extend(Paragraph(_paragraph_text(rng, 4, section_id), _BODY_STYLE) for _ in range(2 // len(page_sections) or 1))
    for index in range(1, annexes + 1):
        story.append(PageBreak())
        if index == 1:
            story.append(_heading(_HEADINGS["annexes"]))
        story.append(_heading(f"Annexe {index} : {ANNEX_TITLES[index - 1]}"))
        story.append(Paragraph(_paragraph_text(rng, 4), _BODY_STYLE))
    doc.build(story)
    return buffer.getvalue()
