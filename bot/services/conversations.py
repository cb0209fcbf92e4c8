"""Conversation state in the database: a restart or a second instance resumes exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.storage.db import Database
from bot.storage.models import ConversationState


@dataclass(frozen=True)
class Conversation:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


class Conversations:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, telegram_user_id: int) -> Conversation | None:
        with self._db.read() as session:
            row = session.get(ConversationState, telegram_user_id)
            return Conversation(row.flow, row.step, dict(row.data or {})) if row else None

    def set(self, telegram_user_id: int, flow: str, step: str, data: dict[str, Any] | None = None) -> Conversation:
        with self._db.transaction() as session:
            row = session.get(ConversationState, telegram_user_id)
            if row is None:
                row = ConversationState(telegram_user_id=telegram_user_id, flow=flow, step=step, data=data or {})
                session.add(row)
            else:
                row.flow, row.step, row.data = flow, step, dict(data or {})
        return Conversation(flow, step, dict(data or {}))

    def clear(self, telegram_user_id: int, *, flow: str | None = None) -> None:
        """Forget the conversation (only if it is still in `flow`, when given)."""
        with self._db.transaction() as session:
            row = session.get(ConversationState, telegram_user_id)
            if row is not None and (flow is None or row.flow == flow):
                session.delete(row)
