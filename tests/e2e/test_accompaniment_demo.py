"""Smoke test: `coachbot demo --script tests/e2e/demo_accompaniment.txt` shows the five steps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import pdf_factory as factory

SCRIPT = Path(__file__).with_name("demo_accompaniment.txt")


def test_accompaniment_demo_script_shows_the_five_steps(tmp_path):
    (tmp_path / "brouillon.pdf").write_bytes(factory.flawed_draft("ua"))
    (tmp_path / "revise.pdf").write_bytes(factory.good_draft("ua"))
    (tmp_path / "annote.pdf").write_bytes(factory.annex_pdf(factory.ANNEX_TITLES[0], pages=2))
    env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--script", str(SCRIPT), "--files", str(tmp_path / "files")],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True, text=True, timeout=180,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
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
