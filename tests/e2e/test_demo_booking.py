"""Smoke test: `coachbot demo --script tests/e2e/demo_booking.txt` replays the booking demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("demo_booking.txt")


def test_booking_demo_script_runs(tmp_path):
    env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--script", str(SCRIPT), "--files", str(tmp_path / "files")],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True, text=True, timeout=120,
    )
    transcript = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Vos disponibilités" in transcript and "lundi 9h–12h" in transcript
    assert "Réserver votre premier rendez-vous" in transcript
    assert "Confirmez votre rendez-vous" in transcript
    assert "Rendez-vous confirmé" in transcript and "Nouveau rendez-vous" in transcript
    assert "Ce que Léa Bernard veut aborder : Faire le point sur mon plan" in transcript
    assert "Rendez-vous annulé" in transcript
    saved = sorted(p.name for p in (tmp_path / "files").glob("rdv-*.ics"))
    assert saved, transcript
    assert "METHOD:CANCEL" in (tmp_path / "files" / saved[0]).read_text()
