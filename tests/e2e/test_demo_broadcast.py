"""Smoke test: `coachbot demo --script tests/e2e/demo_broadcast.txt` (/diffuser)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.demo_transcript import demo_transcript

SCRIPT = Path(__file__).with_name("demo_broadcast.txt")


def test_broadcast_demo_script_runs(tmp_path):
    transcript = demo_transcript(SCRIPT, tmp_path)
    assert "Aperçu" in transcript and "Destinataires : 1" in transcript
    assert transcript.count("Les inscriptions au 2e semestre sont ouvertes") >= 2  # the preview, then Léa's copy
    assert "Diffusion n° 1 terminée" in transcript or "terminée" in transcript
    assert "problème technique" not in transcript
