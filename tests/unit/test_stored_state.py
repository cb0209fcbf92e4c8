"""What the coach stores between two messages (conversation state, remarks), as stored and as read back,
including states stored by an older version without the newer keys."""

from __future__ import annotations

from bot.domain.coaching import ReportProgress, SectionSession, SectionStatus
from bot.domain.feedback import Remark
from bot.domain.report import load_catalogue
from bot.paths import PROMPTS_DIR


def test_a_remark_is_stored_with_every_field_and_read_back():
    remark = Remark("length", "forme", "« J'ai animé… »", {"words": 12, "target": 225})
    stored = remark.to_dict()
    assert stored == {"check_id": "length", "criterion_id": "forme", "quote": "« J'ai animé… »", "params": {"words": 12, "target": 225}}
    back = Remark.from_dict(stored)
    assert (back.check_id, back.criterion_id, back.quote, back.params) == ("length", "forme", "« J'ai animé… »", {"words": 12, "target": 225})


def test_a_remark_stored_without_quote_or_params():
    back = Remark.from_dict({"check_id": "empty", "criterion_id": "forme"})
    assert (back.quote, back.params) == (None, {})
    params = {"words": 3}
    assert Remark.from_dict({"check_id": "length", "criterion_id": "forme", "params": params}).params is not params


def test_a_section_session_is_stored_and_read_back():
    session = SectionSession(
        section_id="contexte", question_ids=("structure", "public"), answers={"structure": ["Une association"], "public": []},
        skipped={"public", "acteurs"}, current=1, status=SectionStatus.STARTED,
    )
    stored = session.to_dict()
    assert stored == {
        "section_id": "contexte", "question_ids": ["structure", "public"], "answers": {"structure": ["Une association"], "public": []},
        "skipped": ["acteurs", "public"], "current": 1, "status": "started",
    }
    back = SectionSession.from_dict(stored)
    assert (back.section_id, back.question_ids, back.answers, back.skipped, back.current, back.status) == (
        "contexte", ("structure", "public"), {"structure": ["Une association"]}, {"public", "acteurs"}, 1, SectionStatus.STARTED,
    )


def test_a_session_stored_with_only_its_section():
    back = SectionSession.from_dict({"section_id": "role"})
    assert (back.question_ids, back.answers, back.skipped, back.current, back.status) == ((), {}, set(), 0, SectionStatus.NOT_STARTED)


def test_the_progress_is_stored_with_its_version_and_read_back_with_the_catalogue():
    catalogue = load_catalogue(PROMPTS_DIR)
    progress = ReportProgress(report_type="ua")
    progress.open(catalogue.section("choix"))
    stored = progress.to_dict()
    assert stored["version"] == 1
    assert (stored["report_type"], stored["active_section"], list(stored["sections"])) == ("ua", "choix", ["choix"])
    stored["sections"]["ancienne"] = {"section_id": "ancienne"}  # a section since removed from the catalogue
    back = ReportProgress.from_dict(stored, catalogue)
    assert (back.report_type, back.active_section, list(back.sessions)) == ("ua", "choix", ["choix"])
    assert back.sessions["choix"].question_ids == tuple(q.id for q in catalogue.section("choix").questions)
    without_catalogue = ReportProgress.from_dict(stored)
    assert list(without_catalogue.sessions) == ["choix", "ancienne"]
    assert ReportProgress.from_dict({"report_type": "stage"}).active_section is None
