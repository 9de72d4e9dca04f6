"""Email alerts over TLS against a real local SMTP server (aiosmtpd) with its own certificate:
STARTTLS and implicit TLS deliver and log in only once the certificate checks out; an untrusted
certificate gets neither the password nor the message; a login is never configured in the clear."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from dashboard.delivery import Permanent, send_mail
from metrics.definitions.alerts import DeliverySettings, EmailDestination
from tests.delivery_servers import free_port

PASSWORD = "s3cret-smtp-password"


@dataclass
class TlsServer:
    port: int
    cert: Path
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # login, password, over TLS
    messages: list[tuple[str, list[str], bool]] = field(default_factory=list)  # from, to, over TLS


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, written as PEM (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "northstar-test-smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server(tmp_path: Path, implicit: bool) -> Iterator[TlsServer]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = _certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = TlsServer(port=free_port(), cert=cert)

    def authenticator(smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        over_tls = implicit or smtp._tls_protocol is not None
        server.logins.append((data.login.decode(), data.password.decode(), over_tls))
        return AuthResult(success=data.password.decode() == PASSWORD)

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            over_tls = implicit or smtp._tls_protocol is not None
            server.messages.append((envelope.mail_from, list(envelope.rcpt_tos), over_tls))
            return "250 Message accepted for delivery"

    # implicit TLS wraps the whole socket, which aiosmtpd's STARTTLS bookkeeping does not see
    options: dict[str, Any] = {"authenticator": authenticator, "auth_require_tls": not implicit}
    if implicit:
        controller = Controller(
            Handler(), hostname="127.0.0.1", port=server.port, ssl_context=context, **options
        )
    else:
        controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=server.port,
            tls_context=context,
            require_starttls=True,
            **options,
        )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def starttls(tmp_path: Path) -> Iterator[TlsServer]:
    yield from _server(tmp_path, implicit=False)


@pytest.fixture
def implicit_tls(tmp_path: Path) -> Iterator[TlsServer]:
    yield from _server(tmp_path, implicit=True)


def _destination(port: int, security: str) -> EmailDestination:
    return EmailDestination.model_validate(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "security": security,
            "username": "alerts@example.com",
            "password": PASSWORD,
            "from": "northstar@example.com",
            "to": ["pm@example.com"],
        }
    )


def _message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "[Northstar] test"
    message.set_content("hello")
    return message


QUICK = DeliverySettings(retries=0, backoff_seconds=0, timeout_seconds=5)


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_delivers_and_logs_in_once_the_certificate_is_trusted(
    mode: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    server: TlsServer = request.getfixturevalue("starttls" if mode == "starttls" else "implicit_tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(server.cert))  # what ssl.create_default_context() trusts
    send_mail(_destination(server.port, mode), _message(), QUICK)
    assert server.logins == [("alerts@example.com", PASSWORD, True)]
    assert server.messages == [("northstar@example.com", ["pm@example.com"], True)]


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_an_untrusted_certificate_gets_no_password_and_no_message(
    mode: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server: TlsServer = request.getfixturevalue("starttls" if mode == "starttls" else "implicit_tls")
    (tmp_path / "other").mkdir()
    other, _ = _certificate(tmp_path / "other")
    monkeypatch.setenv("SSL_CERT_FILE", str(other))  # a different authority: the server's is not trusted
    with pytest.raises(Permanent, match="certificate does not check out") as failure:  # no retry
        send_mail(_destination(server.port, mode), _message(), QUICK)
    assert "SSL_CERT_FILE" in str(failure.value)
    assert PASSWORD not in str(failure.value)
    assert server.logins == [] and server.messages == []


def test_a_login_is_never_configured_in_the_clear() -> None:
    with pytest.raises(ValidationError, match="never sent in the clear"):
        _destination(25, "none")
    relay = EmailDestination.model_validate(
        {
            "type": "email",
            "host": "relay",
            "security": "none",
            "from": "a@example.com",
            "to": ["b@example.com"],
        }
    )
    assert relay.smtp_port == 25 and relay.password is None
