"""Settings, read once from the environment (and a `.env` file), validated, then passed down.

No other module reads the environment: the composition root hands a `Settings` to whoever needs it.
Every variable is documented in `.env.example`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_API_FILE_URL = "https://api.telegram.org/file/bot"
DEFAULT_ACCESSIBILITY_CONTACT = "handi@cnam-paysdelaloire.fr"
DEFAULT_CNAM_CONTACT = "votre conseiller habituel du Cnam Pays de la Loire"

_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


class ConfigError(ValueError):
    """A missing or invalid setting; `variable` names the environment variable at fault."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    listen: str
    port: int
    secret_token: str
    path: str


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server the invitation e-mails go through (step 1 of the accompaniment)."""

    host: str
    port: int
    security: str  # "starttls" (submission, 587), "ssl" (implicit TLS, 465) or "none" (a local relay)
    username: str | None
    password: str | None
    sender: str  # the From address
    timeout: float = 30.0

    def __repr__(self) -> str:  # never print the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r})"


@dataclass(frozen=True)
class LlmSettings:
    """An OpenAI-compatible chat-completions endpoint for optional coaching feedback."""

    base_url: str
    model: str
    api_key: str | None
    timeout: float


@dataclass(frozen=True)
class DeliverySettings:
    """How the outbox sender paces and retries what the bot sends on its own."""

    per_second: float = 28.0  # shared by every instance; Telegram allows about 30 messages/s overall
    per_chat_interval: timedelta = timedelta(seconds=1)  # Telegram: about one message per second per chat
    replies_per_second: float = 30.0  # answers to the person who just wrote (local to an instance)
    poll_interval: timedelta = timedelta(milliseconds=500)  # rows written by other instances, rows coming due
    max_attempts: int = 8
    retry_base: timedelta = timedelta(seconds=2)  # first backoff; doubled on each further attempt, up to 10 min
    stale_after: timedelta = timedelta(minutes=2)  # a claim left by an instance that died mid-send
    paid_broadcast: bool = False  # Telegram's paid broadcasts (allow_paid_broadcast, charged in Stars)
    read_timeout: float = 30.0  # seconds to wait for Telegram's answer before the outcome is unknown


@dataclass(frozen=True)
class Settings:
    bot_token: str | None
    api_base_url: str
    api_file_url: str
    database_url: str
    data_dir: Path
    staff_telegram_ids: frozenset[int]
    timezone: ZoneInfo
    webhook: WebhookSettings | None
    accessibility_contact: str
    cnam_contact: str
    bot_username: str | None
    invitation_ttl: timedelta
    alsace_moselle: bool
    school_holiday_zone: str
    llm: LlmSettings | None
    log_level: str
    delivery: DeliverySettings = DeliverySettings()
    retention_months: int = 12  # personal data kept this long after the accompaniment ends
    opinion_days: int = 14  # the tutor's opinion is expected this many days after the revised report
    smtp: SmtpSettings | None = None

    def require_token(self) -> str:
        if not self.bot_token:
            raise ConfigError("TELEGRAM_BOT_TOKEN", "is missing (the token given by @BotFather)")
        return self.bot_token

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)

    def __repr__(self) -> str:  # never print the token
        return f"Settings(database_url={self.database_url!r}, api_base_url={self.api_base_url!r}, webhook={bool(self.webhook)})"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _parse_int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(name, f"must be between {minimum} and {maximum}, got {value}")
    return value


def _parse_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _get(env, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "oui", "on"}:
        return True
    if lowered in {"0", "false", "no", "non", "off"}:
        return False
    raise ConfigError(name, f"must be true or false, got {raw!r}")


def _parse_url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = _get(env, name) or default
    if raw is None:
        return None
    if not re.match(r"^https?://[^\s/]+", raw):
        raise ConfigError(name, f"must be an http(s) URL, got {raw!r}")
    return raw


def _parse_staff_ids(env: Mapping[str, str]) -> frozenset[int]:
    raw = _get(env, "STAFF_TELEGRAM_IDS")
    if raw is None:
        return frozenset()
    ids = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdecimal():
            raise ConfigError("STAFF_TELEGRAM_IDS", f"must be comma-separated numeric Telegram user ids, got {part!r}")
        ids.add(int(part))
    return frozenset(ids)


def _parse_webhook(env: Mapping[str, str]) -> WebhookSettings | None:
    url = _parse_url(env, "WEBHOOK_URL", None)
    if url is None:
        return None
    if not url.startswith("https://") and not re.match(r"^http://(127\.0\.0\.1|localhost)[:/]", url):
        raise ConfigError("WEBHOOK_URL", "must use https:// (Telegram only delivers webhooks over HTTPS)")
    secret = _get(env, "WEBHOOK_SECRET")
    if secret is None:
        raise ConfigError("WEBHOOK_SECRET", "is required when WEBHOOK_URL is set")
    if not _SECRET_RE.match(secret):
        raise ConfigError("WEBHOOK_SECRET", "must be 1-256 characters among A-Z, a-z, 0-9, _ and -")
    from urllib.parse import urlparse

    path = urlparse(url).path
    return WebhookSettings(
        url=url,
        listen=_get(env, "WEBHOOK_LISTEN") or "127.0.0.1",
        port=_parse_int(env, "WEBHOOK_PORT", 8080, minimum=1, maximum=65535),
        secret_token=secret,
        path=path.strip("/"),
    )


def _parse_llm(env: Mapping[str, str]) -> LlmSettings | None:
    base_url = _parse_url(env, "LLM_BASE_URL", None)
    if base_url is None:
        return None
    model = _get(env, "LLM_MODEL")
    if model is None:
        raise ConfigError("LLM_MODEL", "is required when LLM_BASE_URL is set")
    timeout = _parse_int(env, "LLM_TIMEOUT_SECONDS", 20, minimum=1, maximum=300)
    return LlmSettings(base_url=base_url.rstrip("/"), model=model, api_key=_get(env, "LLM_API_KEY"), timeout=float(timeout))


def _parse_smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    host = _get(env, "SMTP_HOST")
    if host is None:
        return None
    security = (_get(env, "SMTP_SECURITY") or "starttls").lower()
    if security not in {"starttls", "ssl", "none"}:
        raise ConfigError("SMTP_SECURITY", f"must be starttls, ssl or none, got {security!r}")
    default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
    sender = _get(env, "SMTP_FROM")
    if sender is None or "@" not in sender:
        raise ConfigError("SMTP_FROM", "is required when SMTP_HOST is set (the From address, e.g. accompagnement@cnam-paysdelaloire.fr)")
    username, password = _get(env, "SMTP_USERNAME"), _get(env, "SMTP_PASSWORD")
    if (username is None) != (password is None):
        raise ConfigError("SMTP_PASSWORD" if password is None else "SMTP_USERNAME", "SMTP_USERNAME and SMTP_PASSWORD go together")
    return SmtpSettings(
        host=host, port=_parse_int(env, "SMTP_PORT", default_port, minimum=1, maximum=65535), security=security,
        username=username, password=password, sender=sender,
        timeout=float(_parse_int(env, "SMTP_TIMEOUT_SECONDS", 30, minimum=1, maximum=300)),
    )


def load_settings(env: Mapping[str, str] | None = None, *, dotenv_path: Path | None = None) -> Settings:
    """Read and validate every setting; raises ConfigError naming the first bad variable."""
    if env is None:
        from dotenv import dotenv_values

        file_values = dotenv_values(dotenv_path or Path.cwd() / ".env")
        env = {**{k: v for k, v in file_values.items() if v is not None}, **os.environ}

    token = _get(env, "TELEGRAM_BOT_TOKEN")
    if token is not None and not _TOKEN_RE.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN", "does not look like a bot token (digits, a colon, then at least 20 characters)")

    tz_name = _get(env, "TIMEZONE") or "Europe/Paris"
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("TIMEZONE", f"unknown time zone {tz_name!r} (e.g. Europe/Paris)") from None

    data_dir = Path(_get(env, "COACHBOT_DATA_DIR") or "data").expanduser()
    database_url = _get(env, "DATABASE_URL") or f"sqlite:///{(data_dir / 'coachbot.db').as_posix()}"
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", database_url):
        raise ConfigError("DATABASE_URL", "must be an sqlite:/// or postgresql+psycopg:// URL")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

    username = _get(env, "TELEGRAM_BOT_USERNAME")
    if username is not None:
        username = username.lstrip("@")
        if not _USERNAME_RE.match(username):
            raise ConfigError("TELEGRAM_BOT_USERNAME", f"is not a valid bot username: {username!r}")

    zone = (_get(env, "SCHOOL_HOLIDAY_ZONE") or "B").upper()
    if zone not in {"A", "B", "C"}:
        raise ConfigError("SCHOOL_HOLIDAY_ZONE", f"must be A, B or C, got {zone!r}")

    log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("LOG_LEVEL", f"must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")

    return Settings(
        bot_token=token,
        api_base_url=_parse_url(env, "TELEGRAM_API_BASE_URL", DEFAULT_API_BASE_URL),
        api_file_url=_parse_url(env, "TELEGRAM_API_FILE_URL", DEFAULT_API_FILE_URL),
        database_url=database_url,
        data_dir=data_dir,
        staff_telegram_ids=_parse_staff_ids(env),
        timezone=timezone,
        webhook=_parse_webhook(env),
        accessibility_contact=_get(env, "ACCESSIBILITY_CONTACT") or DEFAULT_ACCESSIBILITY_CONTACT,
        cnam_contact=_get(env, "CNAM_CONTACT") or DEFAULT_CNAM_CONTACT,
        bot_username=username,
        invitation_ttl=timedelta(days=_parse_int(env, "INVITATION_TTL_DAYS", 14, minimum=1, maximum=90)),
        alsace_moselle=_parse_bool(env, "HOLIDAYS_ALSACE_MOSELLE", False),
        school_holiday_zone=zone,
        llm=_parse_llm(env),
        log_level=log_level,
        delivery=DeliverySettings(
            per_second=float(_parse_int(env, "TELEGRAM_RATE_PER_SECOND", 28, minimum=1, maximum=1000)),
            per_chat_interval=timedelta(milliseconds=_parse_int(env, "TELEGRAM_PER_CHAT_INTERVAL_MS", 1000, minimum=0, maximum=60000)),
            replies_per_second=float(_parse_int(env, "TELEGRAM_REPLIES_PER_SECOND", 30, minimum=1, maximum=1000)),
            poll_interval=timedelta(milliseconds=_parse_int(env, "OUTBOX_POLL_MS", 500, minimum=20, maximum=60000)),
            max_attempts=_parse_int(env, "OUTBOX_MAX_ATTEMPTS", 8, minimum=1, maximum=100),
            retry_base=timedelta(milliseconds=_parse_int(env, "OUTBOX_RETRY_BASE_MS", 2000, minimum=10, maximum=600000)),
            stale_after=timedelta(seconds=_parse_int(env, "OUTBOX_STALE_AFTER_SECONDS", 120, minimum=1, maximum=3600)),
            paid_broadcast=_parse_bool(env, "TELEGRAM_PAID_BROADCAST", False),
            read_timeout=float(_parse_int(env, "TELEGRAM_TIMEOUT_SECONDS", 30, minimum=1, maximum=300)),
        ),
        retention_months=_parse_int(env, "RETENTION_MONTHS", 12, minimum=1, maximum=120),
        opinion_days=_parse_int(env, "OPINION_DAYS", 14, minimum=1, maximum=90),
        smtp=_parse_smtp(env),
    )
