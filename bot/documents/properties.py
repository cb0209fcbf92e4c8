"""What Word shows about a generated .docx: French language on every style, title, author, dates."""

from __future__ import annotations

from datetime import UTC, datetime

from docx.document import Document as DocxDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

LANGUAGE = "fr-FR"


def _set_lang(r_pr) -> None:
    lang = _child(r_pr, "w:lang", _AFTER_LANG)
    for attribute in ("w:val", "w:eastAsia", "w:bidi"):
        lang.set(qn(attribute), LANGUAGE)


_AFTER_RPR = ("w:tblPr", "w:trPr", "w:tcPr", "w:tblStylePr")  # schema order inside w:style
_AFTER_LANG = ("w:eastAsianLayout", "w:specVanish", "w:oMath")  # schema order inside w:rPr


def _child(parent, tag: str, before: tuple[str, ...] = _AFTER_RPR):
    """The `tag` child of `parent`, created when missing (before any of `before`, as the schema wants)."""
    child = parent.find(qn(tag))
    if child is None:
        child = OxmlElement(tag)
        following = [parent.find(qn(name)) for name in before]
        following = [element for element in following if element is not None]
        if following:
            following[0].addprevious(child)
        else:
            parent.append(child)
    return child


def set_french(document: DocxDocument) -> None:
    """Tag the document defaults and every paragraph/character/table style as French (spell check)."""
    styles = document.styles.element
    doc_defaults = styles.find(qn("w:docDefaults"))
    if doc_defaults is None:
        doc_defaults = OxmlElement("w:docDefaults")
        styles.insert(0, doc_defaults)
    r_pr_default = doc_defaults.find(qn("w:rPrDefault"))
    if r_pr_default is None:
        r_pr_default = OxmlElement("w:rPrDefault")
        doc_defaults.insert(0, r_pr_default)
    _set_lang(_child(r_pr_default, "w:rPr"))
    for style in styles.findall(qn("w:style")):
        if style.get(qn("w:type")) == "numbering":
            continue
        _set_lang(_child(style, "w:rPr"))
    settings = document.settings.element
    theme_font_lang = settings.find(qn("w:themeFontLang"))
    if theme_font_lang is not None:
        theme_font_lang.set(qn("w:val"), LANGUAGE)


def set_properties(document: DocxDocument, *, title: str, author: str, created: datetime | None) -> None:
    """Title, author and real dates (the base template says 2013 and "python-docx")."""
    moment = (created or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    properties = document.core_properties
    properties.title = title
    properties.author = author
    properties.last_modified_by = author
    properties.created = moment
    properties.modified = moment
    properties.language = LANGUAGE
    properties.comments = ""
    properties.revision = 1
