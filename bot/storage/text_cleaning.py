"""Text the database refuses, cleaned in one place: the engine, for every statement and every backend.

PostgreSQL rejects U+0000 in text (SQLite stores it), and a lone surrogate (U+D800–U+DFFF not part
of a pair: Telegram clients can send them, Python keeps them) stored by SQLite makes every later
encoding of that text to UTF-8 fail. So that both databases store the same thing, every string
bound to a statement, and every string inside a JSON value, is cleaned on its way in:

- U+0000 is removed;
- a lone surrogate is replaced by U+FFFD (the replacement character ``�``).

Nothing else is changed. Installed by ``create_database_engine`` (a ``before_cursor_execute``
listener for plain parameters, the engine's ``json_serializer`` for JSON columns), so it holds for
texts from Telegram, from the command line and from PDFs alike.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Engine, event

_REFUSED = re.compile("[\x00\ud800-\udfff]")


def _replace(match: re.Match) -> str:
    return "" if match.group() == "\x00" else "\ufffd"


def clean_text(value: str) -> str:
    """``value`` without U+0000 and with each lone surrogate replaced by U+FFFD."""
    return _REFUSED.sub(_replace, value) if _REFUSED.search(value) else value


def clean_value(value: Any) -> Any:
    """Strings cleaned anywhere inside lists, tuples and dicts (keys too); other values unchanged."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(clean_value(v) for v in value)
    return value


def json_serializer(value: Any) -> str:
    return json.dumps(clean_value(value))


def _clean_parameters(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        return {key: clean_text(v) if isinstance(v, str) else v for key, v in parameters.items()}
    if isinstance(parameters, tuple):
        return tuple(clean_text(v) if isinstance(v, str) else v for v in parameters)
    if isinstance(parameters, list):  # executemany: a list of parameter sets
        return [_clean_parameters(p) for p in parameters]
    return parameters


def install(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _before_cursor_execute(_conn, _cursor, statement, parameters, _context, _executemany):
        return statement, _clean_parameters(parameters)
