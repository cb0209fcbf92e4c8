"""The professional-experience self-check (/experience): answers -> which report, and why.

Rule (Cnam): three years of experience, two of them in the specialty (reference functions or
activities). Experience outside the specialty, without an effective entry into one of the reference
functions during the training, must be completed by a 3-month internship in the specialty and an
internship report. The questions and every text are data in ``prompts/experience.toml``; this module
decides which questions apply and the outcome, as codes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from bot.domain.report import CatalogueError
from bot.paths import PROMPTS_DIR

YES, NO = "yes", "no"
REQUIRED_TOTAL_YEARS = 3
REQUIRED_SPECIALTY_YEARS = 2
QUESTION_IDS = ("functions", "activities", "years_total", "years_specialty", "entered_during_training")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class ExperienceQuestion:
    id: str
    kind: str  # "yes_no" or "choice"
    text: str
    choices: tuple[Choice, ...]


@dataclass(frozen=True)
class ExperienceOutcome:
    report_type: str  # "ua" or "stage", as in prompts/report/types.toml
    reasons: tuple[str, ...]  # reason codes, worded in prompts/experience.toml [reasons]
    confirm_with_tutor: bool


@dataclass(frozen=True)
class ExperienceContent:
    title: str
    intro: str
    questions: tuple[ExperienceQuestion, ...]
    answer_labels: dict[str, str]
    outcomes: dict[str, dict]
    confirm_with_tutor: str
    reasons: dict[str, str]

    def question(self, question_id: str) -> ExperienceQuestion:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)


def load_experience_content(prompts_dir: Path = PROMPTS_DIR) -> ExperienceContent:
    path = prompts_dir / "experience.toml"
    try:
        with path.open("rb") as handle:
            doc = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc
    yes_no = (Choice(YES, doc["answers"]["yes"]), Choice(NO, doc["answers"]["no"]))
    questions = tuple(
        ExperienceQuestion(
            id=q["id"],
            kind=q["kind"],
            text=q["text"],
            choices=yes_no if q["kind"] == "yes_no" else tuple(Choice(c["value"], c["label"]) for c in q["choices"]),
        )
        for q in doc["questions"]
    )
    if tuple(q.id for q in questions) != QUESTION_IDS:
        raise CatalogueError(f"{path}: the questions must be {QUESTION_IDS} in this order")
    outcomes = {k: v for k, v in doc["outcomes"].items() if isinstance(v, dict)}
    return ExperienceContent(
        title=doc["title"],
        intro=doc["intro"],
        questions=questions,
        answer_labels=dict(doc["answers"]),
        outcomes=outcomes,
        confirm_with_tutor=doc["outcomes"]["confirm_with_tutor"],
        reasons=dict(doc["reasons"]),
    )


@lru_cache(maxsize=1)
def default_experience_content() -> ExperienceContent:
    return load_experience_content()


def _in_field(answers: dict[str, str]) -> bool | None:
    functions, activities = answers.get("functions"), answers.get("activities")
    if functions == YES or activities == YES:
        return True
    if functions == NO and activities == NO:
        return False
    return None


def relevant_question_ids(answers: dict[str, str]) -> tuple[str, ...]:
    """The questions that apply given the answers so far, in order."""
    in_field = _in_field(answers)
    ids = ["functions"] if answers.get("functions") == YES else ["functions", "activities"]
    if in_field is True:
        ids += ["years_total", "years_specialty"]
    elif in_field is False:
        ids += ["years_total", "entered_during_training"]
    return tuple(ids)


def next_question_id(answers: dict[str, str]) -> str | None:
    """The next question to ask, or None when the outcome can be decided."""
    for question_id in relevant_question_ids(answers):
        if question_id not in answers:
            return question_id
    return None


def question_for(question: ExperienceQuestion, answers: dict[str, str]) -> ExperienceQuestion:
    """The question with only the answers consistent with the previous ones: years in the specialty
    cannot exceed the years in all ("less than a year in all" rules out "two years or more")."""
    if question.id == "years_specialty" and answers.get("years_total", "").isdigit():
        total = int(answers["years_total"])
        kept = tuple(c for c in question.choices if not c.value.isdigit() or int(c.value) <= total)
        return replace(question, choices=kept)
    return question


def question_position(answers: dict[str, str]) -> tuple[int, int | None]:
    """(number of the next question, total) — the total only once the path is known, so that it
    never changes on the way ("1", "2/3", "3/3"; or "1", "2", "3/4", "4/4")."""
    number = len(answers) + 1
    path_known = answers.get("functions") == YES or "activities" in answers
    return number, len(relevant_question_ids(answers)) if path_known else None


def validate_answer(question: ExperienceQuestion, value: str, answers: dict[str, str] | None = None) -> str:
    question = question_for(question, answers or {})
    if value not in {c.value for c in question.choices}:
        raise ValueError(f"{value!r} is not an answer to {question.id}")
    return value


def decide(answers: dict[str, str]) -> ExperienceOutcome:
    """Which report the auditeur must write, and the reasons as codes."""
    if next_question_id(answers) is not None:
        raise ValueError("the self-check is not complete")
    total_years = int(answers["years_total"])
    if _in_field(answers):
        specialty_years = int(answers["years_specialty"])
        if specialty_years > total_years:
            raise ValueError("more years in the specialty than in all")
        if total_years >= REQUIRED_TOTAL_YEARS and specialty_years >= REQUIRED_SPECIALTY_YEARS:
            return ExperienceOutcome("ua", ("in_field", "experience_sufficient"), confirm_with_tutor=False)
        reasons = ["in_field", "experience_in_progress"]
        if total_years < REQUIRED_TOTAL_YEARS:
            reasons.append("total_short")
        if specialty_years < REQUIRED_SPECIALTY_YEARS:
            reasons.append("specialty_short")
        return ExperienceOutcome("ua", tuple(reasons), confirm_with_tutor=True)
    if answers["entered_during_training"] == YES:
        reasons = ["out_of_field", "entered_during_training"]
        if total_years < REQUIRED_TOTAL_YEARS:
            reasons.append("total_short")
        return ExperienceOutcome("ua", tuple(reasons), confirm_with_tutor=True)
    return ExperienceOutcome("stage", ("out_of_field", "no_entry_during_training"), confirm_with_tutor=False)
