"""Helpers the services and handlers use that no unit test reached: the coach's messages typed at a
section's summary, remark placeholders, intervals, the menu, the review's text folding."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.accompaniment import overdue
from bot.domain.capabilities import commands_for, menu_for
from bot.domain.coaching import CoachingError, SectionSession
from bot.domain.drafts import check_annex
from bot.domain.feedback import Remark, render_remark
from bot.domain.pdf_review import PdfReview, fold
from bot.domain.people import InvitationIssued, PersonView, Role
from bot.domain.report import load_catalogue
from bot.domain.slots import Interval
from bot.domain.structure import Evidence
from bot.paths import PROMPTS_DIR
from tests import pdf_factory as factory


def session() -> SectionSession:
    return SectionSession(section_id="contexte", question_ids=("structure", "public", "acteurs"), answers={"structure": ["Une association"]},
                          skipped={"public"})


def test_a_message_at_the_summary_goes_to_the_first_question_without_answer():
    assert session().follow_up_question() == "public"
    full = SectionSession(section_id="contexte", question_ids=("structure", "public"), answers={"structure": ["a"], "public": ["b"]})
    assert full.follow_up_question() == "public"  # all answered: the last one


def test_adding_to_an_answer_keeps_the_position_and_unskips():
    s = session()
    assert s.add_to("public", "  Des demandeurs d'emploi  ")
    assert s.answers["public"] == ["Des demandeurs d'emploi"] and "public" not in s.skipped
    assert s.add_to("structure", "Créée en 1998")
    assert s.answers["structure"] == ["Une association", "Créée en 1998"]
    assert not s.add_to("acteurs", "   ") and "acteurs" not in s.answers
    with pytest.raises(CoachingError):
        s.add_to("inconnue", "texte")


def test_a_placeholder_without_value_stays_visible():
    catalogue = load_catalogue(PROMPTS_DIR)
    rendered = render_remark(Remark("length", "forme", None, {"variant": "short", "words": 12}), catalogue)
    assert "12 mots" in rendered.text and "{target}" in rendered.text and "{pages}" in rendered.text


def test_intervals_touching_do_not_overlap():
    nine = datetime(2027, 1, 5, 9, tzinfo=UTC)
    a = Interval(nine, nine + timedelta(hours=1))
    assert not a.overlaps(Interval(nine + timedelta(hours=1), nine + timedelta(hours=2)))
    assert not Interval(nine - timedelta(hours=1), nine).overlaps(a)
    assert a.overlaps(Interval(nine + timedelta(minutes=59), nine + timedelta(hours=2)))
    assert a.overlaps(Interval(nine - timedelta(hours=1), nine + timedelta(minutes=1)))


def test_overdue_only_after_the_due_day():
    assert not overdue(date(2027, 3, 1), date(2027, 3, 1))
    assert overdue(date(2027, 3, 1), date(2027, 3, 2))
    assert not overdue(None, date(2027, 3, 2))


def test_the_menu_is_the_roles_commands_but_a_few():
    assert commands_for(Role.TUTOR) == ["menu", "ressources", "brouillons", "mesrdv", "dispos", "suivi", "mesdonnees", "supprimer", "aide",
                                        "accessibilite", "annuler"]
    assert menu_for(Role.TUTOR) == ["ressources", "brouillons", "mesrdv", "dispos", "suivi", "mesdonnees", "aide", "accessibilite"]


def test_the_invitation_link_needs_the_bots_username():
    person = PersonView(5, Role.TUTOR, "Claire", None)
    issued = InvitationIssued(person, "ABC123", datetime(2026, 12, 1, tzinfo=UTC))
    assert issued.deep_link("coachbot_cnam_bot") == "https://t.me/coachbot_cnam_bot?start=ABC123"
    assert issued.deep_link(None) is None and issued.deep_link("") is None


def test_the_reviews_text_folding():
    assert fold("L’Acte n°2 : « Réunion »") == "l acte n 2 reunion"
    assert fold("  Œuvre   COLLECTIVE!! ") == "oeuvre collective"
    assert fold("") == ""


def test_the_evidence_of_a_part():
    review = PdfReview(report_type="ua", sha256="x", size_bytes=1, page_limit=8,
                       evidence=(Evidence("choix", "heading", 2), Evidence("role", "missing")))
    assert review.evidence_for("role") == Evidence("role", "missing")
    assert review.evidence_for("choix").page == 2
    assert review.evidence_for("annexes") is None


def test_an_annex_only_has_to_open():
    assert check_annex(factory.annex_pdf("Annexe", 2)) == (None, None, 2)
    assert check_annex(factory.encrypted_pdf())[0] == "encrypted"
    assert check_annex(factory.docx_renamed()) == ("not_pdf", "word", 0)
