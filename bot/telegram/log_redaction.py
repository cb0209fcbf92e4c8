"""Logging setup: no bot token and no personal data reach a log line, whatever library wrote it.

Redaction happens when a record is created (a LogRecord factory), so it holds for every handler,
including ones attached later (pytest's, a journald handler, ...), for every level (DEBUG too) and
for formatted tracebacks:

- the bot token is replaced by ``[REDACTED]`` everywhere;
- our own records (loggers ``bot.*``) carry ids by design: they never pass a name, a message text,
  a file name or a button's text (a test tours the bot and looks for them in every record);
- records of third-party loggers (python-telegram-bot, httpx, tornado, apscheduler, SQLAlchemy, ...)
  keep their message template but lose every argument that is not a number, a boolean, ``None``, a
  list of those or an exception: python-telegram-bot logs the request payloads at DEBUG ("Calling
  Bot API endpoint `%s` with parameters `%s`", the webhook's body), which hold message texts, names
  and file names; an argument that is dropped is shown as ``«…»``.
"""

from __future__ import annotations

import logging
import traceback

_secrets: list[str] = []
_base_factory = logging.getLogRecordFactory()
HIDDEN = "«…»"
_OWN_PREFIXES = ("bot.", "__main__")


def _redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "[REDACTED]")
    return text


def _is_own(name: str) -> bool:
    return name == "bot" or name.startswith(_OWN_PREFIXES)


def _safe_argument(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, BaseException)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)) and all(
        v is None or isinstance(v, (bool, int, float)) for v in value
    ):
        return value
    return HIDDEN


def _without_personal_arguments(record: logging.LogRecord) -> str:
    if not isinstance(record.msg, str):
        return HIDDEN
    args = record.args
    if not args:
        return record.msg
    try:
        if isinstance(args, dict):
            return record.msg % {key: _safe_argument(value) for key, value in args.items()}
        return record.msg % tuple(_safe_argument(value) for value in args)
    except (TypeError, ValueError, KeyError):  # e.g. "%d" given a hidden string
        return record.msg


def _redacting_factory(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if _is_own(record.name):
        if not _secrets:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the log line
            message = str(record.msg)
    else:
        message = _without_personal_arguments(record)
    record.msg, record.args = _redact(message), None
    if _secrets and record.exc_info and record.exc_info[0] is not None:
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
