"""`coachbot run`: the real bot, long polling by default, webhook mode when WEBHOOK_URL is set.

python-telegram-bot stops cleanly on SIGINT/SIGTERM (pending updates are finished, the database is
closed in post_shutdown).
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.app import build_application
from bot.config import Settings
from bot.storage.db import Database
from bot.telegram.log_redaction import configure_logging

log = logging.getLogger(__name__)


def run_bot(settings: Settings) -> int:
    token = settings.require_token()
    configure_logging(settings.log_level, [token])
    db = Database(settings.database_url)
    db.upgrade()
    application = build_application(settings, db=db)
    if settings.webhook is not None:
        hook = settings.webhook
        log.info("starting in webhook mode on %s:%s%s", hook.listen, hook.port, hook.path or "/")
        application.run_webhook(
            listen=hook.listen,
            port=hook.port,
            url_path=hook.path.lstrip("/"),
            webhook_url=hook.url,
            secret_token=hook.secret_token,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        log.info("starting in long-polling mode against %s", settings.api_base_url.replace(token, "[REDACTED]"))
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
