"""`coachbot suivi --csv`, `coachbot calendrier`, `coachbot grille` as staff run them."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from bot.cli import main


@pytest.fixture
def coachbot(tmp_path, monkeypatch, capsys):
    """The command in-process (the subprocess path is covered by test_cli_and_demo)."""
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "DATABASE_URL", "WEBHOOK_", "LLM_", "SMTP_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run(*args, env, cwd):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        code = main(list(args))
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


def test_cohort_csv_academic_calendar_and_certifier_grid(tmp_path, coachbot):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "TELEGRAM_BOT_USERNAME": "cnam_coach_bot"}
    assert coachbot("invite", "tutor", "--name", "Marc Dubois", env=env, cwd=tmp_path).returncode == 0
    enrolled = coachbot("enrol", "--name", "Léa Bernard", "--tutor", "Dubois", "--report-type", "ua", "--semester",
                        "2026-S1", "--certification", "Licence pro", "--units-validated", "2", "--experience", "justified",
                        env=env, cwd=tmp_path)
    assert enrolled.returncode == 0, enrolled.stderr
    csv = coachbot("suivi", "--csv", env=env, cwd=tmp_path)
    assert csv.returncode == 0, csv.stderr
    lines = csv.stdout.strip().splitlines()
    assert lines[0].startswith("auditeur,tuteur,certification,semestre,etape,stage")
    assert lines[1].startswith("Léa Bernard,Marc Dubois,Licence pro,2026-S1,1,enrolled,") and lines[1].endswith(",non,2027-08-31")
    listed = coachbot("suivi", env=env, cwd=tmp_path)
    assert "Léa Bernard | tuteur Marc Dubois | 2026-S1 | étape 1" in listed.stdout

    args = ["calendrier", "--year", "2027", "--s1", "2027-09-01:2028-01-20", "--s1-enrolment", "2027-10-01:2027-10-31",
            "--s2", "2028-01-21:2028-07-15", "--s2-enrolment", "2028-02-01:2028-03-31"]
    done = coachbot(*args, env=env, cwd=tmp_path)
    assert done.returncode == 0 and "Année 2027-2028 enregistrée" in done.stdout, done.stderr
    bad = coachbot(*args[:4], "2028-02-01:2028-01-20", *args[5:], env=env, cwd=tmp_path)
    assert bad.returncode == 1 and "Dates incohérentes" in bad.stderr
    garbled = coachbot(*args[:4], "demain", *args[5:], env=env, cwd=tmp_path)
    assert garbled.returncode == 2 and "Dates non valides" in garbled.stderr

    grid = tmp_path / "fiche.toml"
    grid.write_text('title = "Fiche navette CNAM"\n[[criteria]]\nid = "analyse"\nlabel = "Analyse réflexive"\n', encoding="utf-8")
    loaded = coachbot("grille", "--certification", "Licence pro", str(grid), env=env, cwd=tmp_path)
    assert loaded.returncode == 0 and "Fiche navette CNAM" in loaded.stdout and "1 critères" in loaded.stdout
