"""Smoke test: `coachbot demo --script tests/e2e/demo_accompaniment.txt` shows the five steps."""

from __future__ import annotations

from pathlib import Path

from tests import pdf_factory as factory
from tests.e2e.demo_transcript import demo_transcript

SCRIPT = Path(__file__).with_name("demo_accompaniment.txt")


def test_accompaniment_demo_script_shows_the_five_steps(tmp_path):
    (tmp_path / "brouillon.pdf").write_bytes(factory.flawed_draft("ua"))
    (tmp_path / "revise.pdf").write_bytes(factory.good_draft("ua"))
    (tmp_path / "annote.pdf").write_bytes(factory.annex_pdf(factory.ANNEX_TITLES[0], pages=2))
    out = demo_transcript(SCRIPT, tmp_path)
    assert "étape 1" in out and "Rendez-vous confirmé" in out
    assert "Premier rendez-vous tenu" in out and "dépasse la limite" in out and "Votre planning est fixé" in out
    assert "dans 14 jours" in out
    assert "6 semaines : vacances de noël du 19 décembre 2026 au 3 janvier 2027" in out
    assert "dans 7 jours" in out and "a rendu la correction annotée" in out
    assert "a transmis sa version révisée" in out
    assert "Avis de votre tuteur Marc Dubois : validé" in out and "avis rendu : validé" in out
    assert "Suivi des accompagnements" in out and "problème technique" not in out
    grids = list((tmp_path / "files").glob("grille-evaluation-*.pdf"))
    assert grids and grids[0].read_bytes().startswith(b"%PDF")
