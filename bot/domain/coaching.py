"""The state of a coaching session on the report, section by section.

The coach asks the guiding questions of a section one at a time; the auditeur answers in as many
messages as they like, can skip a question, go back, edit an answer, or leave and finish later.
Reaching the end of the questions (or finishing early) marks the section done and shows the notes
with the feedback. Everything here is plain data, serialisable with ``to_dict``/``from_dict`` so the
storage layer can keep it as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.feedback import count_words
from bot.domain.report import Catalogue, Question, Section

STATE_VERSION = 1


class SectionStatus(StrEnum):
    NOT_STARTED = "not_started"
    STARTED = "started"
    DONE = "done"


class CoachingError(ValueError):
    """An operation that does not apply to the session in its current state."""


@dataclass(frozen=True)
class AnsweredQuestion:
    question: Question
    answers: tuple[str, ...]
    skipped: bool


@dataclass
class SectionSession:
    """One section being coached: the answers per question and where the auditeur is."""

    section_id: str
    question_ids: tuple[str, ...]
    answers: dict[str, list[str]] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    current: int = 0  # index into question_ids; len(question_ids) means "at the summary"
    status: SectionStatus = SectionStatus.NOT_STARTED

    @classmethod
    def for_section(cls, section: Section) -> SectionSession:
        return cls(section_id=section.id, question_ids=tuple(q.id for q in section.questions))

    # --- where we are ---

    @property
    def total(self) -> int:
        return len(self.question_ids)

    @property
    def at_end(self) -> bool:
        return self.current >= self.total

    @property
    def current_question_id(self) -> str | None:
        return None if self.at_end else self.question_ids[self.current]

    def current_question(self, section: Section) -> Question | None:
        question_id = self.current_question_id
        return None if question_id is None else section.question(question_id)

    @property
    def position(self) -> tuple[int, int]:
        """(1-based number of the current question, number of questions), e.g. (2, 4)."""
        return min(self.current + 1, self.total), self.total

    def answers_to(self, question_id: str) -> list[str]:
        return list(self.answers.get(question_id, []))

    @property
    def answered_count(self) -> int:
        return sum(1 for qid in self.question_ids if self.answers.get(qid))

    # --- what the auditeur does ---

    def record(self, text: str) -> bool:
        """Add a message to the answer of the current question. Blank messages are ignored."""
        text = text.strip()
        if not text:
            return False
        question_id = self._require_current()
        self.answers.setdefault(question_id, []).append(text)
        self.skipped.discard(question_id)
        self._mark_started()
        return True

    def advance(self) -> bool:
        """Go to the next question; False when past the last one: the section is done."""
        self._require_current()
        self._mark_started()
        return self._move_to(self.current + 1)

    def skip(self) -> bool:
        """Leave the current question unanswered and go on; False when the section is done."""
        question_id = self._require_current()
        if not self.answers.get(question_id):
            self.skipped.add(question_id)
        self._mark_started()
        return self._move_to(self.current + 1)

    def back(self) -> None:
        """Go to the previous question (from the summary, to the last question)."""
        if self.current == 0:
            raise CoachingError("already at the first question")
        self.current = min(self.current, self.total) - 1

    def goto(self, question_id: str) -> None:
        self.current = self._index_of(question_id)

    def edit(self, question_id: str, text: str) -> None:
        """Replace the whole answer to a question; a blank text clears it."""
        self._index_of(question_id)
        text = text.strip()
        if text:
            self.answers[question_id] = [text]
            self.skipped.discard(question_id)
            self._mark_started()
        else:
            self.answers.pop(question_id, None)

    def follow_up_question(self) -> str:
        """Where a message typed at the summary belongs: the first question left without an
        answer (the summary flags it and asks about it), else the last question."""
        for question_id in self.question_ids:
            if not self.answers.get(question_id):
                return question_id
        return self.question_ids[-1]

    def add_to(self, question_id: str, text: str) -> bool:
        """Add a message to a question's answer without moving (a message typed at the summary)."""
        self._index_of(question_id)
        text = text.strip()
        if not text:
            return False
        self.answers.setdefault(question_id, []).append(text)
        self.skipped.discard(question_id)
        return True

    @property
    def unanswered(self) -> tuple[str, ...]:
        """Questions skipped or left without an answer, in order."""
        return tuple(q for q in self.question_ids if not self.answers.get(q))

    def undo_last(self) -> str | None:
        """Remove the last message given to the current question and return it."""
        question_id = self._require_current()
        messages = self.answers.get(question_id)
        if not messages:
            return None
        removed = messages.pop()
        if not messages:
            del self.answers[question_id]
        return removed

    def finish_later(self) -> None:
        """Leave the section where it is: the position is kept, a started section stays started."""
        if self.status is SectionStatus.NOT_STARTED and self.answers:
            self.status = SectionStatus.STARTED

    def finish(self) -> None:
        """Close the section now, even with questions left: go to the summary."""
        self.current = self.total
        self.status = SectionStatus.DONE

    def reopen(self) -> None:
        """Come back to a section: resume at the first unanswered question, or the first one."""
        if not self.at_end:
            return None
        for index, question_id in enumerate(self.question_ids):
            if not self.answers.get(question_id):
                self.current = index
                break
        else:
            self.current = 0

    # --- what the bot shows ---

    def notes(self) -> list[str]:
        """All the messages, in question order, then answers to questions no longer in the catalogue."""
        ordered = list(self.question_ids) + sorted(set(self.answers) - set(self.question_ids))
        return [text for qid in ordered for text in self.answers.get(qid, [])]

    def structured_notes(self, section: Section) -> list[AnsweredQuestion]:
        return [
            AnsweredQuestion(question=q, answers=tuple(self.answers.get(q.id, [])), skipped=q.id in self.skipped)
            for q in section.questions
        ]

    # --- storage ---

    def to_dict(self) -> dict:
        return {
            "section_id": self.section_id,
            "question_ids": list(self.question_ids),
            "answers": {qid: list(texts) for qid, texts in self.answers.items()},
            "skipped": sorted(self.skipped),
            "current": self.current,
            "status": self.status.value,
        }

    @classmethod
    def from_dict(cls, data: dict, section: Section | None = None) -> SectionSession:
        """Rebuild a session; given the current section, follow edits of its questions in the catalogue."""
        session = cls(
            section_id=data["section_id"],
            question_ids=tuple(data.get("question_ids", ())),
            answers={qid: list(texts) for qid, texts in data.get("answers", {}).items() if texts},
            skipped=set(data.get("skipped", ())),
            current=int(data.get("current", 0)),
            status=SectionStatus(data.get("status", SectionStatus.NOT_STARTED.value)),
        )
        if section is not None:
            session._follow_catalogue(section)
        return session

    # --- internals ---

    def _follow_catalogue(self, section: Section) -> None:
        current_id = self.current_question_id
        self.question_ids = tuple(q.id for q in section.questions)
        if current_id in self.question_ids:
            self.current = self.question_ids.index(current_id)
        else:
            self.current = min(self.current, self.total)
        self.skipped &= set(self.question_ids)

    def _require_current(self) -> str:
        question_id = self.current_question_id
        if question_id is None:
            raise CoachingError("the section is at its summary; reopen it or pick a question")
        return question_id

    def _index_of(self, question_id: str) -> int:
        try:
            return self.question_ids.index(question_id)
        except ValueError:
            raise CoachingError(f"unknown question {question_id!r} in section {self.section_id}") from None

    def _mark_started(self) -> None:
        if self.status is SectionStatus.NOT_STARTED:
            self.status = SectionStatus.STARTED

    def _move_to(self, index: int) -> bool:
        self.current = min(index, self.total)
        if self.at_end:
            self.status = SectionStatus.DONE
        return not self.at_end


