"""Stable ids of the report catalogue, importable without loading anything (the CLI parses them first)."""

SECTION_IDS: tuple[str, ...] = (
    "introduction",
    "choix",
    "contexte",
    "role",
    "actes",
    "difficultes",
    "competences",
    "questions",
    "conclusion",
    "annexes",
)
REPORT_TYPE_IDS: tuple[str, ...] = ("ua", "stage")
