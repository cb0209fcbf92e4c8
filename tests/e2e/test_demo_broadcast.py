"""Smoke test: `coachbot demo --script tests/e2e/demo_broadcast.txt` (/diffuser)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("demo_broadcast.txt")


def test_broadcast_demo_script_runs(tmp_path):
    env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--script", str(SCRIPT), "--files", str(tmp_path / "files")],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True, text=True, timeout=120,
    )
    transcript = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Aperçu" in transcript and "Destinataires : 1" in transcript
    assert transcript.count("Les inscriptions au 2e semestre sont ouvertes") >= 2  # the preview, then Léa's copy
    assert "Diffusion n° 1 terminée" in transcript or "terminée" in transcript
    assert "problème technique" not in transcript
