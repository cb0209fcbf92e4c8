"""`coachbot review FILE --type ua|stage [--json]` as tutors and staff use it."""

from __future__ import annotations

import argparse
import json

import pytest

from bot.commands import review as review_command
from tests import pdf_factory as factory


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="coachbot")
    review_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["review", *argv])
    return review_command.run(args)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drafts")
    paths = {}
    for name, data in {
        "flawed.pdf": factory.flawed_draft("ua"),
        "good.pdf": factory.good_draft("stage"),
        "word.pdf": factory.docx_renamed(),
        "scan.pdf": factory.scanned_pdf(),
    }.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def test_json_of_a_flawed_draft(files, capsys):
    assert run(str(files["flawed.pdf"]), "--type", "ua", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["problem"] is None
    assert data["page_limit"] == 8 and data["over_limit"] is True and data["pages"] > 8
    assert data["sections_missing"] == ["choix", "questions", "conclusion", "annexes"]
    assert "introduction" in data["sections_found"] and data["annexes"] is False
    assert data["words"] > 1000 and len(data["next_steps"]) == 3


def test_text_output_of_a_good_stage_report(files, capsys):
    assert run(str(files["good.pdf"]), "--type", "stage") == 0
    out = capsys.readouterr().out
    assert "Rapport de stage" in out and "(accepté : 12 à 18 ; total :" in out and "DÉPASSEMENT" not in out
    assert "Parties manquantes : aucune" in out
    assert "Annexes : oui (2)" in out
    assert "&#39;" not in out and "<b>" not in out


def test_a_word_file_exits_1_with_the_export_advice(files, capsys):
    assert run(str(files["word.pdf"]), "--type", "ua") == 1
    out = capsys.readouterr().out
    assert "not_pdf" in out and "document Word" in out and "Fichier > Enregistrer sous > PDF" in out
    assert "<i>" not in out and "&gt;" not in out


def test_a_scan_exits_1_and_json_names_the_problem(files, capsys):
    assert run(str(files["scan.pdf"]), "--type", "ua", "--json") == 1
    assert json.loads(capsys.readouterr().out)["problem"] == "no_text"


def test_missing_file_is_a_usage_error(tmp_path, capsys):
    assert run(str(tmp_path / "absent.pdf"), "--type", "ua") == 2
    assert "no such file" in capsys.readouterr().err


def test_type_is_required_and_checked(files):
    with pytest.raises(SystemExit) as missing:
        run(str(files["good.pdf"]))
    with pytest.raises(SystemExit) as wrong:
        run(str(files["good.pdf"]), "--type", "these")
    assert missing.value.code == 2 and wrong.value.code == 2


def test_json_adds_the_outline_and_the_evidence_per_part(files, capsys):
    assert run(str(files["good.pdf"]), "--type", "stage", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["part"] for e in data["evidence"]][:2] == ["introduction", "choix"]
    assert all(e["status"] in ("heading", "content", "weak", "missing") for e in data["evidence"])
    heading = next(item for item in data["outline"] if item["parts"])
    assert heading["kind"] == "heading" and heading["parts"] == ["introduction"] and heading["page"] >= 1


def test_the_cli_review_equals_the_bot_review(files, capsys):
    from bot.domain import pdf_sandbox
    from bot.domain.pdf_review import PdfReview

    assert run(str(files["flawed.pdf"]), "--type", "ua", "--json") == 0
    from_cli = PdfReview.from_json(json.loads(capsys.readouterr().out))
    assert from_cli == pdf_sandbox.review_pdf_isolated_sync(files["flawed.pdf"].read_bytes(), "ua")


def test_the_cli_child_is_killed_at_the_timeout():
    import time

    from bot.domain import pdf_sandbox

    outcome = pdf_sandbox.run_forked(time.sleep, (30,), timeout=0.3)
    assert outcome.status == "timeout" and outcome.seconds < 3
    assert pdf_sandbox.run_forked(bytearray, (500 * 2**20,), memory_mb=300).status == "memory"
    assert pdf_sandbox.run_forked(len, (b"abc",)).value == 3


def test_review_dispatch_imports_neither_the_bot_nor_the_database(files):
    import subprocess
    import sys

    code = (
        "import sys; from bot.cli import main; main(['review', sys.argv[1], '--type', 'ua', '--json']);"
        "heavy = [m for m in ('telegram', 'sqlalchemy', 'bot.config', 'jinja2') if m in sys.modules];"
        "print('HEAVY', heavy, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(files["good.pdf"])], capture_output=True, text=True)
    assert "HEAVY []" in done.stderr
