"""Smoke test: `coachbot demo --script tests/e2e/demo_personal_data.txt` (/mesdonnees, /supprimer)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.demo_transcript import demo_transcript

SCRIPT = Path(__file__).with_name("demo_personal_data.txt")


def test_personal_data_demo_script_runs(tmp_path):
    transcript = demo_transcript(SCRIPT, tmp_path)
    assert "Vos données personnelles" in transcript
    assert "efface définitivement" in transcript and "Rien n'a été effacé" in transcript
    assert "il faut transmettre" in transcript
    [copy] = (tmp_path / "files").glob("mes-donnees-*.json")
    assert json.loads(copy.read_text(encoding="utf-8"))["person"]["display_name"] == "Léa Bernard"
    assert list((tmp_path / "files").glob("mes-donnees-*.docx"))
    assert "problème technique" not in transcript
