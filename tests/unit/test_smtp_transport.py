"""The SMTP transport (no Telegram here) against a local aiosmtpd server speaking real TLS: STARTTLS (587-style) and
implicit TLS (465-style), with a self-signed certificate made here for 127.0.0.1. Authentication is
offered only once the connection is encrypted (``auth_require_tls`` with STARTTLS; implicit TLS is
encrypted from the first byte) and the server records that it received each message over TLS; a
client that does not trust the certificate fails and sends nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import socket
import ssl
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.config import SmtpSettings
from bot.services.email import SmtpError, SmtpTransport


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and localhost (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.Message, bool]] = []

    async def handle_DATA(self, server, session, envelope):
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content), encrypted))
        return "250 Message accepted"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"bot" and auth_data.password == b"secret"
    # handled=False: aiosmtpd answers the refusal itself (535); the default (handled=True) means "already
    # answered" and the client waits for a reply that never comes (a read timeout, not a 535)
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_context(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def _trusting(certificate) -> ssl.SSLContext:
    """A client context that trusts the test certificate only, host name checked."""
    return ssl.create_default_context(cafile=certificate[0])


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(request, certificate):
    inbox, port = Inbox(), _free_port()
    if request.param == "starttls":
        controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_authenticator,
                                auth_require_tls=True, require_starttls=True, tls_context=_server_context(certificate))
    else:
        controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_authenticator,
                                auth_require_tls=False, ssl_context=_server_context(certificate))
        # (aiosmtpd only knows of STARTTLS for auth_require_tls; here the socket is TLS from the start)
    controller.start()
    yield request.param, inbox, port
    controller.stop()


def _transport(security: str, port: int, *, password: str = "secret", context: ssl.SSLContext | None = None) -> SmtpTransport:
    settings = SmtpSettings("127.0.0.1", port, security, "bot", password, "accompagnement@cnam-paysdelaloire.fr", timeout=10)
    return SmtpTransport(settings, tls_context=context)


async def test_a_message_goes_through_tls_with_authentication(tls_server, certificate):
    security, inbox, port = tls_server
    await _transport(security, port, context=_trusting(certificate)).send(
        to="nina.petit@exemple.fr", subject="Votre accompagnement é", body="Bonjour Nina é")
    [(sender, to, message, encrypted)] = inbox.messages
    assert encrypted, "the server saw the message on a TLS connection"
    assert sender == "accompagnement@cnam-paysdelaloire.fr" and to == ["nina.petit@exemple.fr"]
    assert str(email.header.make_header(email.header.decode_header(message["Subject"]))) == "Votre accompagnement é"
    assert message.get_payload(decode=True).decode().strip() == "Bonjour Nina é"


async def test_an_untrusted_certificate_is_refused_and_nothing_is_sent(tls_server):
    security, inbox, port = tls_server
    with pytest.raises(SmtpError) as refused:
        await _transport(security, port).send(to="nina.petit@exemple.fr", subject="S", body="B")  # the system's CAs
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value) or "certificate" in str(refused.value).lower()
    assert refused.value.configuration and refused.value.permanent  # retrying cannot help: dead at once
    assert "nina.petit" not in str(refused.value)
    assert not inbox.messages


async def test_a_wrong_password_is_refused_with_535_at_once(tls_server, certificate):
    security, inbox, port = tls_server
    started = time.monotonic()
    with pytest.raises(SmtpError) as refused:
        await _transport(security, port, password="wrong-pass", context=_trusting(certificate)).send(
            to="nina.petit@exemple.fr", subject="S", body="B")
    assert refused.value.code == 535, refused.value  # permanent: the sender gives up at once
    assert refused.value.permanent and not refused.value.configuration
    assert time.monotonic() - started < 3  # the server's answer, not the 10 s read timeout
    assert "wrong-pass" not in str(refused.value) and "nina.petit" not in str(refused.value)
    assert not inbox.messages


@pytest.fixture
def plain_server():
    """A server without TLS and without authentication (a local relay)."""
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.mark.parametrize("security, password, missing", [
    ("starttls", "secret", "STARTTLS"),  # settings ask for STARTTLS, the server has none
    ("none", "secret", "AUTH"),  # settings give a login, the server offers no authentication
])
async def test_settings_the_server_cannot_honour_are_a_configuration_error(plain_server, security, password, missing):
    inbox, port = plain_server
    with pytest.raises(SmtpError) as refused:
        await _transport(security, port, password=password).send(to="nina.petit@exemple.fr", subject="S", body="B")
    assert missing in str(refused.value) and refused.value.configuration and refused.value.permanent
    assert not inbox.messages


async def test_a_server_that_does_not_answer_is_temporary(plain_server):
    _, port = plain_server
    with pytest.raises(SmtpError) as refused:
        await _transport("none", _free_port(), password="").send(to="nina.petit@exemple.fr", subject="S", body="B")
    assert not refused.value.permanent  # nobody listens there: retried with backoff


def _relay(port: int) -> SmtpTransport:
    """No TLS, no login: a local relay."""
    return SmtpTransport(SmtpSettings("127.0.0.1", port, "none", None, None, "accompagnement@cnam-paysdelaloire.fr", timeout=10))


class RefusingInbox(Inbox):
    """A server that refuses one recipient with a given reply, and says so with an address in it."""

    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply = reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return self.reply


@pytest.fixture
def refusing_server(request):
    inbox, port = RefusingInbox(request.param), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.mark.parametrize(("refusing_server", "code", "permanent"), [
    ("550 5.1.1 <nina.petit@exemple.fr>: mailbox unknown", 550, True),
    ("452 4.2.2 mailbox of nina.petit@exemple.fr full, try later", 452, False),
], indirect=["refusing_server"])
async def test_a_refused_recipient_keeps_the_server_code_and_no_address(refusing_server, code, permanent):
    inbox, port = refusing_server
    with pytest.raises(SmtpError) as refused:
        await _relay(port).send(to="nina.petit@exemple.fr", subject="S", body="B")
    assert refused.value.code == code and refused.value.permanent is permanent
    assert str(refused.value) == f"{code} recipient refused" and not refused.value.configuration
    assert "nina.petit" not in str(refused.value) and "exemple.fr" not in str(refused.value)
    assert not inbox.messages


async def test_a_local_relay_without_tls_nor_login_delivers(plain_server, caplog):
    inbox, port = plain_server
    with caplog.at_level("INFO", logger="bot.services.email"):
        await _relay(port).send(to="nina.petit@exemple.fr", subject="Objet", body="Corps")
    assert [r.getMessage() for r in caplog.records if r.name == "bot.services.email"] == [
        f"e-mail sent through 127.0.0.1:{port}"]  # where to, never whom
    [(sender, to, message, encrypted)] = inbox.messages
    assert not encrypted and to == ["nina.petit@exemple.fr"] and message["Subject"] == "Objet"


def test_the_message_has_sender_recipient_date_and_an_id_of_the_sender_domain():
    settings = SmtpSettings("smtp.example.org", 587, "starttls", "u", "p", "accompagnement@cnam-paysdelaloire.fr")
    message = SmtpTransport(settings).message(to="nina.petit@exemple.fr", subject="Sujet é", body="Corps é")
    assert message["From"] == "accompagnement@cnam-paysdelaloire.fr" and message["To"] == "nina.petit@exemple.fr"
    assert str(email.header.make_header(email.header.decode_header(message["Subject"]))) == "Sujet é"
    assert message["Message-ID"].endswith("@cnam-paysdelaloire.fr>")
    assert message["Date"].endswith("-0000")  # UTC, whatever the machine's zone (RFC 5322's "-0000")
    sent = email.utils.parsedate_to_datetime(message["Date"]).replace(tzinfo=dt.timezone.utc)
    assert abs((dt.datetime.now(dt.timezone.utc) - sent).total_seconds()) < 60
    assert message.get_content().strip() == "Corps é"


def test_an_error_is_cut_to_200_characters_and_loses_every_address():
    error = SmtpError(421, "")
    assert str(error) == "421" and not error.permanent and not error.configuration
    assert SmtpError(500, "x").permanent and SmtpError(599, "x").permanent and not SmtpError(600, "x").permanent
    assert not SmtpError(499, "x").permanent
    from bot.services.email import _scrub
    scrubbed = _scrub("refused <nina.petit@exemple.fr>, cc paul@exemple.org; " + "x" * 300)
    assert scrubbed.startswith("refused <«adresse»>, cc «adresse»; xxx") and len(scrubbed) == 200


async def test_a_server_reply_keeps_its_code_and_its_text_without_the_password(tls_server, certificate):
    security, _, port = tls_server
    with pytest.raises(SmtpError) as refused:
        await _transport(security, port, password="wrong-pass", context=_trusting(certificate)).send(
            to="nina.petit@exemple.fr", subject="S", body="B")
    assert str(refused.value).startswith("535 ") and "uthentication" in str(refused.value)


async def test_nobody_listening_is_code_0_named_by_the_error_type(plain_server):
    with pytest.raises(SmtpError) as refused:
        await _relay(_free_port()).send(to="nina.petit@exemple.fr", subject="S", body="B")
    assert refused.value.code == 0 and not refused.value.configuration
    assert str(refused.value).startswith("0 SMTPConnectError: ") or str(refused.value).startswith("0 ConnectionRefusedError")


async def test_the_configured_host_is_the_one_dialled():
    """127.0.0.2 is loopback too, but not where "localhost" (the client's default) leads."""
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.2", port=port)
    controller.start()
    try:
        settings = SmtpSettings("127.0.0.2", port, "none", None, None, "accompagnement@cnam-paysdelaloire.fr", timeout=10)
        await SmtpTransport(settings).send(to="nina.petit@exemple.fr", subject="S", body="B")
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


async def test_a_server_that_accepts_and_never_answers_fails_after_the_configured_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # the connection is accepted by the kernel, no greeting ever comes
    try:
        settings = SmtpSettings("127.0.0.1", listener.getsockname()[1], "none", None, None, "a@exemple.fr", timeout=0.3)
        with pytest.raises(SmtpError) as refused:
            # far below the client's own 60 s default: only the configured timeout can end it in time
            await asyncio.wait_for(SmtpTransport(settings).send(to="nina.petit@exemple.fr", subject="S", body="B"), 20)
    finally:
        listener.close()
    assert refused.value.code == 0 and not refused.value.permanent and "Timeout" in str(refused.value)


@pytest.mark.parametrize("tls_server", ["starttls"], indirect=True)  # only a STARTTLS server offers the upgrade
async def test_no_tls_means_no_upgrade_even_when_the_server_offers_starttls(tls_server):
    _, inbox, port = tls_server
    with pytest.raises(SmtpError) as refused:
        await _relay(port).send(to="nina.petit@exemple.fr", subject="S", body="B")
    assert refused.value.code == 530  # "STARTTLS first": the client did not upgrade on its own
    assert not inbox.messages


async def test_an_untrusted_certificate_is_logged_once_with_host_port_and_error_type(tls_server, caplog):
    security, _, port = tls_server
    with caplog.at_level("ERROR", logger="bot.services.email"), pytest.raises(SmtpError):
        await _transport(security, port).send(to="nina.petit@exemple.fr", subject="S", body="B")
    [record] = [r for r in caplog.records if r.name == "bot.services.email"]
    message = record.getMessage()
    assert message.startswith(f"SMTP settings refused by 127.0.0.1:{port} (") and "fix SMTP_* and restart" in message
    assert "Error" in message.split("(")[1] and "nina.petit" not in message
