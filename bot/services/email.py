"""The e-mail transport the outbox sender uses (``OutboxSender(email=...)``): a real SMTP client.

aiosmtplib, with STARTTLS (submission port 587), implicit TLS (465) or none (a local relay), and
authentication when configured (``SMTP_*`` settings). One connection per message: invitation
e-mails are few. A failure raises; the sender retries transient ones with backoff and records a
5xx refusal or a configuration error as ``dead`` at once (shown to staff with the dead letters).
"""

from __future__ import annotations

import logging
import re
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from bot.config import SmtpSettings

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"[^\s<>()'\",;:]+@[^\s<>()'\",;:]+")


class SmtpError(Exception):
    """An SMTP failure without any address in it (it reaches the logs and the staff view).
    ``code`` is the server's reply code when there is one: 5xx is permanent for the sender, and so
    is ``configuration`` (the server's certificate is not trusted, it offers no STARTTLS or no
    AUTH): retrying cannot help until the ``SMTP_*`` settings are fixed and the bot restarted."""

    def __init__(self, code: int, message: str, *, configuration: bool = False) -> None:
        super().__init__(f"{code} {message}".strip())
        self.code = code
        self.configuration = configuration

    @property
    def permanent(self) -> bool:
        return self.configuration or 500 <= self.code < 600


def _is_configuration_error(error: BaseException) -> bool:
    """The server and our settings disagree: an untrusted certificate, a missing extension."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, (ssl.SSLCertVerificationError, aiosmtplib.SMTPNotSupported)):
            return True
        if isinstance(seen, aiosmtplib.SMTPException) and "not supported" in str(seen):  # no STARTTLS, no AUTH
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _scrub(text: str) -> str:
    return _ADDRESS.sub("«adresse»", text)[:200]


class SmtpTransport:
    def __init__(self, settings: SmtpSettings, *, tls_context: ssl.SSLContext | None = None) -> None:
        """``tls_context``: the certificates to trust (default: the system's, with the host name
        checked); the tests pass one that trusts their self-signed certificate."""
        self._settings = settings
        self._tls_context = tls_context

    def message(self, *, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self._settings.sender.rpartition("@")[2] or None)
        message.set_content(body)
        return message

    async def send(self, *, to: str, subject: str, body: str) -> None:
        settings = self._settings
        try:
            await self._send(to=to, subject=subject, body=body)
        except aiosmtplib.SMTPResponseException as error:
            raise SmtpError(error.code, _scrub(error.message)) from None
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [e.code for e in error.recipients] or [550]
            raise SmtpError(codes[0], "recipient refused") from None
        except (aiosmtplib.SMTPException, OSError) as error:
            configuration = _is_configuration_error(error)
            if configuration:
                log.error("SMTP settings refused by %s:%s (%s): fix SMTP_* and restart", settings.host, settings.port,
                          type(error).__name__)
            raise SmtpError(0, f"{type(error).__name__}: {_scrub(str(error))}", configuration=configuration) from None
        log.info("e-mail sent through %s:%s", settings.host, settings.port)  # no address: personal data

    async def _send(self, *, to: str, subject: str, body: str) -> None:
        settings = self._settings
        await aiosmtplib.send(
            self.message(to=to, subject=subject, body=body),
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            use_tls=settings.security == "ssl",
            start_tls=True if settings.security == "starttls" else False,
            timeout=settings.timeout,
            tls_context=self._tls_context,
        )
