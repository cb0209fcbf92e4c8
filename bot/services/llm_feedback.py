"""Optional language-model feedback on a section, through an OpenAI-compatible chat-completions API.

Off unless ``LlmSettings`` are given. The model gets the system prompt of ``prompts/llm/`` (no
rewriting, one remark per criterion as JSON, no verdict) and its answer is validated strictly: any
timeout, HTTP error, malformed JSON, wrong shape or attempt at writing the report makes the caller
fall back to the offline feedback, with a flag telling it to show a short notice.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import httpx
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.config import LlmSettings  # base_url (…/v1, /chat/completions is appended), model, api_key, timeout
from bot.domain.coaching import AnsweredQuestion
from bot.domain.feedback import LLM_CHECK_ID, Remark, normalise, review_section
from bot.domain.report import Catalogue
from bot.paths import PROMPTS_DIR

__all__ = ["LlmSettings", "LlmFailure", "SectionFeedback", "section_feedback", "parse_llm_answer", "build_messages"]

log = logging.getLogger(__name__)

MAX_REMARK_CHARS = 400
REMARK_KEYS = frozenset({"criterion", "quote", "remark"})
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
_QUOTED = re.compile(r"«[^»]*»|\"[^\"]*\"|“[^”]*”")
# Signs that the model writes the report instead of asking: first person of the auditeur outside
# quotation marks, drafting offers, verdicts that belong to the tutor.
_FIRST_PERSON = re.compile(r"(?<![\w'])(?:je|j'|mon|ma|mes)(?![\w])|(?<![\w'])j'(?=\w)")
_DRAFTING = re.compile(
    r"vous pourriez écrire|vous pouvez écrire|écrivez|proposition de (?:rédaction|texte|phrase)|reformul"
    r"|voici (?:une|un|le|la)"
    r"|exemple de (?:phrase|paragraphe|rédaction)|par exemple\s*:"
)
_VERDICT = re.compile(r"(?<![\w])(?:non[- ])?validée?s?(?![\w])|\d+\s*/\s*20|(?<![\w])note (?:de|finale)(?![\w])")


class LlmFailure(StrEnum):
    TIMEOUT = "timeout"
    HTTP_ERROR = "http_error"
    MALFORMED = "malformed"
    REJECTED = "rejected"


class LlmAnswerRejected(ValueError):
    def __init__(self, failure: LlmFailure, detail: str) -> None:
        super().__init__(f"{failure.value}: {detail}")
        self.failure = failure


@dataclass(frozen=True)
class SectionFeedback:
    remarks: list[Remark]  # offline remarks, then the model's remarks when it answered well
    llm_used: bool  # the model's remarks are included
    show_fallback_notice: bool  # the model was asked and failed: tell the auditeur briefly
    failure: LlmFailure | None = None


def _prompts_env(prompts_dir: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(prompts_dir / "llm"),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def build_messages(
    section_id: str,
    answered: Sequence[AnsweredQuestion],
    report_type: str,
    catalogue: Catalogue,
    prompts_dir: Path = PROMPTS_DIR,
) -> list[dict[str, str]]:
    section = catalogue.section(section_id)
    kind = catalogue.report_type(report_type)
    system = (prompts_dir / "llm" / "system_feedback.md").read_text(encoding="utf-8")
    user = (
        _prompts_env(prompts_dir)
        .get_template("user_feedback.md")
        .render(
            report_label=kind.label,
            limit_wording=kind.limit_wording,
            section_title=section.title,
            target_words=catalogue.target_words(report_type, section_id),
            purpose=section.purpose,
            good_answer=section.good_answer,
            criteria=allowed_criteria(section_id, catalogue),
            notes=[{"question": a.question.text, "answers": a.answers} for a in answered],
        )
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def allowed_criteria(section_id: str, catalogue: Catalogue) -> list:
    if catalogue.grid is None:
        return []
    return list(catalogue.grid.criteria_for(section_id))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", normalise(text)).strip()


def parse_llm_answer(content: str, criteria_ids: set[str], notes: Sequence[str]) -> list[Remark]:
    """Validate the model's answer strictly; raise LlmAnswerRejected when it cannot be shown."""
    content = content.strip()
    fenced = _FENCE.match(content)
    if fenced:
        content = fenced.group(1)
    try:
        doc = json.loads(content)
    except json.JSONDecodeError as exc:
        raise LlmAnswerRejected(LlmFailure.MALFORMED, f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or set(doc) != {"remarks"} or not isinstance(doc["remarks"], list):
        raise LlmAnswerRejected(LlmFailure.MALFORMED, 'expected exactly {"remarks": [...]}')
    haystack = _squash("\n".join(notes))
    remarks: list[Remark] = []
    seen: set[str] = set()
    for item in doc["remarks"]:
        if not isinstance(item, dict) or set(item) != REMARK_KEYS:
            raise LlmAnswerRejected(LlmFailure.MALFORMED, f"a remark must have exactly the keys {sorted(REMARK_KEYS)}")
        criterion, quote, text = item["criterion"], item["quote"], item["remark"]
        if not isinstance(criterion, str) or not isinstance(text, str) or not (quote is None or isinstance(quote, str)):
            raise LlmAnswerRejected(LlmFailure.MALFORMED, "wrong types in a remark")
        if criterion not in criteria_ids:
            raise LlmAnswerRejected(LlmFailure.REJECTED, f"criterion {criterion!r} not asked for")
        if criterion in seen:
            raise LlmAnswerRejected(LlmFailure.REJECTED, f"two remarks for {criterion}")
        seen.add(criterion)
        text = text.strip()
        _reject_rewriting(text)
        if quote is not None:
            quote = quote.strip().strip('«»"“” ')
            if not quote or _squash(quote) not in haystack:
                raise LlmAnswerRejected(LlmFailure.REJECTED, "the quote is not the auditeur's words")
        remarks.append(Remark(LLM_CHECK_ID, criterion, quote or None, {"text": text}))
    return remarks


def _reject_rewriting(text: str) -> None:
    if not text or len(text) > MAX_REMARK_CHARS:
        raise LlmAnswerRejected(LlmFailure.REJECTED, "remark empty or too long")
    if "?" not in text:
        raise LlmAnswerRejected(LlmFailure.REJECTED, "a remark must ask a question")
    outside_quotes = normalise(_QUOTED.sub(" ", text))
    if _FIRST_PERSON.search(outside_quotes) or _DRAFTING.search(outside_quotes):
        raise LlmAnswerRejected(LlmFailure.REJECTED, "the remark writes the report")
    if _VERDICT.search(outside_quotes):
        raise LlmAnswerRejected(LlmFailure.REJECTED, "the remark gives a verdict")


async def ask_model(
    settings: LlmSettings, messages: list[dict[str, str]], client: httpx.AsyncClient | None = None
) -> str:
    """POST to /chat/completions and return the content of the first choice."""
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    payload = {
        "model": settings.model,
        "messages": messages,
        "temperature": 0,
        "response_format": {"type": "json_object"},
    }
    url = settings.base_url.rstrip("/") + "/chat/completions"
    owned = client is None
    client = client or httpx.AsyncClient()
    try:
        response = await client.post(url, json=payload, headers=headers, timeout=httpx.Timeout(settings.timeout))
    finally:
        if owned:
            await client.aclose()
    response.raise_for_status()
    try:
        return response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LlmAnswerRejected(LlmFailure.MALFORMED, f"not a chat-completions answer: {exc!r}") from None


async def section_feedback(
    section_id: str,
    answered: Sequence[AnsweredQuestion],
    report_type: str,
    catalogue: Catalogue,
    settings: LlmSettings | None = None,
    client: httpx.AsyncClient | None = None,
) -> SectionFeedback:
    """The offline feedback, plus the model's remarks when a model is configured and answers well."""
    notes = [text for item in answered for text in item.answers]
    offline = review_section(section_id, notes, report_type, catalogue)
    if settings is None or not notes:
        return SectionFeedback(offline, llm_used=False, show_fallback_notice=False)
    try:
        messages = build_messages(section_id, answered, report_type, catalogue)
        content = await ask_model(settings, messages, client)
        criteria_ids = {c.id for c in allowed_criteria(section_id, catalogue)}
        llm_remarks = parse_llm_answer(content if isinstance(content, str) else "", criteria_ids, notes)
    except httpx.TimeoutException:
        return _fallback(offline, LlmFailure.TIMEOUT)
    except httpx.HTTPError as exc:
        log.warning("LLM feedback failed: %r", exc)
        return _fallback(offline, LlmFailure.HTTP_ERROR)
    except LlmAnswerRejected as exc:
        log.warning("LLM feedback rejected: %s", exc)
        return _fallback(offline, exc.failure)
    return SectionFeedback(offline + llm_remarks, llm_used=True, show_fallback_notice=False)


def _fallback(offline: list[Remark], failure: LlmFailure) -> SectionFeedback:
    return SectionFeedback(offline, llm_used=False, show_fallback_notice=True, failure=failure)
