"""The report coach end to end: /experience, /ressources, /rapport through two sections (with skip,
back, edit and a restart mid-section), /plan as .docx and Markdown, forged buttons, and the optional
language-model feedback against a loopback fake OpenAI-compatible endpoint."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from docx import Document

from bot.emulator.driver import BotDriver
from bot.storage.db import Database
from bot.storage.models import CoachingFeedback, CoachingProgress, ConversationState, ExperienceCheck
from tests.conftest import base_settings
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID

LEA = AUDITEUR_ID


def _progress_state(bot) -> dict:
    with bot.db.read() as session:
        row = session.scalar(sa.select(CoachingProgress))
        return dict(row.state) if row else {}


def _feedback_rows(bot) -> list[CoachingFeedback]:
    with bot.db.read() as session:
        return list(session.scalars(sa.select(CoachingFeedback).order_by(CoachingFeedback.id)))


# --- /experience --------------------------------------------------------------------------------------


async def test_experience_self_check_leads_to_the_ua_report(bot, cast):
    first = await bot.send(LEA, "/experience")
    assert "Votre expérience professionnelle" in first.text and "Question 1\n" in first.text
    assert first.last.button_labels == ["Oui", "Non"]
    second = await bot.press(LEA, "Oui")
    assert "Question 2/3" in second.text and "Combien d'années" in second.text
    assert "3 ans ou plus" in second.last.button_labels
    third = await bot.send(LEA, "5")  # a typed answer works too
    assert "Question 3/3" in third.text and "dans la spécialité" in third.text
    assert third.last.button_labels == ["Moins d'un an", "1 à 2 ans", "2 ans ou plus"]
    outcome = await bot.press(LEA, "2 ans ou plus")
    assert "Vous rédigez le rapport d'activité de l'UA" in outcome.text
    assert "Pourquoi" in outcome.text and "au moins trois années d'expérience, dont deux" in outcome.text
    assert "Votre inscription prévoit" not in outcome.text  # Léa is enrolled for the UA report
    assert "✍️ Préparer mon rapport" in outcome.last.button_labels
    with bot.db.read() as session:
        check = session.scalar(sa.select(ExperienceCheck))
        assert check.outcome == "ua" and check.completed_at is not None
        assert check.answers == {"functions": "yes", "years_total": "3", "years_specialty": "2"}
        assert check.reasons == ["in_field", "experience_sufficient"]
    # the outcome's button opens the coach
    overview = await bot.press(LEA, "Préparer mon rapport")
    assert "Votre rapport d'activité UA" in overview.text


async def test_experience_self_check_leads_to_an_internship_and_refuses_stale_answers(bot, cast):
    await bot.send(LEA, "/experience")
    await bot.press(LEA, "Non")
    question2 = await bot.send(LEA, "NON")
    assert "Question 3/4" in question2.text
    confused = await bot.send(LEA, "peut-être")
    assert "Je n'ai pas compris cette réponse" in confused.text and "Moins d'un an" in confused.text
    stale = await bot.press_data(LEA, "exp:a:functions:yes")  # an old button of question 1
    assert "plus valable" in stale.text
    await bot.press(LEA, "Moins d'un an")
    outcome = await bot.press(LEA, "Non")
    assert "Vous effectuez un stage et rédigez un rapport de stage" in outcome.text
    assert "pas entré·e dans une fonction de la spécialité" in outcome.text
    assert "Votre inscription prévoit un rapport d'activité UA" in outcome.text
    with bot.db.read() as session:
        check = session.scalar(sa.select(ExperienceCheck))
        assert check.outcome == "stage"
        assert check.answers == {"functions": "no", "activities": "no", "years_total": "0", "entered_during_training": "no"}


# --- /rapport -----------------------------------------------------------------------------------------


async def test_two_sections_through_the_coach_with_skip_back_edit_and_a_restart(bot, cast):
    overview = await bot.send(LEA, "/rapport")
    assert "Votre rapport d'activité UA</b>" not in overview.text  # plain text only in .text
    assert "Votre rapport d'activité UA (moins de 8 pages, annexes non comptées par le bot)" in overview.text
    assert "0 partie terminée, 0 commencée, 10 à commencer sur 10" in overview.text
    assert "⬜ Mission et rôle tenu — à commencer · visé : 0,75 p., environ 338 mots" in overview.text
    assert "⬜ Mission et rôle tenu" in overview.last.button_labels

    q1 = await bot.press(LEA, "Mission et rôle tenu")
    assert "Mission et rôle tenu · question 1/3" in q1.text
    assert "Préciser le rôle spécifique" in q1.text  # the purpose, on the first question
    assert "De quoi étiez-vous personnellement responsable" in q1.text
    assert q1.last.button_labels == ["➡️ Question suivante", "⏭ Passer", "⏸ Terminer plus tard", "✅ Terminer la section"]

    noted = await bot.send(LEA, "J'ai conçu le module « tutorat » de 12 heures pour 14 stagiaires.")
    assert "Noté : 1 message pour la question 1/3" in noted.text
    noted = await bot.send(LEA, "J'étais responsable du planning sur Moodle.")
    assert "Noté : 2 messages" in noted.text
    q2 = await bot.press(LEA, "Question suivante")
    assert "question 2/3" in q2.text and "Quelles décisions" in q2.text
    q3 = await bot.press(LEA, "Passer")
    assert "question 3/3" in q3.text and "Qui faisait quoi" in q3.text
    back = await bot.press(LEA, "Retour")
    assert "question 2/3" in back.text and "Déjà noté" not in back.text
    await bot.send(LEA, "Nous avons décidé ensemble.")
    edit = await bot.press(LEA, "Modifier ma réponse")
    assert "Votre réponse actuelle" in edit.text and "Nous avons décidé ensemble." in edit.text
    edited = await bot.send(LEA, "J'ai choisi seule les dates en mars 2024 ; le contenu était décidé avec la directrice.")
    assert "question 2/3" in edited.text and "Nous avons décidé ensemble." not in edited.text
    assert "J'ai choisi seule les dates en mars 2024" in edited.text

    # the bot restarts mid-section: nothing in memory survives
    state_before = _progress_state(bot)
    await bot.restart()
    assert _progress_state(bot) == state_before
    resumed = await bot.send(LEA, "Les lieux étaient imposés par l'OPCO.")
    assert "Noté : 2 messages pour la question 2/3" in resumed.text
    q3 = await bot.press(LEA, "Question suivante")  # the buttons sent before the restart still work
    assert "question 3/3" in q3.text
    again = await bot.send(LEA, "/rapport")  # the overview also shows where Léa is
    assert "✏️ Mission et rôle tenu — commencée" in again.text and "2/3 questions" in again.text
    back_in = await bot.press(LEA, "Mission et rôle tenu")
    assert "question 3/3" in back_in.text  # same question as before leaving
    await bot.send(LEA, "La formatrice animait, je coordonnais.")
    summary = await bot.press(LEA, "Question suivante")
    text = summary.text
    assert "Mission et rôle tenu · vos notes" in text
    assert "• J'ai conçu le module « tutorat » de 12 heures pour 14 stagiaires." in text
    assert "• J'étais responsable du planning sur Moodle." in text
    assert "• Les lieux étaient imposés par l'OPCO." in text
    assert "Pour aller plus loin" in text and "▸ " in text
    assert "▸ " in text and "→ " in text  # remarks: criterion, observation, hint question
    assert "l'avis sur le rapport appartient à votre tuteur" in text

    state = _progress_state(bot)
    role = state["sections"]["role"]
    assert role["status"] == "done"
    assert role["answers"]["responsabilites"] == [
        "J'ai conçu le module « tutorat » de 12 heures pour 14 stagiaires.",
        "J'étais responsable du planning sur Moodle.",
    ]
    assert role["answers"]["decisions"] == [
        "J'ai choisi seule les dates en mars 2024 ; le contenu était décidé avec la directrice.",
        "Les lieux étaient imposés par l'OPCO.",
    ]
    feedback = _feedback_rows(bot)
    assert [(f.section_id, f.engine, f.llm_failure) for f in feedback] == [("role", "offline", None)]

    # second section: one answer, a skip, then finish early
    await bot.press(LEA, "Sommaire du rapport")
    await bot.press(LEA, "Introduction")
    await bot.send(LEA, "Formatrice depuis 2019, je coordonne aujourd'hui un dispositif de 40 apprenants.")
    await bot.press(LEA, "Question suivante")
    await bot.press(LEA, "Passer")
    done = await bot.press(LEA, "Terminer la section")
    assert "Introduction · vos notes" in done.text
    assert "question passée" in done.text and "pas encore de réponse" in done.text
    # a remark quotes the notes and names its criterion
    assert "▸ Forme et structure" in done.text
    assert "« Formatrice depuis 2019, je coordonne aujourd'hui un dispositif de 40 apprenants. »" in done.text
    overview = await bot.send(LEA, "/rapport")
    assert "2 parties terminées, 0 commencée, 8 à commencer sur 10" in overview.text
    assert "✅ Introduction" in overview.last.button_labels
    assert [f.section_id for f in _feedback_rows(bot)] == ["role", "introduction"]
    remarks = _feedback_rows(bot)[0].remarks
    assert remarks and all({"check_id", "criterion_id", "quote"} <= set(r) for r in remarks)
    with bot.db.read() as session:  # /rapport closed the summary's conversation
        assert session.get(ConversationState, LEA) is None


# --- issue 16: feedback that reads meaning, nothing lost ------------------------------------------


async def test_an_answer_in_the_auditeurs_own_words_is_no_false_alarm(bot, cast):
    await bot.send(LEA, "/rapport")
    await bot.press(LEA, "Difficultés rencontrées")
    await bot.send(LEA, "En mars 2024, la principale difficulté a été le départ d'une formatrice en plein parcours.")
    await bot.press(LEA, "Question suivante")
    await bot.send(LEA, "J'ai redistribué les modules et recruté une nouvelle formatrice en deux semaines.")
    summary = await bot.press(LEA, "Terminer la section")
    assert "Difficultés rencontrées et réponses apportées · vos notes" in summary.text
    assert "n'est pas suivie de la réponse" not in summary.text


async def test_a_difficulty_left_unanswered_is_still_pointed_out(bot, cast):
    await bot.send(LEA, "/rapport")
    await bot.press(LEA, "Difficultés rencontrées")
    await bot.send(LEA, "En mars 2024, le principal problème a été l'absence répétée de 5 stagiaires sur 14.")
    summary = await bot.press(LEA, "Terminer la section")
    assert "Cette difficulté n'est pas suivie de la réponse que vous y avez apportée." in summary.text


async def test_skipped_questions_are_flagged_in_the_summary(bot, cast):
    await bot.send(LEA, "/rapport")
    await bot.press(LEA, "Introduction")
    await bot.send(LEA, "Formatrice depuis 2019, je coordonne un dispositif de 40 apprenants ; je présenterai d'abord le choix, puis l'analyse.")
    await bot.press(LEA, "Question suivante")
    await bot.press(LEA, "Passer")
    summary = await bot.press(LEA, "Passer")
    assert "Introduction · vos notes" in summary.text
    assert "▸ Questions passées" in summary.text
    assert "« Quelle pratique de formation allez-vous analyser" in summary.text
    assert "Rien à signaler" not in summary.text


async def test_a_message_typed_after_the_summary_is_kept_for_the_question_it_follows(bot, cast):
    await bot.send(LEA, "/rapport")
    await bot.press(LEA, "Difficultés rencontrées")
    await bot.send(LEA, "En mars 2024, le principal problème a été l'absence répétée de 5 stagiaires sur 14.")
    summary = await bot.press(LEA, "Terminer la section")
    assert "Comment y avez-vous répondu" in summary.text  # flagged: skipped, it asks
    kept = await bot.send(LEA, "J'ai appelé chaque stagiaire et ouvert un créneau de rattrapage le soir.")
    assert "Je n'ai pas compris" not in kept.text
    assert "C'est noté : j'ai ajouté votre message à votre réponse à la question « Comment y avez-vous répondu" in kept.text
    assert "• J'ai appelé chaque stagiaire et ouvert un créneau de rattrapage le soir." in kept.text  # the new summary
    answers = _progress_state(bot)["sections"]["difficultes"]["answers"]
    assert answers["reponse"] == ["J'ai appelé chaque stagiaire et ouvert un créneau de rattrapage le soir."]
    assert "n'est pas suivie de la réponse" not in kept.text


async def test_cancel_says_exactly_what_was_kept(bot, cast):
    await bot.send(LEA, "/rapport")
    await bot.press(LEA, "Mission et rôle tenu")
    await bot.send(LEA, "J'étais responsable du planning.")
    await bot.send(LEA, "Je recrutais les intervenants.")
    cancelled = await bot.send(LEA, "/annuler")
    assert "rien n'a été enregistré" not in cancelled.text
    assert "Ce que vous avez déjà envoyé reste enregistré : 2 messages pour 1 question de cette partie." in cancelled.text
    assert _progress_state(bot)["sections"]["role"]["answers"]["responsabilites"] == [
        "J'étais responsable du planning.",
        "Je recrutais les intervenants.",
    ]
    after = await bot.send(LEA, "un message après l'annulation")
    assert "Noté" not in after.text
    nothing = await bot.send(LEA, "/annuler")
    assert "Il n'y avait aucune action en cours" in nothing.text


async def test_finish_later_keeps_the_place_and_the_summary_quotes_the_notes(bot, cast):
    await bot.send(LEA, "/rapport")
    await bot.press(LEA, "Difficultés rencontrées")
    await bot.send(LEA, "En mars 2024, les stagiaires décrochaient des classes virtuelles.")
    await bot.press(LEA, "Question suivante")
    later = await bot.press(LEA, "Terminer plus tard")
    assert "Vos notes sont enregistrées" in later.text and "1 commencée" in later.text
    text_outside = await bot.send(LEA, "un message hors du coach")
    assert "Noté" not in text_outside.text
    resumed = await bot.press(LEA, "Difficultés rencontrées")
    assert "question 2/4" in resumed.text
    summary = await bot.press(LEA, "Terminer la section")
    assert "« En mars 2024, les stagiaires décrochaient des classes virtuelles. »" in summary.text


async def test_long_answers_are_stored_whole_and_html_is_escaped(bot, cast):
    await bot.send(LEA, "/rapport")
    await bot.press(LEA, "Contexte de référence")
    hostile = "<script>alert(1)</script> & <b>gras</b> <a href='x'>lien</a>"
    noted = await bot.send(LEA, hostile)
    assert "Noté" in noted.text
    long_answer = ("J'ai coordonné la formation de 14 stagiaires en 2024 avec Moodle. " * 70)[:4000]
    assert len(long_answer) == 4000
    await bot.send(LEA, long_answer)
    summary = await bot.press(LEA, "Terminer la section")
    assert hostile in summary.text  # shown as typed, not interpreted
    html = "".join(m.text for m in summary.to_user)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;gras&lt;/b&gt;" in html
    assert len(summary.to_user) >= 2  # over Telegram's 4,096 characters: split into valid messages
    assert all(len(m.plain_text) <= 4096 for m in summary.to_user)
    squash = lambda s: "".join(s.split())  # noqa: E731 - a cut only drops whitespace
    assert squash(long_answer) in squash("".join(m.plain_text for m in summary.to_user))
    state = _progress_state(bot)
    assert state["sections"]["contexte"]["answers"]["structure"] == [hostile, long_answer.strip()]
    plan = await bot.send(LEA, "/plan")
    docx = Document(io.BytesIO(plan.documents[0].document.content))
    assert long_answer.strip() in [p.text for p in docx.paragraphs]


# --- /plan --------------------------------------------------------------------------------------------


async def test_plan_is_a_docx_with_the_headings_and_the_notes_and_a_markdown_copy(bot, cast):
    empty = await bot.send(LEA, "/plan")
    assert "aucune note" in empty.text and len(empty.documents) == 2
    await bot.send(LEA, "/rapport")
    await bot.press(LEA, "Mission et rôle tenu")
    await bot.send(LEA, "J'ai conçu le module de 12 heures.")
    await bot.press(LEA, "Terminer plus tard")
    await bot.press(LEA, "Introduction")
    await bot.send(LEA, "Je suis formatrice depuis 2019.")
    plan = await bot.send(LEA, "/plan")
    assert [d.document.file_name for d in plan.documents] == ["plan-rapport-ua.docx", "plan-rapport-ua.md"]
    assert "Le squelette de votre rapport d'activité UA" in plan.documents[0].caption
    docx = Document(io.BytesIO(plan.documents[0].document.content))
    headings = [(p.style.name, p.text) for p in docx.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:3] == [
        ("Heading 1", "Introduction"),
        ("Heading 1", "1. Le choix de la pratique"),
        ("Heading 2", "Choix de la pratique"),
    ]
    assert ("Heading 2", "Mission et rôle tenu") in headings and headings[-1] == ("Heading 1", "Annexes")
    texts = [p.text for p in docx.paragraphs]

    def under(title: str) -> list[str]:
        start = texts.index(title) + 1
        end = next(i for i in range(start, len(texts)) if docx.paragraphs[i].style.name.startswith("Heading"))
        return texts[start:end]

    assert "J'ai conçu le module de 12 heures." in under("Mission et rôle tenu")
    assert "Je suis formatrice depuis 2019." in under("Introduction")
    assert "J'ai conçu le module de 12 heures." not in under("Introduction")
    markdown = plan.documents[1].document.content.decode("utf-8")
    assert "## Mission et rôle tenu" in markdown and "J'ai conçu le module de 12 heures." in markdown
    assert markdown.index("# Introduction") < markdown.index("## Mission et rôle tenu")


# --- /ressources --------------------------------------------------------------------------------------


async def test_resources_pages_and_document(bot, cast):
    menu = await bot.send(LEA, "/ressources")
    assert "Espace ressources" in menu.text and "Les attendus sur le fond" in menu.text
    assert "Télécharger le document complet" in menu.last.button_labels[-1]
    grid = await bot.press(LEA, "La grille d'évaluation")
    assert "La grille d'évaluation" in grid.text and "Choix argumenté : Le choix de la pratique" in grid.text
    assert "Forme et structure" in grid.text
    steps = await bot.press(LEA, "Les 5 étapes")
    assert "Étape 3" in steps.text and "4 semaines" in steps.text
    document = await bot.press(LEA, "Télécharger le document complet")
    assert [d.document.file_name for d in document.documents] == ["ressources-rapport.docx"]
    docx = Document(io.BytesIO(document.documents[0].document.content))
    assert "Les attendus sur la forme" in [p.text for p in docx.paragraphs if p.style.name == "Heading 1"]
    tutor = await bot.send(TUTOR_ID, "/ressources")  # tutors have the resources too
    assert "Espace ressources" in tutor.text
    forged = await bot.press_data(LEA, "res:page:nope")
    assert "plus valable" in forged.text


# --- permissions and forged data ----------------------------------------------------------------------


async def test_tutor_and_staff_may_not_use_the_coach(bot, cast):
    for user in (TUTOR_ID, STAFF_ID):
        for command in ("/rapport", "/plan", "/experience"):
            answer = await bot.send(user, command)
            assert "n'est pas disponible pour votre profil" in answer.text, (user, command)
        forged = await bot.press_data(user, "coach:open:role")
        assert "n'est pas disponible pour votre profil" in forged.text
    staff_ressources = await bot.send(STAFF_ID, "/ressources")
    assert "n'est pas disponible pour votre profil" in staff_ressources.text
    with bot.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CoachingProgress)) == 0


async def test_forged_callback_data_changes_nothing(bot, cast):
    await bot.send(LEA, "/rapport")
    await bot.press(LEA, "Mission et rôle tenu")
    await bot.send(LEA, "J'ai conçu le module.")
    before = _progress_state(bot)
    for data in (
        "coach:next:choix:mission",  # another section's question
        "coach:next:role:partage",  # a question of the section that is not the current one
        "coach:finish:contexte",
        "coach:open:inconnue",
        "coach:next:role",
        "coach:zzz",
        "coach:edit:role:../../etc",
        "coach:next:role:responsabilites:extra:" + "x" * 10,
    ):
        answer = await bot.press_data(LEA, data)
        assert "rien n'a été modifié" in answer.text, data
        assert _progress_state(bot) == before, data
    garbage = await bot.press_data(LEA, "coach")
    assert "plus valable" in garbage.text
    assert _progress_state(bot) == before
    still = await bot.send(LEA, "Et j'ai animé deux séances.")
    assert "Noté : 2 messages pour la question 1/3" in still.text


# --- the optional language model ------------------------------------------------------------------------


class FakeCompletions(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server API)
        length = int(self.headers.get("Content-Length", 0))
        self.server.requests.append(json.loads(self.rfile.read(length)))
        kind, value = self.server.behaviour
        if kind == "sleep":
            time.sleep(value)
            value = json.dumps({"remarks": []})
        body = json.dumps({"choices": [{"message": {"role": "assistant", "content": value}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_llm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCompletions)
    server.daemon_threads = True
    server.requests = []
    server.behaviour = ("content", json.dumps({"remarks": []}))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
async def llm_bot(emulator, e2e_database_url, fake_llm):
    """The bot with LLM_BASE_URL pointing at the loopback fake endpoint (1 s timeout)."""
    env = {
        "TELEGRAM_BOT_USERNAME": emulator.bot.username,
        "LLM_BASE_URL": f"http://127.0.0.1:{fake_llm.server_address[1]}/v1",
        "LLM_MODEL": "fake-model",
        "LLM_TIMEOUT_SECONDS": "1",
    }
    settings = BotDriver.settings_for(emulator, base_settings(**env)).with_overrides(database_url=e2e_database_url)
    assert settings.llm is not None
    driver = BotDriver(emulator, settings, Database(e2e_database_url))
    await driver.start()
    yield driver
    await driver.stop()


async def test_llm_feedback_is_shown_and_its_timeout_falls_back_with_a_notice(llm_bot, fake_llm):
    from bot.demo import seed

    bot = llm_bot
    await asyncio.to_thread(seed, bot.services, bot.emulator)
    question = "Quelles décisions vous revenaient personnellement ?"
    fake_llm.behaviour = (
        "content",
        json.dumps({"remarks": [{"criterion": "role_specifique", "quote": "J'ai conçu le module", "remark": question}]}),
    )
    await bot.send(LEA, "/rapport")
    await bot.press(LEA, "Mission et rôle tenu")
    await bot.send(LEA, "J'ai conçu le module de 12 heures avec l'équipe.")
    summary = await bot.press(LEA, "Terminer la section")
    assert question in summary.text and "« J'ai conçu le module »" in summary.text
    assert "n'a pas pu répondre" not in summary.text
    assert fake_llm.requests and fake_llm.requests[0]["model"] == "fake-model"
    assert "J'ai conçu le module de 12 heures" in fake_llm.requests[0]["messages"][1]["content"]

    fake_llm.behaviour = ("sleep", 3)  # longer than LLM_TIMEOUT_SECONDS
    await bot.press(LEA, "Reprendre cette partie")
    started = time.monotonic()
    fallback = await bot.press(LEA, "Terminer la section")
    assert time.monotonic() - started < 2.9
    assert "L'assistant de relecture n'a pas pu répondre : voici les remarques habituelles." in fallback.text
    assert "Pour aller plus loin" in fallback.text and question not in fallback.text
    rows = _feedback_rows(bot)
    assert [(r.engine, r.llm_failure) for r in rows] == [("llm", None), ("offline", "timeout")]
    assert any(r["check_id"] == "llm" for r in rows[0].remarks)


# --- the demo ------------------------------------------------------------------------------------------


def test_demo_script_runs_the_coach(tmp_path):
    from pathlib import Path

    from tests.e2e.test_cli_and_demo import coachbot

    script = Path(__file__).with_name("demo_coach.txt")
    files = tmp_path / "files"
    result = coachbot("demo", "--script", str(script), "--files", str(files), cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Léa Bernard > /experience" in out and "Vous rédigez le rapport d'activité de l'UA" in out
    assert "Mission et rôle tenu · question 1/3" in out and "question 3/3" in out
    assert "Mission et rôle tenu · vos notes" in out and "Pour aller plus loin" in out
    assert "C'est noté : j'ai ajouté votre message à votre réponse à la question" in out
    assert "• Je rendais compte chaque mois au comité de pilotage, où j'ai défendu le budget." in out
    assert "problème technique" not in out
    plan = files / "plan-rapport-ua.docx"
    assert plan.is_file() and (files / "plan-rapport-ua.md").is_file()
    headings = [p.text for p in Document(str(plan)).paragraphs if p.style.name.startswith("Heading")]
    assert "Mission et rôle tenu" in headings
    assert "J'étais seule responsable du planning et des supports sur Moodle." in [
        p.text for p in Document(str(plan)).paragraphs
    ]
