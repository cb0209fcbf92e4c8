"""The callback context handlers receive: services, renderer, messenger and routes at hand.

python-telegram-bot builds one context per update, so it also carries what is known about the
update being handled: the person (identified once, with their stored conversation, in one database
session) and whether the button press was already answered (never answered twice).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.domain.people import EnrolmentView, PersonView
from bot.services.directory import TelegramIdentity
from bot.services.people_cache import MISSING

if TYPE_CHECKING:
    from bot.services.container import Services
    from bot.services.conversations import Conversation
    from bot.telegram.messenger import Messenger
    from bot.telegram.rendering import Renderer
    from bot.telegram.routing import Routes

T = TypeVar("T")
_UNLOADED = object()


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self._person: Any = _UNLOADED
        self._conversation: Any = _UNLOADED
        self.query_answered = False
        self._user_id: int | None = None
        self.handler_name: str | None = None

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]

    @property
    def renderer(self) -> Renderer:
        return self.application.bot_data["renderer"]

    @property
    def messenger(self) -> Messenger:
        return self.application.bot_data["messenger"]

    @property
    def routes(self) -> Routes:
        return self.application.bot_data["routes"]

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (blocking, database-bound) service call off the event loop."""
        return await asyncio.to_thread(function, *args, **kwargs)

    async def _load(self, update: Update) -> None:
        user = update.effective_user
        if user is None or user.is_bot:
            self._person, self._conversation = None, None
            return
        self._user_id = user.id
        identity = TelegramIdentity(user.id, user.first_name, user.last_name, user.username)
        self._person, self._conversation = await self.call(self.services.directory.identify_with_conversation, identity)

    async def identify(self, update: Update) -> PersonView | None:
        """The person behind this update (once per update; `forget_person` after binding).

        Someone who wrote a few seconds ago is known without reading the database (see
        `Directory.recently_identified`); their conversation is then read only if asked for."""
        if self._person is _UNLOADED:
            user = update.effective_user
            recent = self.services.directory.recently_identified(user.id) if user is not None and not user.is_bot else None
            if recent is not None:
                self._person, self._user_id = recent, user.id
            else:
                await self._load(update)
        return self._person

    async def conversation(self, update: Update) -> Conversation | None:
        """The person's stored conversation as it was when the update arrived."""
        if self._conversation is _UNLOADED:
            await self._load(update)
        return self._conversation

    async def enrolment(self, person: PersonView) -> EnrolmentView | None:
        """The auditeur's active enrolment: remembered (no thread, no read) or read off the loop."""
        directory = self.services.directory
        remembered = directory.remembered_enrolment(person.id)
        if remembered is not MISSING:
            return remembered  # type: ignore[return-value]
        return await self.call(directory.active_enrolment, person.id)

    @property
    def person(self) -> PersonView | None:
        """The person identified for this update (None before `identify`)."""
        return None if self._person is _UNLOADED else self._person

    def forget_person(self) -> None:
        """The person changed (bound, blocked, erased, role): the next `identify` reads them again."""
        self._person = self._conversation = _UNLOADED
        if self._user_id is not None:
            self.services.directory.forget(self._user_id)

    async def answer_query(self, update: Update) -> None:
        """Answer the button press, once: a second answer is refused by Telegram."""
        query = update.callback_query
        if query is None or self.query_answered:
            return
        self.query_answered = True  # set first: a failed answer may still have reached Telegram
        await query.answer()
