"""Updates from one person are handled in order; different people's concurrently.

python-telegram-bot's update processor hook: one lock per chat/user, so that two quick messages of
one auditeur never race, while a slow PDF review for one person does not delay anybody else.
It also reports when an update is fully handled, which the end-to-end tests and the demo wait on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from weakref import WeakValueDictionary

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def _sequence_key(update: object) -> object:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
    return ("update", id(update))


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: WeakValueDictionary[object, asyncio.Lock] = WeakValueDictionary()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._done_update_ids: set[int] = set()
        self._done_changed = asyncio.Condition()

    async def do_process_update(self, update: object, coroutine: Awaitable[object]) -> None:
        key = _sequence_key(update)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        self._in_flight += 1
        self._idle.clear()
        try:
            async with lock:
                await coroutine
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
            if isinstance(update, Update):
                async with self._done_changed:
                    self._done_update_ids.add(update.update_id)
                    self._done_changed.notify_all()

    async def wait_for_update(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the update with this id has been fully handled (used by tests and the demo)."""

        async def _wait() -> None:
            async with self._done_changed:
                await self._done_changed.wait_for(lambda: update_id in self._done_update_ids)

        await asyncio.wait_for(_wait(), timeout)

    async def wait_idle(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
