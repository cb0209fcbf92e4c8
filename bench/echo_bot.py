"""The reference for bench/bench_delivery.py: a bare python-telegram-bot echo bot (long polling).

    ECHO_TOKEN=... ECHO_API_BASE_URL=http://127.0.0.1:PORT/bot python bench/echo_bot.py

Same library, same emulator, same polling settings as `coachbot run`, and nothing else: every text
is sent back as it came.
"""

from __future__ import annotations

import logging
import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    application = (
        Application.builder()
        .token(os.environ["ECHO_TOKEN"])
        .base_url(os.environ["ECHO_API_BASE_URL"])
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
