"""The language model's feedback, without a server: the prompt sent, the request made (an in-process
httpx transport), the strict parser of the model's answer with each refusal and the reason logged,
and the fallback to the offline feedback."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import httpx
import pytest

from bot.domain.coaching import SectionSession
from bot.domain.feedback import LLM_CHECK_ID, Remark, review_section
from bot.domain.report import default_catalogue
from bot.paths import PROMPTS_DIR
from bot.services import llm_feedback
from bot.services.llm_feedback import (
    MAX_REMARK_CHARS,
    LlmAnswerRejected,
    LlmFailure,
    LlmSettings,
    allowed_criteria,
    ask_model,
    build_messages,
    parse_llm_answer,
    section_feedback,
)

CATALOGUE = default_catalogue()
NOTES = ["Les stagiaires décrochaient des classes virtuelles.", "J'ai donc raccourci les séances à 45 minutes."]
CRITERIA = {"difficultes_reponses", "traces_annexes"}
AsyncClient = httpx.AsyncClient  # kept: one test replaces httpx's
# a loopback port nobody listens on: only the in-process transport ever answers
SETTINGS = LlmSettings(base_url="http://127.0.0.1:9/v1/", model="fake-model", api_key="sk-test", timeout=3.5)


def remarks(*items: dict) -> str:
    return json.dumps({"remarks": list(items)})


def item(text="Qu'avez-vous observé ensuite ?", criterion="difficultes_reponses", quote=None) -> dict:
    return {"criterion": criterion, "quote": quote, "remark": text}


def rejected(content: str, criteria=CRITERIA, notes=NOTES) -> LlmAnswerRejected:
    with pytest.raises(LlmAnswerRejected) as error:
        parse_llm_answer(content, criteria, notes)
    return error.value


def answered_notes(*answers: str):
    section = CATALOGUE.section("difficultes")
    session = SectionSession.for_section(section)
    for index, text in enumerate(answers):
        if index:
            session.advance()
        session.record(text)
    return session.structured_notes(section)


# --- the parser: what is accepted -----------------------------------------------------------------


def test_each_remark_becomes_a_model_remark_with_its_criterion_quote_and_text():
    content = remarks(
        item("  L'effet n'apparaît pas. Qu'avez-vous observé ?  ", quote="J'ai donc raccourci les séances"),
        item("Quelle trace joindrez-vous ?", criterion="traces_annexes"),
    )
    parsed = parse_llm_answer(content, CRITERIA, NOTES)
    assert parsed == [
        Remark(LLM_CHECK_ID, "difficultes_reponses", "J'ai donc raccourci les séances"),
        Remark(LLM_CHECK_ID, "traces_annexes", None),
    ]
    assert [r.params for r in parsed] == [
        {"text": "L'effet n'apparaît pas. Qu'avez-vous observé ?"}, {"text": "Quelle trace joindrez-vous ?"}
    ]


def test_an_answer_without_remarks_is_accepted():
    assert parse_llm_answer('  {"remarks": []}\n', CRITERIA, NOTES) == []


@pytest.mark.parametrize("fence", ["```json\n{}\n```", "```\n{}\n```", "```json{}```", "\n  ```json\n{}\n```  \n"])
def test_a_fenced_answer_is_read_inside_its_fence(fence):
    content = fence.replace("{}", remarks(item()))
    (parsed,) = parse_llm_answer(content, CRITERIA, NOTES)
    assert parsed.criterion_id == "difficultes_reponses"


def test_text_around_a_fence_is_not_json():
    assert rejected("Voici :\n```json\n" + remarks(item()) + "\n```").failure is LlmFailure.MALFORMED


@pytest.mark.parametrize(
    "quote, kept",
    [
        ("« J'ai donc raccourci les séances »", "J'ai donc raccourci les séances"),
        ('"les séances à 45 minutes."', "les séances à 45 minutes."),
        ("“décrochaient des classes”", "décrochaient des classes"),
        ("  j’AI   donc raccourci  ", "j’AI   donc raccourci"),  # case, spaces and apostrophes do not count
        ("classes virtuelles. J'ai donc", "classes virtuelles. J'ai donc"),  # across two messages
        ("\n« J'ai donc raccourci »\t", "J'ai donc raccourci"),
    ],
)
def test_a_quote_is_the_auditeurs_words_give_or_take_marks_case_and_spaces(quote, kept):
    (parsed,) = parse_llm_answer(remarks(item(quote=quote)), CRITERIA, NOTES)
    assert parsed.quote == kept


def test_the_auditeurs_words_may_be_quoted_inside_the_remark():
    for text in (
        "Dans « j'ai donc raccourci », qu'est-ce qui a changé ?",
        'Vous notez "mon équipe" : qui en faisait partie ?',
        "Vous notez “ma séance” : combien de stagiaires ?",
    ):
        assert len(parse_llm_answer(remarks(item(text)), CRITERIA, NOTES)) == 1


def test_a_remark_of_exactly_the_longest_length_is_accepted():
    text = "x" * (MAX_REMARK_CHARS - 1) + "?"
    (parsed,) = parse_llm_answer(remarks(item(text)), CRITERIA, NOTES)
    assert parsed.params["text"] == text


# --- the parser: what is refused, and the reason logged -------------------------------------------


@pytest.mark.parametrize(
    "content, reason",
    [
        ('["remarks"]', 'expected exactly {"remarks": [...]}'),
        ('{"remarks": {}}', 'expected exactly {"remarks": [...]}'),
        ('{"remarks": "none"}', 'expected exactly {"remarks": [...]}'),
        ('{"remarks": [], "verdict": "ok"}', 'expected exactly {"remarks": [...]}'),
        ('{"notes": []}', 'expected exactly {"remarks": [...]}'),
        (remarks("Qu'en pensez-vous ?"), "a remark must have exactly the keys ['criterion', 'quote', 'remark']"),
        (remarks({"criterion": "difficultes_reponses", "remark": "Et ensuite ?"}),
         "a remark must have exactly the keys ['criterion', 'quote', 'remark']"),
        (remarks({**item(), "rewrite": "J'ai constaté une baisse."}),
         "a remark must have exactly the keys ['criterion', 'quote', 'remark']"),
        (remarks({**item(), "criterion": 3}), "wrong types in a remark"),
        (remarks({**item(), "remark": ["Et ensuite ?"]}), "wrong types in a remark"),
        (remarks({**item(), "quote": 45}), "wrong types in a remark"),
    ],
)
def test_answers_of_the_wrong_shape_are_malformed(content, reason):
    error = rejected(content)
    assert error.failure is LlmFailure.MALFORMED and str(error) == f"malformed: {reason}"


def test_an_answer_that_is_not_json_is_malformed():
    error = rejected("Voici mes remarques : tout va bien.")
    assert error.failure is LlmFailure.MALFORMED and str(error).startswith("malformed: not JSON: Expecting value")


@pytest.mark.parametrize(
    "content, reason",
    [
        (remarks(item(criterion="role_specifique")), "criterion 'role_specifique' not asked for"),
        (remarks(item(), item("Et ensuite ?")), "two remarks for difficultes_reponses"),
        (remarks(item("   ")), "remark empty or too long"),
        (remarks(item("x" * MAX_REMARK_CHARS + "?")), "remark empty or too long"),
        (remarks(item("Il manque l'effet de la réponse.")), "a remark must ask a question"),
        (remarks(item("Qu'avez-vous mesuré ?", quote="Le décrochage a baissé de 30 %.")),
         "the quote is not the auditeur's words"),
        (remarks(item("Qu'avez-vous mesuré ?", quote="« »")), "the quote is not the auditeur's words"),
        (remarks(item("Qu'avez-vous mesuré ?", quote="")), "the quote is not the auditeur's words"),
        # the auditeur's voice, outside quotation marks (typographic apostrophe and capitals too)
        (remarks(item("J’ai raccourci les séances. Est-ce clair ?")), "the remark writes the report"),
        (remarks(item("Mon équipe a réduit le décrochage, d'accord ?")), "the remark writes the report"),
        (remarks(item("Vous pourriez écrire que le format court a aidé. D'accord ?")), "the remark writes the report"),
        (remarks(item("Reformulez ainsi : le format court. Qu'en pensez-vous ?")), "the remark writes the report"),
        (remarks(item("Cette partie serait validée en l'état. Voulez-vous continuer ?")),
         "the remark gives a verdict"),
        (remarks(item("Cela vaut 14 / 20. Et l'effet ?")), "the remark gives a verdict"),
        (remarks(item("Je mettrais 14/20. Et l'effet ?")), "the remark writes the report"),  # voice first
    ],
)
def test_remarks_that_cannot_be_shown_are_rejected(content, reason):
    error = rejected(content)
    assert error.failure is LlmFailure.REJECTED and str(error) == f"rejected: {reason}"


def test_a_criterion_of_the_section_is_only_accepted_when_asked_for():
    assert rejected(remarks(item()), criteria=set()).failure is LlmFailure.REJECTED
    assert len(parse_llm_answer(remarks(item()), {"difficultes_reponses"}, NOTES)) == 1


# --- the prompt -------------------------------------------------------------------------------------


def test_the_prompt_gives_the_section_its_criteria_and_the_notes_question_by_question():
    answered = answered_notes(NOTES[0], NOTES[1])
    system, user = build_messages("difficultes", answered, "ua", CATALOGUE)
    assert system == {"role": "system",
                      "content": (PROMPTS_DIR / "llm" / "system_feedback.md").read_text(encoding="utf-8")}
    assert user["role"] == "user"
    text = user["content"]
    kind, section = CATALOGUE.report_type("ua"), CATALOGUE.section("difficultes")
    assert text.startswith(f"Type de rapport : {kind.label} ({kind.limit_wording}).\n")
    assert f"Partie : {section.title} — volume visé : environ {CATALOGUE.target_words('ua', 'difficultes')} mots." in text
    assert f"Objectif de la partie : {section.purpose}\n" in text
    for line in section.good_answer:
        assert f"- {line}\n" in text
    for criterion in CATALOGUE.grid.criteria_for("difficultes"):
        assert f"- {criterion.id} : {criterion.label}. {criterion.description}\n" in text
    assert "role_specifique" not in text
    questions = [q.text for q in section.questions]
    assert f"### {questions[0]}\n{NOTES[0]}\n" in text and f"### {questions[1]}\n{NOTES[1]}\n" in text
    assert f"### {questions[2]}\n(pas de réponse)\n" in text
    assert "None" not in text and text.endswith("(pas de réponse)\n\n")  # as the file ends


def test_the_prompt_of_a_stage_report_and_of_a_catalogue_without_grid():
    (_, user) = build_messages("difficultes", answered_notes("Un."), "stage", replace(CATALOGUE, grid=None))
    kind = CATALOGUE.report_type("stage")
    assert user["content"].startswith(f"Type de rapport : {kind.label} ({kind.limit_wording}).")
    assert f"environ {CATALOGUE.target_words('stage', 'difficultes')} mots" in user["content"]
    assert "difficultes_reponses" not in user["content"]
    assert allowed_criteria("difficultes", replace(CATALOGUE, grid=None)) == []
    assert [c.id for c in allowed_criteria("difficultes", CATALOGUE)] == ["difficultes_reponses", "traces_annexes"]


def test_the_prompt_comes_from_the_prompts_folder_given(tmp_path):
    (tmp_path / "llm").mkdir()
    (tmp_path / "llm" / "system_feedback.md").write_text("Système.", encoding="utf-8")
    (tmp_path / "llm" / "user_feedback.md").write_text(
        "{{ section_title }} & {% for n in notes %}{{ n.answers|join }}{% endfor %}\n", encoding="utf-8"
    )
    system, user = build_messages("difficultes", answered_notes("<b>J'ai</b>"), "ua", CATALOGUE, tmp_path)
    assert system["content"] == "Système."
    assert user["content"] == f"{CATALOGUE.section('difficultes').title} & <b>J'ai</b>\n"  # no HTML escaping
    (tmp_path / "llm" / "user_feedback.md").write_text("{{ nothing }}", encoding="utf-8")
    with pytest.raises(Exception, match="nothing"):  # a variable the template lacks is an error, not blank
        build_messages("difficultes", answered_notes("Un."), "ua", CATALOGUE, tmp_path)


# --- the request ------------------------------------------------------------------------------------


class Endpoint:
    """An in-process chat-completions endpoint: records the requests, answers as told."""

    def __init__(self, answer=None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer if answer is not None else self.content(remarks())

    @staticmethod
    def content(text) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": text}}]})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def client(self) -> httpx.AsyncClient:
        return AsyncClient(transport=httpx.MockTransport(self))


async def test_the_request_is_a_chat_completion_asking_for_json():
    endpoint = Endpoint(Endpoint.content("la réponse"))
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    async with endpoint.client() as client:
        assert await ask_model(SETTINGS, messages, client) == "la réponse"
        assert not client.is_closed  # the caller's client stays open
    (request,) = endpoint.requests
    assert request.method == "POST" and str(request.url) == "http://127.0.0.1:9/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(request.content) == {
        "model": "fake-model", "messages": messages, "temperature": 0, "response_format": {"type": "json_object"}
    }
    assert request.extensions["timeout"] == {"connect": 3.5, "read": 3.5, "write": 3.5, "pool": 3.5}


async def test_without_an_api_key_no_authorization_is_sent():
    endpoint = Endpoint()
    async with endpoint.client() as client:
        await ask_model(replace(SETTINGS, api_key=None, base_url="http://127.0.0.1:9/v1"), [], client)
    (request,) = endpoint.requests
    assert "Authorization" not in request.headers and request.url.path == "/v1/chat/completions"


async def test_a_client_made_for_the_request_is_closed_after_it(monkeypatch):
    endpoint = Endpoint(Endpoint.content("ok"))
    made: list[httpx.AsyncClient] = []

    def make_client():
        made.append(endpoint.client())
        return made[-1]

    monkeypatch.setattr(llm_feedback.httpx, "AsyncClient", make_client)
    assert await ask_model(SETTINGS, [], None) == "ok"
    assert len(made) == 1 and made[0].is_closed


async def test_an_http_error_status_is_raised():
    async with Endpoint(httpx.Response(503, json={"error": "busy"})).client() as client:
        with pytest.raises(httpx.HTTPStatusError):
            await ask_model(SETTINGS, [], client)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"choices": []}),
        httpx.Response(200, json={"choices": [{"text": "old API"}]}),
        httpx.Response(200, json={"choices": "none"}),
        httpx.Response(200, json=[]),
    ],
)
async def test_a_reply_that_is_not_a_chat_completion_is_malformed(response):
    async with Endpoint(response).client() as client:
        with pytest.raises(LlmAnswerRejected) as error:
            await ask_model(SETTINGS, [], client)
    assert error.value.failure is LlmFailure.MALFORMED
    assert str(error.value).startswith("malformed: not a chat-completions answer: ")


# --- the feedback with its fallback -----------------------------------------------------------------


def offline(answered):
    return review_section("difficultes", [t for a in answered for t in a.answers], "ua", CATALOGUE)


async def test_the_model_remarks_follow_the_offline_ones_and_the_prompt_is_the_sections():
    answered = answered_notes(*NOTES)
    endpoint = Endpoint(Endpoint.content(remarks(item(quote="J'ai donc raccourci les séances"))))
    async with endpoint.client() as client:
        feedback = await section_feedback("difficultes", answered, "ua", CATALOGUE, SETTINGS, client)
    assert (feedback.llm_used, feedback.show_fallback_notice, feedback.failure) == (True, False, None)
    assert feedback.remarks == offline(answered) + [
        Remark(LLM_CHECK_ID, "difficultes_reponses", "J'ai donc raccourci les séances")
    ]
    (request,) = endpoint.requests
    assert json.loads(request.content)["messages"] == build_messages("difficultes", answered, "ua", CATALOGUE)


async def test_the_criteria_accepted_are_the_sections():
    endpoint = Endpoint(Endpoint.content(remarks(item(criterion="traces_annexes"))))
    async with endpoint.client() as client:
        feedback = await section_feedback("difficultes", answered_notes(*NOTES), "ua", CATALOGUE, SETTINGS, client)
    assert feedback.llm_used and feedback.remarks[-1].criterion_id == "traces_annexes"


async def test_without_a_model_or_without_notes_the_model_is_not_asked():
    answered = answered_notes(*NOTES)
    feedback = await section_feedback("difficultes", answered, "ua", CATALOGUE)
    assert (feedback.remarks, feedback.llm_used, feedback.show_fallback_notice, feedback.failure) == (
        offline(answered), False, False, None
    )
    endpoint = Endpoint()
    empty = answered_notes()
    async with endpoint.client() as client:
        feedback = await section_feedback("difficultes", empty, "ua", CATALOGUE, SETTINGS, client)
    assert endpoint.requests == []
    assert (feedback.remarks, feedback.llm_used, feedback.show_fallback_notice, feedback.failure) == (
        offline(empty), False, False, None
    )


@pytest.mark.parametrize(
    "answer, failure, logged",
    [
        (httpx.ReadTimeout("slow"), LlmFailure.TIMEOUT, None),
        (httpx.ConnectTimeout("slow"), LlmFailure.TIMEOUT, None),
        (httpx.ConnectError("refused"), LlmFailure.HTTP_ERROR, "LLM feedback failed: ConnectError('refused')"),
        (httpx.Response(500), LlmFailure.HTTP_ERROR, "LLM feedback failed: HTTPStatusError("),
        (httpx.Response(200, json={"choices": []}), LlmFailure.MALFORMED,
         "LLM feedback rejected: malformed: not a chat-completions answer"),
        (Endpoint.content(None), LlmFailure.MALFORMED, "LLM feedback rejected: malformed: not JSON"),
        (Endpoint.content(["remarks"]), LlmFailure.MALFORMED, "LLM feedback rejected: malformed: not JSON"),
        (Endpoint.content(remarks(item("Il manque l'effet."))), LlmFailure.REJECTED,
         "LLM feedback rejected: rejected: a remark must ask a question"),
    ],
)
async def test_a_failed_model_falls_back_to_the_offline_feedback_with_a_notice(caplog, answer, failure, logged):
    answered = answered_notes(*NOTES)
    caplog.set_level(logging.WARNING, logger=llm_feedback.__name__)
    async with Endpoint(answer).client() as client:
        feedback = await section_feedback("difficultes", answered, "ua", CATALOGUE, SETTINGS, client)
    assert (feedback.remarks, feedback.llm_used, feedback.show_fallback_notice, feedback.failure) == (
        offline(answered), False, True, failure
    )
    messages = [r.getMessage() for r in caplog.records]
    if logged is None:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(logged)