@dataclass(frozen=True)
class SectionOverview:
    section_id: str
    title: str
    status: SectionStatus
    answered: int
    questions: int
    words: int
    target_words: int
    pages: float


@dataclass(frozen=True)
class ProgressSummary:
    done: int
    started: int
    not_started: int
    total: int

    @property
    def percent_done(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass
class ReportProgress:
    """All the sections of one auditeur's report, for one report type."""

    report_type: str
    sessions: dict[str, SectionSession] = field(default_factory=dict)
    active_section: str | None = None

    def open(self, section: Section) -> SectionSession:
        """The session of a section (created on first use), which becomes the active one."""
        session = self.sessions.get(section.id)
        if session is None:
            session = self.sessions[section.id] = SectionSession.for_section(section)
        elif session.at_end:
            session.reopen()
        self.active_section = section.id
        return session

    def close(self) -> None:
        """Finish later: leave the active section, keeping its state."""
        if self.active_section and self.active_section in self.sessions:
            self.sessions[self.active_section].finish_later()
        self.active_section = None

    def status_of(self, section_id: str) -> SectionStatus:
        session = self.sessions.get(section_id)
        return session.status if session else SectionStatus.NOT_STARTED

    def notes_by_section(self) -> dict[str, list[str]]:
        return {section_id: session.notes() for section_id, session in self.sessions.items()}

    def overview(self, catalogue: Catalogue) -> list[SectionOverview]:
        report_type = catalogue.report_type(self.report_type)
        rows = []
        for section in catalogue.sections:
            session = self.sessions.get(section.id)
            rows.append(
                SectionOverview(
                    section_id=section.id,
                    title=section.title,
                    status=self.status_of(section.id),
                    answered=session.answered_count if session else 0,
                    questions=len(section.questions),
                    words=count_words(session.notes()) if session else 0,
                    target_words=catalogue.target_words(self.report_type, section.id),
                    pages=report_type.pages_for(section.id),
                )
            )
        return rows

    def summary(self, catalogue: Catalogue) -> ProgressSummary:
        statuses = [self.status_of(s.id) for s in catalogue.sections]
        return ProgressSummary(
            done=statuses.count(SectionStatus.DONE),
            started=statuses.count(SectionStatus.STARTED),
            not_started=statuses.count(SectionStatus.NOT_STARTED),
            total=len(statuses),
        )

    def to_dict(self) -> dict:
        return {
            "version": STATE_VERSION,
            "report_type": self.report_type,
            "active_section": self.active_section,
            "sections": {sid: session.to_dict() for sid, session in self.sessions.items()},
        }

    @classmethod
    def from_dict(cls, data: dict, catalogue: Catalogue | None = None) -> ReportProgress:
        sessions = {}
        for section_id, raw in data.get("sections", {}).items():
            section = None
            if catalogue is not None:
                try:
                    section = catalogue.section(section_id)
                except KeyError:
                    continue  # a section removed from the catalogue
            sessions[section_id] = SectionSession.from_dict(raw, section)
        return cls(report_type=data["report_type"], sessions=sessions, active_section=data.get("active_section"))
