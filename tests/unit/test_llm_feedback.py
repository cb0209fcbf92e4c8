"""The optional LLM feedback against a loopback fake OpenAI-compatible endpoint (a real HTTP server)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.domain.coaching import SectionSession
from bot.domain.feedback import LLM_CHECK_ID, review_section
from bot.domain.report import default_catalogue
from bot.services.llm_feedback import (
    LlmAnswerRejected,
    LlmFailure,
    LlmSettings,
    build_messages,
    parse_llm_answer,
    section_feedback,
)

NOTES = ["Les stagiaires décrochaient des classes virtuelles.", "J'ai donc raccourci les séances à 45 minutes."]


class FakeCompletions(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server API)
        server = self.server
        length = int(self.headers.get("Content-Length", 0))
        server.requests.append(
            {"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
        )
        kind, value = server.behaviour
        if kind == "sleep":
            time.sleep(value)
            kind, value = "content", json.dumps({"remarks": []})
        if kind == "status":
            self.send_response(value)
            self.end_headers()
            self.wfile.write(b'{"error": "boom"}')
            return
        if kind == "content":
            body = json.dumps({"choices": [{"message": {"role": "assistant", "content": value}}]}).encode()
        else:  # raw body
            body = value.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCompletions)
    server.daemon_threads = True
    server.requests = []
    server.behaviour = ("content", json.dumps({"remarks": []}))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def catalogue():
    return default_catalogue()


@pytest.fixture
def answered(catalogue):
    section = catalogue.section("difficultes")
    session = SectionSession.for_section(section)
    session.record(NOTES[0])
    session.advance()
    session.record(NOTES[1])
    return session.structured_notes(section)


def settings_for(server, timeout=2.0):
    host, port = server.server_address
    return LlmSettings(base_url=f"http://{host}:{port}/v1/", model="fake-model", api_key="sk-test", timeout=timeout)


def good_answer():
    return json.dumps(
        {
            "remarks": [
                {
                    "criterion": "difficultes_reponses",
                    "quote": "J'ai donc raccourci les séances à 45 minutes.",
                    "remark": "L'effet de ce changement n'apparaît pas. "
                "Qu'avez-vous observé ensuite chez les stagiaires ?",
                },
                {
                    "criterion": "traces_annexes",
                    "quote": None,
                    "remark": "Quelle trace de ce nouveau format joindrez-vous ?",
                },
            ]
        }
    )


async def test_disabled_by_default_gives_offline_feedback_only(catalogue, answered):
    feedback = await section_feedback("difficultes", answered, "ua", catalogue, settings=None)
    assert feedback.remarks == review_section("difficultes", NOTES, "ua", catalogue)
    assert not feedback.llm_used and not feedback.show_fallback_notice


async def test_good_answer_adds_the_model_remarks(fake_endpoint, catalogue, answered):
    fake_endpoint.behaviour = ("content", good_answer())
    feedback = await section_feedback("difficultes", answered, "ua", catalogue, settings_for(fake_endpoint))
    assert feedback.llm_used and not feedback.show_fallback_notice and feedback.failure is None
    offline = review_section("difficultes", NOTES, "ua", catalogue)
    assert feedback.remarks[: len(offline)] == offline
    llm = [r for r in feedback.remarks if r.check_id == LLM_CHECK_ID]
    assert [(r.criterion_id, r.quote) for r in llm] == [
        ("difficultes_reponses", "J'ai donc raccourci les séances à 45 minutes."),
        ("traces_annexes", None),
    ]
    assert llm[0].params["text"].endswith("stagiaires ?")
    (request,) = fake_endpoint.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "fake-model"
    system, user = body["messages"]
    assert system["role"] == "system" and "JAMAIS le rapport" in system["content"]
    assert NOTES[1] in user["content"] and "difficultes_reponses" in user["content"]
    assert "role_specifique" not in user["content"]  # only the criteria of this section


async def test_timeout_falls_back_with_notice(fake_endpoint, catalogue, answered):
    fake_endpoint.behaviour = ("sleep", 1.0)
    started = time.monotonic()
    feedback = await section_feedback(
        "difficultes", answered, "ua", catalogue, settings_for(fake_endpoint, timeout=0.2)
    )
    assert time.monotonic() - started < 0.9
    assert feedback.failure is LlmFailure.TIMEOUT
    assert feedback.show_fallback_notice and not feedback.llm_used
    assert feedback.remarks == review_section("difficultes", NOTES, "ua", catalogue)


async def test_http_500_falls_back(fake_endpoint, catalogue, answered):
    fake_endpoint.behaviour = ("status", 500)
    feedback = await section_feedback("difficultes", answered, "ua", catalogue, settings_for(fake_endpoint))
    assert feedback.failure is LlmFailure.HTTP_ERROR and feedback.show_fallback_notice
    assert all(r.check_id != LLM_CHECK_ID for r in feedback.remarks)


async def test_connection_refused_falls_back(catalogue, answered):
    dead = LlmSettings(base_url="http://127.0.0.1:9", model="m", api_key=None, timeout=1.0)
    feedback = await section_feedback("difficultes", answered, "ua", catalogue, dead)
    assert feedback.failure is LlmFailure.HTTP_ERROR and feedback.show_fallback_notice


@pytest.mark.parametrize(
    "behaviour",
    [
        ("raw", "<html>not json</html>"),
        ("raw", json.dumps({"choices": []})),
        ("content", "Voici mes remarques : tout va bien."),
        ("content", json.dumps([{"criterion": "difficultes_reponses"}])),
        ("content", json.dumps({"remarks": [{"criterion": "difficultes_reponses", "remark": "Et ensuite ?"}]})),
    ],
)
async def test_malformed_answers_fall_back(fake_endpoint, catalogue, answered, behaviour):
    fake_endpoint.behaviour = behaviour
    feedback = await section_feedback("difficultes", answered, "ua", catalogue, settings_for(fake_endpoint))
    assert feedback.failure is LlmFailure.MALFORMED and feedback.show_fallback_notice
    assert all(r.check_id != LLM_CHECK_ID for r in feedback.remarks)


def remark(text, criterion="difficultes_reponses", quote=None, **extra):
    return json.dumps({"remarks": [{"criterion": criterion, "quote": quote, "remark": text, **extra}]})


@pytest.mark.parametrize(
    "content",
    [
        # writes the report in the auditeur's voice
        remark("J'ai raccourci les séances car les stagiaires décrochaient. Est-ce clair ?"),
        # offers a sentence to copy
        remark("Vous pourriez écrire que le format court a réduit le décrochage. D'accord ?"),
        remark("Par exemple : le format court a réduit le décrochage. Qu'en pensez-vous ?"),
        # a rewriting field smuggled in
        remark("Et l'effet ?", rewrite="J'ai constaté une baisse du décrochage de 30 %."),
        # a verdict that belongs to the tutor
        remark("Cette partie serait validée en l'état. Voulez-vous continuer ?"),
        remark("Je mettrais 14/20. Et l'effet ?"),
        # not a question
        remark("Il manque l'effet de la réponse."),
        # criterion not asked for this section, or twice
        remark("Quel était votre rôle ?", criterion="role_specifique"),
        json.dumps(
            {
                "remarks": [
                    {"criterion": "difficultes_reponses", "quote": None, "remark": "Et l'effet ?"},
                    {"criterion": "difficultes_reponses", "quote": None, "remark": "Et ensuite ?"},
                ]
            }
        ),
        # a quote the auditeur never wrote
        remark("Qu'avez-vous mesuré ?", quote="Le décrochage a baissé de 30 %."),
        # far too long to be a remark
        remark("Pourquoi ? " + "x" * 500),
    ],
)
async def test_rewriting_attempts_and_wrong_content_are_rejected(fake_endpoint, catalogue, answered, content):
    fake_endpoint.behaviour = ("content", content)
    feedback = await section_feedback("difficultes", answered, "ua", catalogue, settings_for(fake_endpoint))
    assert feedback.failure in (LlmFailure.REJECTED, LlmFailure.MALFORMED)
    assert feedback.show_fallback_notice and not feedback.llm_used
    assert feedback.remarks == review_section("difficultes", NOTES, "ua", catalogue)


def test_parse_accepts_a_fenced_answer_and_a_quote_with_typographic_apostrophe():
    content = "```json\n" + remark("Quel effet ?", quote="J’ai donc raccourci les séances") + "\n```"
    (parsed,) = parse_llm_answer(content, {"difficultes_reponses"}, NOTES)
    assert parsed.quote == "J’ai donc raccourci les séances"


def test_parse_allows_the_auditeur_words_quoted_in_the_remark():
    content = remark("Dans « j'ai donc raccourci les séances », qu'est-ce qui a changé pour les stagiaires ?")
    assert len(parse_llm_answer(content, {"difficultes_reponses"}, NOTES)) == 1


def test_parse_rejects_unknown_top_level_keys():
    with pytest.raises(LlmAnswerRejected) as error:
        parse_llm_answer(json.dumps({"remarks": [], "draft": "J'ai..."}), {"difficultes_reponses"}, NOTES)
    assert error.value.failure is LlmFailure.MALFORMED


def test_messages_use_the_prompts_files(catalogue, answered):
    system, user = build_messages("difficultes", answered, "stage", catalogue)
    assert "validé" in system["content"] and "JSON" in system["content"]
    assert "Rapport de stage" in user["content"]
    assert "(pas de réponse)" in user["content"]  # questions 3 and 4 unanswered
