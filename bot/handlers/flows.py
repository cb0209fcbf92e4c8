"""Routing free text and documents to the conversation a person is in.

A conversation (`flow`) is stored in the database; each feature registers what to do with the next
text or document in its flows. Without a flow, text goes to the fallback (code redemption for
unknown users, a hint for others).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot.telegram.context import BotContext

FlowCallback = Callable[[Update, BotContext, object], Awaitable[None]]

TEXT_FLOWS: dict[str, FlowCallback] = {}
DOCUMENT_FLOWS: dict[str, FlowCallback] = {}


def on_text(flow: str):
    def register(callback: FlowCallback) -> FlowCallback:
        TEXT_FLOWS[flow] = callback
        return callback

    return register


def on_document(flow: str):
    """Register the document handler of a flow; flow "default" handles documents outside any flow."""

    def register(callback: FlowCallback) -> FlowCallback:
        DOCUMENT_FLOWS[flow] = callback
        return callback

    return register
