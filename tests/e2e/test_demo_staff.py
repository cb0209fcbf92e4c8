"""Smoke test: `coachbot demo --script tests/e2e/demo_staff.txt` replays the staff tools demo."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.demo_transcript import demo_transcript

SCRIPT = Path(__file__).with_name("demo_staff.txt")


def test_staff_demo_script_runs(tmp_path):
    out = demo_transcript(SCRIPT, tmp_path)
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
