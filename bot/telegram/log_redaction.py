"""Logging setup: the bot token never reaches a log line, whatever library wrote it.

Redaction happens when a record is created (a LogRecord factory), so it holds for every handler,
including ones attached later (pytest's, a journald handler, ...), and for formatted tracebacks.
"""

from __future__ import annotations

import logging
import traceback

_secrets: list[str] = []
_base_factory = logging.getLogRecordFactory()


def _redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "[REDACTED]")
    return text


def _redacting_factory(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not hide the log line
        message = str(record.msg)
    record.msg, record.args = _redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = _redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
    return record


def install_redaction(secrets: list[str]) -> None:
    _secrets[:] = [s for s in secrets if s]
    logging.setLogRecordFactory(_redacting_factory)


def configure_logging(level: str, secrets: list[str]) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_coachbot", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler._coachbot = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    install_redaction(secrets)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
