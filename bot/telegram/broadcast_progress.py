"""Broadcasts under way: start the scheduled ones when due, keep each author's progress message up
to date, and close the finished ones (the final report goes to the author through the outbox).

One task per instance, every ``interval``. Everything it decides is decided in the database
(a scheduled broadcast starts once, a progress message is edited by one instance at most every
``every``), so several instances can run it side by side. Progress edits go to the staff member who
launched the broadcast: their own message, edited in place, paced like any reply.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ExtBot

from bot.domain.broadcasts import State
from bot.services.broadcasts import ProgressView
from bot.telegram.background import BackgroundThreads
from bot.telegram.keyboards import Button, callback, keyboard
from bot.telegram.rendering import Renderer

log = logging.getLogger(__name__)


def progress_message(renderer: Renderer, progress: ProgressView) -> tuple[str, InlineKeyboardMarkup | None]:
    """The progress message and its buttons (pause or resume, cancel) for the broadcast's state."""
    text = renderer.render("broadcasts/progress.html", progress=progress, broadcast=progress.broadcast)
    state, broadcast_id = progress.broadcast.state, progress.broadcast.id
    buttons: list[Button] = []
    if state is State.SENDING and not progress.finished:
        buttons.append(Button(renderer.label("broadcast.pause"), callback("bcast", "pause", broadcast_id)))
    if state is State.PAUSED:
        buttons.append(Button(renderer.label("broadcast.resume"), callback("bcast", "resume", broadcast_id)))
    if state in (State.SENDING, State.PAUSED) and not (state is State.SENDING and progress.finished):
        buttons.append(Button(renderer.label("broadcast.cancel_sending"), callback("bcast", "cancel", broadcast_id)))
    return text, keyboard([buttons]) if buttons else None


class BroadcastProgress:
    def __init__(self, bot: ExtBot, services, renderer: Renderer, *, interval: float = 0.5,
                 every: timedelta = timedelta(seconds=2)) -> None:
        self._bot = bot
        self._services = services
        self._renderer = renderer
        self._interval = interval
        self.every = every
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._lock = asyncio.Lock()
        self._locks: dict[int, asyncio.Lock] = {}
        self._threads = BackgroundThreads("broadcast-progress", workers=1)

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="broadcast-progress")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._task = None
        await asyncio.to_thread(self._threads.shutdown)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may be down: try again later
                log.exception("broadcast progress pass failed")
            await asyncio.sleep(self._interval)

    async def tick(self) -> None:
        """One pass: start what is due, refresh progress messages, close what is finished."""
        service = self._services.broadcasts
        async with self._lock:  # the loop and a test's drain() never run a pass at the same time
            if not await self._threads.call(service.anything_to_do):
                return
            for view in await self._threads.call(service.release_due):
                await self._announce(view)
            for progress in await self._threads.call(service.progress_due, every=self.every):
                await self.refresh(progress.broadcast.id)
            for report in await self._threads.call(service.finish_delivered):
                await self.refresh(report.progress.broadcast.id)

    async def _announce(self, view) -> None:
        """A scheduled broadcast has started: its author gets a progress message."""
        if view.author_id is None:
            return
        author = await self._threads.call(self._services.directory.get, view.author_id)
        if author is None or author.telegram_user_id is None or author.blocked:
            return
        progress = await self._threads.call(self._services.broadcasts.progress, author, view.id)
        text, buttons = progress_message(self._renderer, progress)
        try:
            message = await self._bot.send_message(author.telegram_user_id, text, parse_mode=ParseMode.HTML,
                                                   reply_markup=buttons)
        except TelegramError as error:
            log.info("broadcast %s: progress message not sent (%s)", view.id, type(error).__name__)
            return
        await self._threads.call(self._services.broadcasts.attach_progress_message, view.id,
                                author.telegram_user_id, message.message_id)

    async def refresh(self, broadcast_id: int) -> None:
        """Edit the progress message with the counts read now. One edit at a time per broadcast, each
        reading the counts under the lock: a pause or cancel shown by a handler is never overwritten
        by an older reading."""
        lock = self._locks.setdefault(broadcast_id, asyncio.Lock())
        async with lock:
            progress = await self._threads.call(self._services.broadcasts.current_progress, broadcast_id)
            await self._show(progress)
        if progress.finished:
            self._locks.pop(broadcast_id, None)

    async def _show(self, progress: ProgressView) -> None:
        broadcast = progress.broadcast
        if broadcast.progress_chat_id is None or broadcast.progress_message_id is None:
            return
        text, buttons = progress_message(self._renderer, progress)
        try:
            await self._bot.edit_message_text(text, chat_id=broadcast.progress_chat_id,
                                              message_id=broadcast.progress_message_id, parse_mode=ParseMode.HTML,
                                              reply_markup=buttons)
        except BadRequest as error:
            if "not modified" not in str(error).lower():
                log.info("broadcast %s: progress message not edited (%s)", broadcast.id, error)
        except (Forbidden, TelegramError) as error:
            log.info("broadcast %s: progress message not edited (%s)", broadcast.id, type(error).__name__)
