"""The coach's Telegram templates render with the domain objects and escape what the auditeur wrote."""

from __future__ import annotations

import re

import pytest

from bot.documents.resources import default_resources
from bot.domain.coaching import ReportProgress
from bot.domain.experience import decide, default_experience_content
from bot.domain.feedback import render_remark, review_section
from bot.domain.report import default_catalogue
from bot.paths import TEMPLATES_DIR
from bot.telegram.rendering import Renderer

TELEGRAM_TAGS = {"b", "i", "code", "a", "pre"}
HOSTILE = "<script>alert(1)</script> & <b>gras</b>"


@pytest.fixture(scope="module")
def env():
    # the bot's own environment (trim_blocks, lstrip_blocks), so the tests see what users see
    return Renderer(TEMPLATES_DIR).env


@pytest.fixture(scope="module")
def catalogue():
    return default_catalogue()


def only_telegram_tags(html: str) -> bool:
    return {tag.lower() for tag in re.findall(r"</?([a-zA-Z0-9]+)", html)} <= TELEGRAM_TAGS


def test_overview_shows_status_budget_and_progress(env, catalogue):
    progress = ReportProgress("ua")
    role = progress.open(catalogue.section("role"))
    role.record("J'ai conçu le module.")
    role.finish()
    progress.open(catalogue.section("actes")).record("J'ai animé.")
    html = env.get_template("coach/overview.html").render(
        report_type=catalogue.report_type("ua"), rows=progress.overview(catalogue), summary=progress.summary(catalogue)
    )
    assert "moins de 8 pages, annexes non comptées par le bot" in html
    assert "1 partie terminée, 1 commencée, 8 à commencer sur 10" in html
    assert (
        "✅ <b>Mission et rôle tenu</b> — terminée · visé : 0,75 p., environ 338 mots · 1/3 questions, 5 mots notés"
        in html
    )
    assert "✏️ <b>Actes et moments professionnels</b> — commencée · visé : 1,5 p." in html
    assert "⬜ <b>Contexte de référence</b> — à commencer · visé : 0,75 p., environ 338 mots\n" in html
    assert "⬜ <b>Annexes</b> — à commencer · hors volume" in html
    assert only_telegram_tags(html)


def test_question_shows_position_and_escapes_previous_answers(env, catalogue):
    section = catalogue.section("difficultes")
    progress = ReportProgress("ua")
    session = progress.open(section)
    session.advance()
    session.record(HOSTILE)
    html = env.get_template("coach/question.html").render(
        section=section,
        question=session.current_question(section),
        position=session.position,
        answers=session.answers_to(session.current_question_id),
        show_purpose=True,
    )
    assert "question 2/4" in html
    assert section.questions[1].text.replace("'", "&#39;") in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;gras&lt;/b&gt;" in html
    assert "<script>" not in html and only_telegram_tags(html)
    assert section.purpose.replace("'", "&#39;") in html


def test_summary_lists_notes_and_remarks_with_criterion_and_quote(env, catalogue):
    section = catalogue.section("role")
    progress = ReportProgress("ua")
    session = progress.open(section)
    session.record("Nous avons tout fait <ensemble>.")
    session.record("On a animé.")
    session.skip()
    session.finish()
    remarks = [render_remark(r, catalogue) for r in review_section("role", session.notes(), "ua", catalogue)]
    html = env.get_template("coach/section_summary.html").render(
        section=section,
        notes=session.structured_notes(section),
        remarks=remarks,
        show_fallback_notice=True,
    )
    assert "• Nous avons tout fait &lt;ensemble&gt;." in html
    assert "<i>pas encore de réponse</i>" in html
    assert "« Nous avons tout fait &lt;ensemble&gt;. »" in html  # the quote, escaped
    assert "<i>Rôle spécifique</i>" in html
    assert "<i>Forme et structure</i>" in html
    assert "→ Qu&#39;avez-vous fait, vous, à ce moment-là ?" in html
    assert "n'a pas pu répondre" in html  # the LLM fallback notice (template text, not escaped)
    assert only_telegram_tags(html)


def test_summary_without_remarks_or_notice(env, catalogue):
    section = catalogue.section("conclusion")
    html = env.get_template("coach/section_summary.html").render(
        section=section,
        notes=[],
        remarks=[],
        show_fallback_notice=False,
    )
    assert "Rien à signaler" in html and "pas pu répondre" not in html


def test_experience_question_and_outcome(env):
    content = default_experience_content()
    html = env.get_template("coach/experience_question.html").render(
        content=content,
        question=content.question("functions"),
        position=(1, None),
        first=True,
    )
    assert "<b>Question 1</b>" in html and "Votre expérience professionnelle" in html
    outcome = decide({"functions": "no", "activities": "no", "years_total": "2", "entered_during_training": "no"})
    html = env.get_template("coach/experience_outcome.html").render(content=content, outcome=outcome)
    assert "stage de 3 mois" in html and "rapport de stage" in html
    assert "• Votre expérience se situe hors du champ de la spécialité." in html
    assert "confirmer avec votre tuteur" not in html
    in_progress = decide({"functions": "yes", "years_total": "1", "years_specialty": "1"})
    html = env.get_template("coach/experience_outcome.html").render(content=content, outcome=in_progress)
    assert "moins de 8 pages" in html and "confirmer avec votre tuteur" in html
    assert only_telegram_tags(html)


def test_resources_pages_and_menu(env, catalogue):
    resources = default_resources()
    for page in resources.pages:
        html = env.get_template("coach/resources_page.html").render(page=page, criteria=catalogue.grid.criteria)
        assert f"<b>{page.title}</b>".replace("'", "&#39;") in html
        assert only_telegram_tags(html)
        assert len(html) < 4096  # one Telegram message
    grid_html = env.get_template("coach/resources_page.html").render(
        page=resources.page("grille"), criteria=catalogue.grid.criteria
    )
    assert grid_html.count("• <b>") == len(catalogue.grid.criteria)
    steps = env.get_template("coach/resources_page.html").render(page=resources.page("etapes"), criteria=[])
    assert steps.count("• Étape ") == 5
    menu = env.get_template("coach/resources_menu.html").render(title=resources.document_title, pages=resources.pages)
    assert all(p.title.replace("'", "&#39;") in menu for p in resources.pages)


def test_the_grid_is_called_the_bots_working_grid_unless_it_is_the_certifiers(env):
    import dataclasses

    catalogue = default_catalogue()
    assert catalogue.grid.source == "bot" and not catalogue.grid.is_certifiers
    page = default_resources().page("grille")
    html = env.get_template("coach/resources_page.html").render(
        page=page, criteria=catalogue.grid.criteria, grid_note=catalogue.grid.source_note
    )
    assert "grille de travail du bot" in html and "pas la grille officielle" in html
    certifier = dataclasses.replace(catalogue.grid, source="certifier", source_note="Grille du certificateur.")
    html = env.get_template("coach/resources_page.html").render(
        page=page, criteria=certifier.criteria, grid_note=certifier.source_note
    )
    assert "grille de travail" not in html and "Grille du certificateur." in html
