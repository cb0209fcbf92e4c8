"""Threads for the database calls of background work (the outbox sender, broadcast progress).

Handlers run their service calls on the event loop's default executor (``BotContext.call``). If
the sender shared it, a broadcast at 30 messages/s (a directory read per message, claims, outcome
batches) would queue ahead of the answers to the people using the bot meanwhile. Background work
gets its own few threads instead: it can only take that many threads' worth of database time, and
an answer never waits for a free thread behind it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundThreads:
    def __init__(self, name: str, workers: int = 2) -> None:
        self._name = name
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Like ``asyncio.to_thread``, on these threads."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix=self._name)
        context = contextvars.copy_context()
        bound = functools.partial(context.run, function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, bound)

    def shutdown(self) -> None:
        """After the last call (the threads are started again by a later call)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
