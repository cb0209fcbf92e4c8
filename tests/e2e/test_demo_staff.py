"""Smoke test: `coachbot demo --script tests/e2e/demo_staff.txt` replays the staff tools demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("demo_staff.txt")


def test_staff_demo_script_runs(tmp_path):
    env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--script", str(SCRIPT), "--files", str(tmp_path / "files")],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True, text=True, timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "au moins 2 unités d’enseignement de la certification visée (1 pour l’instant)" in out
    assert "Vérifiez l’inscription avant de la créer" in out
    assert "Prérequis : 2 unités d’enseignement validées ; expérience professionnelle minimum en cours d’acquisition" in out
    assert "Inscription enregistrée pour Nina Petit" in out and "Transférer l’invitation" in out
    assert "Doublon possible" in out and "Invitation abandonnée" in out
    assert "Nina Petit, UA" in out and "code envoyé, valable jusqu’au" in out
    assert "Code révoqué" in out and out.count("start=") >= 2
    assert "Invitation : code expiré ou révoqué : envoyez-en un nouveau\nInscription" in out
    assert "Nouveau code d’invitation pour Nina Petit : les codes précédents ne fonctionnent plus" in out
    assert "problème technique" not in out
