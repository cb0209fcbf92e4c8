"""Build templates/plan/plan_base.docx, the base of the /plan and /ressources documents.

Run once after changing the look (``python templates/plan/build_template.py``) and commit the
result. The base holds the styles only (fonts, headings, margins, the "Coach note" style); the
content is added by bot/documents/plan.py and bot/documents/resources.py.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "plan_base.docx"
NOTE_STYLE = "Coach note"
BUDGET_STYLE = "Coach budget"


def build(output: Path = OUTPUT) -> Path:
    document = Document()
    for section in document.sections:
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)
        section.left_margin = section.right_margin = Cm(2.5)
        section.top_margin = section.bottom_margin = Cm(2.0)
    styles = document.styles
    normal = styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    for name, size in (("Title", 22), ("Heading 1", 16), ("Heading 2", 13)):
        styles[name].font.name = "Calibri"
        styles[name].font.size = Pt(size)
    note = styles.add_style(NOTE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    note.base_style = normal
    note.font.italic = True
    note.font.color.rgb = RGBColor(0x1F, 0x5F, 0x8B)
    budget = styles.add_style(BUDGET_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    budget.base_style = normal
    budget.font.size = Pt(9)
    budget.font.color.rgb = RGBColor(0x6B, 0x6B, 0x6B)
    document.core_properties.author = "coachbot"
    document.save(output)
    return output


if __name__ == "__main__":
    print(build())
