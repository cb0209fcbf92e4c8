"""The drafts demo script, replayed by the `coachbot` console script (forkserver children re-run it)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from tests import pdf_factory as factory

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "e2e" / "demo_drafts.txt"


def _coachbot() -> list[str]:
    """The installed console script (a path-based __main__), else ``python -m bot``."""
    installed = Path(sys.executable).with_name("coachbot")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "bot"]


def test_drafts_demo_script(tmp_path):
    files = {
        "brouillon-1.pdf": factory.flawed_draft("ua"),
        "brouillon-2.pdf": factory.good_draft("ua"),
        "rapport-word.pdf": factory.docx_renamed(),
        "Programme de la formation.pdf": factory.annex_pdf(factory.ANNEX_TITLES[0], pages=2),
        "Grille d'évaluation.pdf": factory.annex_pdf(factory.ANNEX_TITLES[1], pages=1, seed=5),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL", "WEBHOOK_", "LLM_"))}
    result = subprocess.run(
        [*_coachbot(), "demo", "--script", str(SCRIPT), "--files", str(tmp_path / "out")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "C'est au-delà de la limite : le rapport doit faire moins de 8 pages" in out
    assert "Par rapport à la version précédente" in out and "tient de nouveau dans la limite" in out
    assert "Nouveau brouillon de Léa Bernard (version 2" in out
    assert "Le plan que j'ai compris" in out and "Plan compris :" in out  # the auditeur's and the tutor's
    assert "→ Introduction" in out
    assert "C'est un document Word, pas un PDF" in out
    assert "fichier non relu : pas un PDF" in out
    assert "Brouillons de Léa Bernard" in out
    assert "Quelle version de votre rapport voulez-vous déposer ?" in out and "⚠️ au-delà de la limite" in out
    assert "Rapport : votre version 2" in out and "Annexe 2 — Grille d'évaluation (1 p.)" in out
    assert "Dépôt repris là où vous l’aviez laissé" in out and "« Grille d'évaluation » est maintenant l’annexe 1" in out
    assert "problème technique" not in out and "trop complexe" not in out
    deposit = tmp_path / "out" / "rapport-depot-lea-bernard.pdf"
    reader = PdfReader(io.BytesIO(deposit.read_bytes()))
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert titles == ["Rapport", "Annexe 1 — Grille d'évaluation", "Annexe 2 — Programme de la formation"]
    assert len(reader.pages) == len(PdfReader(io.BytesIO(files["brouillon-2.pdf"])).pages) + 3
