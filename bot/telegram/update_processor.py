"""Updates from one person are handled in order; different people's concurrently.

python-telegram-bot's update processor hook: one lock per person, so that two quick messages of
one auditeur never race, while a slow PDF review for one person does not delay anybody else.
With several instances on one PostgreSQL database, the lock is also taken in the database
(`bot/storage/person_locks.py`), so one person's updates are never handled by two instances at once.

Order, not only exclusion: in webhook mode the update queue (`OrderedUpdateQueue`) takes the
person's lock *before* the update is acknowledged to Telegram. Telegram sends a person's next
update only once the previous one was acknowledged, so whichever instance receives the next one
waits for this one to be handled: updates are handled in the order Telegram sent them.

Answers first: the outbox sender asks ``until_answered`` before a message to someone whose update
is being handled here, so that what the update caused for that person follows the handler's answer.

Memory stays bounded: a person's in-process lock is dropped when idle, and the ids of handled
updates (what tests and the demo wait on, and how duplicate webhook deliveries are recognised)
are kept for the last `done_window` updates only.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.storage.person_locks import PersonLocks

Release = Callable[[], Awaitable[None]]


def _sequence_key(update: object) -> object:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
    return ("update", id(update))


class _KeyLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self, max_concurrent_updates: int = 64, *, person_locks: PersonLocks | None = None, done_window: int = 10_000
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[object, _KeyLock] = {}
        self._person_locks = person_locks
        self._reserved: dict[int, Release] = {}
        self._active: set[int] = set()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._done_update_ids: set[int] = set()
        self._done_order: deque[int] = deque()
        self._done_window = done_window
        self._done_changed = asyncio.Condition()

    # -- the person's lock: in this process, then across instances -------------------------------

    async def _acquire(self, key: object) -> Release:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _KeyLock()
        entry.users += 1
        try:
            await entry.lock.acquire()
        except BaseException:
            self._drop(key, entry)
            raise
        shared: Release | None = None
        try:
            if self._person_locks is not None and key[0] in {"user", "chat"}:
                shared = await self._person_locks.acquire(key[1])
        except BaseException:
            entry.lock.release()
            self._drop(key, entry)
            raise

        async def release() -> None:
            try:
                if shared is not None:
                    await shared()
            finally:
                entry.lock.release()
                self._drop(key, entry)

        return release

    def _drop(self, key: object, entry: _KeyLock) -> None:
        entry.users -= 1
        if entry.users == 0 and self._locks.get(key) is entry:
            del self._locks[key]

    async def reserve(self, update: object) -> bool:
        """Take the person's lock for an update about to be queued (webhook mode, before the 200).

        False for an update already received (Telegram re-sends what it thinks was not delivered):
        the caller acknowledges it without queueing it again.
        """
        if not isinstance(update, Update):
            return True
        update_id = update.update_id
        if update_id in self._reserved or update_id in self._active or update_id in self._done_update_ids:
            return False
        self._reserved[update_id] = None  # type: ignore[assignment] - claimed while we wait
        try:
            self._reserved[update_id] = await self._acquire(_sequence_key(update))
        except BaseException:
            self._reserved.pop(update_id, None)
            raise
        return True

    # -- python-telegram-bot's hook ------------------------------------------------------------------

    async def do_process_update(self, update: object, coroutine: Awaitable[object]) -> None:
        self._in_flight += 1
        self._idle.clear()
        release = None
        if isinstance(update, Update):
            release = self._reserved.pop(update.update_id, None)
            self._active.add(update.update_id)
        try:
            if release is None:
                release = await self._acquire(_sequence_key(update))
            try:
                await coroutine
            finally:
                await release()
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
            if isinstance(update, Update):
                self._active.discard(update.update_id)
                await self._mark_done(update.update_id)

    async def _mark_done(self, update_id: int) -> None:
        async with self._done_changed:
            if update_id not in self._done_update_ids:
                self._done_update_ids.add(update_id)
                self._done_order.append(update_id)
                while len(self._done_order) > self._done_window:
                    self._done_update_ids.discard(self._done_order.popleft())
            self._done_changed.notify_all()

    async def until_answered(self, user_id: int, timeout: float) -> None:
        """Until no update of this person is being handled here (at most ``timeout`` seconds). The
        sender waits on it before a message to them: what an update caused for the person who sent it
        (the calendar file of the meeting they just booked) comes after the handler's answer."""
        key = ("user", user_id)

        def idle() -> bool:
            entry = self._locks.get(key)
            return entry is None or not entry.lock.locked()

        if idle():
            return
        async with self._done_changed:  # notified once each update is handled, its lock released
            try:
                await asyncio.wait_for(self._done_changed.wait_for(idle), timeout)
            except TimeoutError:
                pass  # a long conversation: send all the same

    async def wait_for_update(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the update with this id has been fully handled (used by tests and the demo)."""

        async def _wait() -> None:
            async with self._done_changed:
                await self._done_changed.wait_for(lambda: update_id in self._done_update_ids)

        await asyncio.wait_for(_wait(), timeout)

    async def wait_idle(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._idle.wait(), timeout)

    @property
    def memory(self) -> dict[str, int]:
        """What the processor holds (tests check it stays bounded)."""
        return {"locks": len(self._locks), "done_ids": len(self._done_update_ids), "reserved": len(self._reserved)}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        if self._person_locks is not None:
            self._person_locks.dispose()


class OrderedUpdateQueue(asyncio.Queue):
    """The Application's update queue; with `gate=True` (webhook mode) `put` takes the person's
    lock first, so the webhook answers Telegram only once this update holds its person's turn.

    Not in long-polling mode: there `put` is called by the one polling loop, which must not wait
    for anybody's lock (and a single poller receives every update in order anyway).
    """

    def __init__(self, processor: PerUserUpdateProcessor, *, gate: bool) -> None:
        super().__init__()
        self._processor = processor
        self.gate = gate

    async def put(self, item: object) -> None:
        if self.gate and isinstance(item, Update) and not await self._processor.reserve(item):
            return  # already received: acknowledged, not handled twice
        await super().put(item)
