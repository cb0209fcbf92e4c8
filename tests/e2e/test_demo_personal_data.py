"""Smoke test: `coachbot demo --script tests/e2e/demo_personal_data.txt` (/mesdonnees, /supprimer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("demo_personal_data.txt")


def test_personal_data_demo_script_runs(tmp_path):
    env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--script", str(SCRIPT), "--files", str(tmp_path / "files")],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True, text=True, timeout=120,
    )
    transcript = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Vos données personnelles" in transcript
    assert "efface définitivement" in transcript and "Rien n'a été effacé" in transcript
    assert "il faut transmettre" in transcript
    [copy] = (tmp_path / "files").glob("mes-donnees-*.json")
    assert json.loads(copy.read_text(encoding="utf-8"))["person"]["display_name"] == "Léa Bernard"
    assert list((tmp_path / "files").glob("mes-donnees-*.docx"))
    assert "problème technique" not in transcript
