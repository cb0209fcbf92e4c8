"""The completed evaluation grid as a PDF: the attestation the auditeur needs for the diploma request.

Built with reportlab (platypus): a title, who and what, one table row per criterion with the
tutor's assessment and comment, the verdict and its reasons. Every word comes from the grid itself
and ``templates/accompaniment/grid_pdf.toml``. ``invariant`` mode: the same opinion gives the same
bytes (no creation date, fixed document id).
"""

from __future__ import annotations

import io
import tomllib
from datetime import date
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bot.paths import TEMPLATES_DIR


@lru_cache(maxsize=1)
def _labels() -> dict:
    with (TEMPLATES_DIR / "accompaniment" / "grid_pdf.toml").open("rb") as handle:
        return tomllib.load(handle)


def _p(text: str, style) -> Paragraph:
    return Paragraph(escape(text or "").replace("\n", "<br/>"), style)


def build_grid_pdf(document: dict) -> bytes:
    """``document``: what the accompaniment service stores with the opinion (grid, assessments…)."""
    labels = _labels()
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=8.5, leading=10.5)
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=1.8 * cm, rightMargin=1.8 * cm, topMargin=1.5 * cm, bottomMargin=1.5 * cm,
        title=document["grid"]["title"], author=document.get("tutor", ""), invariant=1,
    )
    given = date.fromisoformat(document["given_on"]).strftime("%d/%m/%Y")
    story = [
        _p(labels["heading"], small),
        Spacer(1, 4),
        _p(document["grid"]["title"], styles["Title"]),
    ]
    who = [
        (labels["auditeur"], document["auditeur"]),
        (labels["tutor"], document["tutor"]),
        (labels["certification"], document["certification"]),
        (labels["report_type"], labels["report_types"].get(document.get("report_type", ""), document.get("report_type", ""))),
        (labels["semester"], document.get("semester", "")),
        (labels["date"], given),
    ]
    story.append(Table([[_p(k, small), _p(v, body)] for k, v in who], colWidths=[4.5 * cm, 12.5 * cm]))
    story.append(Spacer(1, 10))
    rows = [[_p(labels["criterion"], small), _p(labels["assessment"], small), _p(labels["comment"], small)]]
    for criterion in document["grid"]["criteria"]:
        rows.append([
            _p(f"{criterion['label']}\n{criterion.get('description', '')}", small),
            _p(document["assessments"].get(criterion["id"], ""), body),
            _p(document.get("comments", {}).get(criterion["id"], ""), small),
        ])
    table = Table(rows, colWidths=[7.5 * cm, 3.2 * cm, 6.3 * cm], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story += [table, Spacer(1, 12)]
    story.append(_p(f"{labels['verdict']} : {document['verdict'].upper()}", styles["Heading2"]))
    story.append(_p(labels["reasons"], styles["Heading4"]))
    story.append(_p(document["reasons"], body))
    story += [Spacer(1, 16), _p(labels["footer"], small)]
    pdf.build(story)
    return out.getvalue()
