"""One lock per person shared by every instance on one PostgreSQL database (advisory locks).

Behind a proxy, two instances may each receive one of a person's updates; the update processor
holds this lock while it handles one, so the other waits (see `bot/telegram/update_processor.py`).
On SQLite there is a single process and the in-process lock suffices: `PersonLocks.for_url` returns
None.

Session-level advisory locks on connections of a small dedicated pool (AUTOCOMMIT): never the
pool the handlers use, so a handler can never wait for a connection held by a lock waiting for it.
Waiting is a `pg_try_advisory_lock` retried with a short sleep on the event loop, so no thread is
parked on a lock held by another instance. If the process dies, PostgreSQL drops its locks with
its connections.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

NAMESPACE = 0x0C0AC4  # first key of the two-int4 advisory key space: "coachbot person"
_TRY = text("SELECT pg_try_advisory_lock(:namespace, :key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:namespace, :key)")


def lock_key(user_id: int) -> int:
    """A Telegram id folded into a signed int4 (two people sharing a key just wait for each other)."""
    folded = (user_id ^ (user_id >> 31)) & 0xFFFFFFFF
    return folded - (1 << 32) if folded >= 1 << 31 else folded


def _discard(connection) -> None:
    connection.invalidate()
    connection.close()


class PersonLocks:
    def __init__(self, url: str, *, pool_size: int = 16) -> None:
        self._engine = create_engine(
            url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True, isolation_level="AUTOCOMMIT",
            hide_parameters=True,
        )
        self._pool_size = pool_size
        self._slots: asyncio.Semaphore | None = None

    @classmethod
    def for_url(cls, url: str, **kwargs) -> PersonLocks | None:
        return cls(url, **kwargs) if make_url(url).get_backend_name() == "postgresql" else None

    def _try(self, connection, key: int) -> bool:
        return bool(connection.execute(_TRY, {"namespace": NAMESPACE, "key": key}).scalar())

    def _release(self, connection, key: int) -> None:
        try:
            connection.execute(_UNLOCK, {"namespace": NAMESPACE, "key": key})
        except Exception:  # noqa: BLE001 - a broken connection: closing it frees the lock server-side
            log.warning("could not release the lock of key %s; dropping its connection", key)
            connection.invalidate()
        finally:
            connection.close()

    async def acquire(self, user_id: int) -> Callable[[], Awaitable[None]]:
        """Wait for this person's lock; returns the coroutine function that releases it."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._pool_size)
        key = lock_key(user_id)
        await self._slots.acquire()
        connection = None
        try:
            connection = await asyncio.to_thread(self._engine.connect)
            delay = 0.002
            while not await asyncio.to_thread(self._try, connection, key):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
        except BaseException:
            if connection is not None:  # it may hold the lock already: drop it rather than pool it
                await asyncio.to_thread(_discard, connection)
            self._slots.release()
            raise
        held = connection

        async def release() -> None:
            try:
                await asyncio.to_thread(self._release, held, key)
            finally:
                self._slots.release()

        return release

    def dispose(self) -> None:
        self._engine.dispose()
