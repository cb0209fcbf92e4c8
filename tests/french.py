"""Patterns that must never appear in what the bot says (French typography and grammar)."""

from __future__ import annotations

import re

_VOWEL = "aàâäeéèêëiîïoôöuùûüyœæAÀÂÄEÉÈÊËIÎÏOÔÖUÙÛÜYŒÆ"

FORBIDDEN: list[tuple[str, re.Pattern]] = [
    ("article not elided before a vowel", re.compile(rf"(?<![\w’'-])(?:[Dd]e|[Qq]ue|[Ll]e|[Jj]e|[Nn]e|[Ss]e) [{_VOWEL}]\w")),
    ("« (s) » instead of a real plural", re.compile(r"\w\((?:s|e|es|e\)\(s)\)")),
    ("singular number with a plural noun", re.compile(r"(?<![\d,.\u202f])\b[01] (?:parties|pages|messages|minutes|mots|heures|questions|semaines|annexes|rendez-vous de suivi restants)\b")),
    ("plural number with a singular noun", re.compile(r"\b(?:[2-9]|\d\d+) (?:partie|page|message|minute|mot|heure|question|semaine|annexe)\b(?!s)")),
    ("« 0 minute » instead of words", re.compile(r"\b0 minute\b")),
    ("« ≈ » in a sentence", re.compile(r"≈")),
    ("negation without « ne »", re.compile(
        r"(?<![’'])(?<!n['’]y )(?<!\bne )(?<!\bne (?:se|me|te|le|la|en) )(?<!\bne (?:lui|les) )(?<!\bne (?:vous|nous|leur) )"
        r"\b(?:était|est|sont|a|ont) pas\b")),
    ("nested parentheses", re.compile(r"\([^()]*\([^()]*\)[^()]*\)")),
    ("two parentheses in a row", re.compile(r"\)\s*\(")),
    ("« pour que le bot crée » after « ou »", re.compile(r"ou \S+ pour que le bot")),
    ("« seul » not agreeing with a feminine noun", re.compile(r"\b[Ss]euls? (?:la|une|cette|l['’](?:équipe|auditrice|administration))\b")),
    ("space before a comma or a full stop", re.compile(r"\w +[,.](?![\w.])")),
]


DOUBLED_SPACE = re.compile(r"\S  +\S")


def forbidden_french(text: str, *, fragment: bool = False, aligned: bool = False) -> list[str]:
    """The names of the rules `text` breaks, with the offending excerpt.

    `fragment`: a piece of a sentence (a label, a button), which may start in lower case;
    `aligned`: plain-text output laid out in columns, where several spaces are allowed.
    """
    problems = []
    if not aligned and DOUBLED_SPACE.search(text):
        problems.append(f"doubled space: {DOUBLED_SPACE.search(text).group(0)!r}")
    for name, pattern in FORBIDDEN:
        for match in pattern.finditer(text):
            start = max(match.start() - 20, 0)
            problems.append(f"{name}: …{text[start:match.end() + 20]}…")
    first = re.search(r"[^\W\d_]", text)
    if not fragment and first and first.group(0).islower() and not re.match(r"\s*[/<«\"(•–-]|\s*\w+://", text):
        problems.append(f"starts in lower case: {text[:40]!r}")
    return problems
