"""Webhook mode: what python-telegram-bot's webhook server does, except for bodies that are not updates.

PTB's handler answers 500 to a body that is not JSON (``json.loads`` raises out of the request) and
logs the raw body (message texts included) at DEBUG and CRITICAL. Ours keeps its checks (JSON content
type and the secret-token header: 403 otherwise), then answers **400** to anything that is not a
Telegram update (not UTF-8, not JSON, not an object with an ``update_id``, or refused by
``Update.de_json``) and logs it once, with its size only.

Installed by ``install()`` in place of PTB's ``WebhookAppClass``, which ``Updater.start_webhook``
(``Application.run_webhook``) instantiates: private names of PTB 22 (pinned ``<23`` in
pyproject.toml), covered by ``tests/e2e/test_transport.py``.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

import tornado.web
from telegram import Update
from telegram.ext import ExtBot
from telegram.ext import _updater
from telegram.ext._utils import webhookhandler

log = logging.getLogger(__name__)


def parse_update(body: bytes, bot) -> Update | None:
    """The update in ``body``, or None when it is not one."""
    try:
        data = json.loads(body)
    except ValueError:  # not UTF-8 (UnicodeDecodeError is a ValueError) or not JSON
        return None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return None
    try:
        return Update.de_json(data, bot)
    except Exception:  # noqa: BLE001 - any shape PTB cannot read is a bad request, not a crash
        return None


class UpdateHandler(webhookhandler.TelegramHandler):
    async def post(self) -> None:
        self._validate_post()  # content type and secret token: 403 otherwise
        body = self.request.body
        update = parse_update(body, self.bot)
        if update is None:
            log.warning("webhook: refused a %d-byte body that is not a Telegram update (400)", len(body))
            self.send_error(HTTPStatus.BAD_REQUEST, reason="Not a Telegram update")
            return
        self.set_status(HTTPStatus.OK)
        if isinstance(self.bot, ExtBot):
            self.bot.insert_callback_data(update)
        await self.update_queue.put(update)


class WebhookApp(webhookhandler.WebhookAppClass):
    def __init__(self, webhook_path: str, bot, update_queue, secret_token: str | None = None) -> None:
        self.shared_objects = {"bot": bot, "update_queue": update_queue, "secret_token": secret_token}
        tornado.web.Application.__init__(self, [(rf"{webhook_path}/?", UpdateHandler, self.shared_objects)])


def install() -> None:
    if not hasattr(_updater, "WebhookAppClass"):
        raise RuntimeError("python-telegram-bot changed its webhook server: review bot/telegram/webhook.py")
    _updater.WebhookAppClass = WebhookApp
