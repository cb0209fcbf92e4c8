"""Inline keyboards and callback data.

Callback data is `namespace:action[:arg...]`, at most 64 bytes (Telegram's limit). It is untrusted
input: handlers parse it with `parse_callback` and the services re-check every permission.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

CALLBACK_DATA_LIMIT = 64


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None


def callback(namespace: str, action: str, *args: object) -> str:
    data = ":".join([namespace, action, *(str(a) for a in args)])
    if len(data.encode()) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {data!r}")
    return data


@dataclass(frozen=True)
class CallbackData:
    namespace: str
    action: str
    args: tuple[str, ...]

    def int_arg(self, index: int) -> int | None:
        try:
            value = int(self.args[index])
        except (IndexError, ValueError):
            return None
        return value if 0 <= value < 2**63 else None

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None


def parse_callback(data: str | None) -> CallbackData | None:
    if not data or len(data.encode()) > CALLBACK_DATA_LIMIT:
        return None
    parts = data.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    return CallbackData(parts[0], parts[1], tuple(parts[2:]))


def keyboard(rows: Iterable[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """The inline keyboard of these rows (empty rows dropped), or None when no button is left:
    Telegram refuses an empty `reply_markup`, so a list that can be empty never sends one."""
    markup = [
        [
            InlineKeyboardButton(b.label, url=b.url) if b.url else InlineKeyboardButton(b.label, callback_data=b.data)
            for b in row
        ]
        for row in rows
        if row
    ]
    return InlineKeyboardMarkup(markup) if markup else None


def column(buttons: Iterable[Button]) -> InlineKeyboardMarkup | None:
    return keyboard([b] for b in buttons)
