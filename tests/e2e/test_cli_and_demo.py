"""The `coachbot` command as a user runs it: configuration errors, invitations, the scripted demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def coachbot(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL", "WEBHOOK_", "LLM_"))}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=clean, cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "123:short"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "TIMEZONE": "Paris"}, "TIMEZONE"),
        ({"TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "STAFF_TELEGRAM_IDS": "moi"}, "STAFF_TELEGRAM_IDS"),
    ],
)
def test_configuration_errors_give_one_line_and_exit_code_2(tmp_path, env, variable):
    result = coachbot("run", env={"COACHBOT_DATA_DIR": str(tmp_path), **env}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Erreur de configuration : " + variable), result.stderr
    assert "Traceback" not in result.stderr


def test_dotenv_file_is_read(tmp_path):
    # A valid token and a bad time zone, only in .env: the error can only name TIMEZONE if .env was read
    # (a missing or bad token would be reported first).
    (tmp_path / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ\nTIMEZONE=Lune/Tranquillité\n", encoding="utf-8"
    )
    result = coachbot("run", env={"COACHBOT_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Erreur de configuration : TIMEZONE"), result.stderr


def test_db_upgrade_invite_and_enrol_from_the_command_line(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "TELEGRAM_BOT_USERNAME": "cnam_coach_bot"}
    assert coachbot("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    invited = coachbot("invite", "tutor", "--name", "Marc Dubois", "--email", "marc@exemple.fr", env=env, cwd=tmp_path)
    assert invited.returncode == 0, invited.stderr
    assert re.search(r"https://t\.me/cnam_coach_bot\?start=[A-Z0-9]{12}", invited.stdout)
    enrolled = coachbot(
        "enrol", "--name", "Léa Bernard", "--tutor", "Dubois", "--report-type", "ua", "--semester", "2026-S1",
        "--certification", "Licence professionnelle", "--units-validated", "3", "--experience", "justified",
        env=env, cwd=tmp_path,
    )
    assert enrolled.returncode == 0, enrolled.stderr
    assert "Inscription enregistrée pour Léa Bernard (ua, 2026-S1, tuteur : Marc Dubois)" in enrolled.stdout
    wrong = coachbot(
        "enrol", "--name", "X", "--tutor", "Personne", "--report-type", "ua", "--semester", "2026-S1",
        "--certification", "L", "--units-validated", "2", "--experience", "in_progress", env=env, cwd=tmp_path,
    )
    assert wrong.returncode == 1 and "Aucun tuteur actif ne correspond à « Personne »" in wrong.stderr
    # the offer's prerequisites (seed 003): refused below 2 units or without the experience, nothing created
    for units, experience, message in (("1", "justified", "au moins 2 unités d’enseignement"),
                                       ("4", "missing", "l’expérience professionnelle minimum")):
        refused = coachbot(
            "enrol", "--name", "Zoé Faure", "--tutor", "Dubois", "--report-type", "ua", "--semester", "2026-S1",
            "--certification", "Licence professionnelle", "--units-validated", units, "--experience", experience,
            env=env, cwd=tmp_path,
        )
        assert refused.returncode == 1 and message in refused.stderr and "inscription refusée" in refused.stderr
    missing = coachbot(
        "enrol", "--name", "Zoé Faure", "--tutor", "Dubois", "--report-type", "ua", "--semester", "2026-S1",
        "--certification", "Licence professionnelle", env=env, cwd=tmp_path,
    )
    assert missing.returncode == 2 and "--units-validated" in missing.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "cli.db") as connection:
        rows = connection.execute(
            "SELECT p.display_name, e.units_validated, e.experience FROM enrolments e JOIN people p ON p.id = e.auditeur_id"
        ).fetchall()
    assert rows == [("Léa Bernard", 3, "justified")]


def test_scripted_demo_replays_a_conversation(tmp_path):
    script = tmp_path / "demo.txt"
    script.write_text(
        "# a comment\n/menu\n:1\n:staff\n/inscrire\nJean <Test>\nLicence pro\n2\n:1\n:1\n:2\n:1\n:1\n:tuteur\n/inscrire\n:quit\n",
        encoding="utf-8",
    )
    result = coachbot("demo", "--script", str(script), "--files", str(tmp_path / "files"), cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Coachbot — démonstration" in out
    assert "Léa Bernard > /menu" in out and "Que souhaitez-vous faire ?" in out
    assert "Claire Martin > /inscrire" in out and "Inscrire un auditeur (étape 1 sur 7)" in out
    assert "Inscription enregistrée pour Jean <Test> : rapport de stage" in out
    assert re.search(r"https://t\.me/coachbot_demo_bot\?start=[A-Z0-9]{12}", out)
    assert "Marc Dubois > /inscrire" in out and "n'est pas disponible pour votre profil" in out
    assert "problème technique" not in out


def test_demo_without_a_token_is_the_default(tmp_path):
    script = tmp_path / "empty.txt"
    script.write_text("", encoding="utf-8")
    result = coachbot("demo", "--script", str(script), cwd=tmp_path)
    assert result.returncode == 0 and "Coachbot — démonstration" in result.stdout
    missing = coachbot("demo", "--script", str(tmp_path / "nope.txt"), cwd=tmp_path)
    assert missing.returncode == 2 and "Fichier introuvable" in missing.stderr


def test_personne_export_and_erase_from_the_command_line(tmp_path):
    import json

    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "TELEGRAM_BOT_USERNAME": "cnam_coach_bot"}
    assert coachbot("invite", "tutor", "--name", "Marc Dubois", env=env, cwd=tmp_path).returncode == 0
    assert coachbot(
        "enrol", "--name", "Léa Bernard", "--tutor", "Dubois", "--report-type", "ua", "--semester", "2026-S1",
        "--certification", "Licence professionnelle", "--units-validated", "2", "--experience", "justified",
        env=env, cwd=tmp_path,
    ).returncode == 0
    out = tmp_path / "export"

    dry = coachbot("personne", "export", "--name", "  léa BERNARD ", "--out", str(out), "--dry-run", env=env, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "Simulation" in dry.stdout and "enrolments : 1" in dry.stdout and not out.exists()
    done = coachbot("personne", "export", "--name", "Léa Bernard", "--out", str(out), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [json_file] = out.glob("*.json")
    assert json.loads(json_file.read_text(encoding="utf-8"))["person"]["display_name"] == "Léa Bernard"
    assert len(list(out.glob("*.docx"))) == 1

    tutor = coachbot("personne", "erase", "--name", "Marc Dubois", env=env, cwd=tmp_path)
    assert tutor.returncode == 1 and "1 auditeur en cours" in tutor.stdout and "handover" in tutor.stdout
    preview = coachbot("personne", "erase", "--name", "Léa Bernard", "--dry-run", env=env, cwd=tmp_path)
    assert preview.returncode == 0 and "Simulation : rien n'est effacé" in preview.stdout
    assert "preuve de votre consentement" in preview.stdout
    erased = coachbot("personne", "erase", "--name", "Léa Bernard", env=env, cwd=tmp_path)
    assert erased.returncode == 0 and "effacées" in erased.stdout, erased.stderr
    gone = coachbot("personne", "export", "--name", "Léa Bernard", "--dry-run", env=env, cwd=tmp_path)
    assert gone.returncode == 1 and "Personne ne correspond" in gone.stderr
    assert coachbot("personne", "erase", "--name", "Marc Dubois", "--dry-run", env=env, cwd=tmp_path).returncode == 0
