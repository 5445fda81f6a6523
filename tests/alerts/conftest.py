"""Local destinations that receive real requests and mails: a threading HTTP webhook server and an aiosmtpd
SMTP server on 127.0.0.1, plus the report dataset (first-seen keys, ASNs, moved IPs, hostile text)."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cowrieprocessor.alerts.ratelimit import BUCKETS
from cowrieprocessor.alerts.run import _EVALUATED, _PAUSED
from cowrieprocessor.alerts.settings import AlertsSettings
from cowrieprocessor.config import Settings
from tests.report.conftest import report_data  # noqa: F401 - the dataset fixture, shared
from tests.servers import LocalHTTP

URL_ENV = "CP_TEST_ALERT_WEBHOOK_URL"
CHAT_ENV = "CP_TEST_ALERT_CHAT_URL"


@pytest.fixture(autouse=True)
def _fresh_buckets() -> Iterator[None]:
    """Token buckets and the silent-sensor check times are per process: each test starts afresh."""
    BUCKETS.clear()
    _EVALUATED.clear()
    _PAUSED.clear()
    yield
    BUCKETS.clear()
    _EVALUATED.clear()
    _PAUSED.clear()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes


@dataclass
class WebhookServer:
    """Answers each POST with the next status of ``statuses`` (then 200), after ``delay`` seconds."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> list[str]:
        return [r.headers["idempotency-key"] for r in self.received]


def _handler(server: WebhookServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if server.delay:
                time.sleep(server.delay)
            with server.lock:
                status = server.statuses.pop(0) if server.statuses else 200
                if 200 <= status < 300:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    server.received.append(Received(self.path, headers, json.loads(raw), raw))
            self.send_response(status)
            for name, value in server.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@contextlib.contextmanager
def webhook_server() -> Iterator[WebhookServer]:
    """A local webhook that records every alert it accepts (its URL ends in the secret token)."""
    state = WebhookServer()
    http = LocalHTTP(_handler(state))
    state.url = f"{http.url}/hook/SECRET-TOKEN"
    try:
        yield state
    finally:
        http.close()


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookServer]:
    """The local webhook, named by ``URL_ENV`` (as a destination's ``url_env`` reads it)."""
    with webhook_server() as state:
        monkeypatch.setenv(URL_ENV, state.url)
        yield state


@dataclass
class MailServer:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    auth: list[tuple[str, str]] = field(default_factory=list)


class _Handler:
    def __init__(self, state: MailServer) -> None:
        self.state = state

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.state.messages.append(message)
        self.state.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SMTP_USER, SMTP_PASSWORD = "alerts", "s3cret pass"


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the client trusts it through ``ca_file``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _authenticator(state: MailServer) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        state.auth.append((login, password))
        return AuthResult(success=(login, password) == (SMTP_USER, SMTP_PASSWORD), handled=False)

    return check


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[MailServer]:
    """Plain SMTP that offers STARTTLS (with the test certificate) and AUTH only after it."""
    state = MailServer("127.0.0.1", _free_port())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    controller = Controller(
        _Handler(state),
        hostname=state.host,
        port=state.port,
        tls_context=context,
        authenticator=_authenticator(state),
        auth_require_tls=True,
    )
    controller.start()
    yield state
    controller.stop()


def settings_with(**alerts: Any) -> Settings:
    """Settings whose ``[alerts]`` section is ``alerts`` (validated as the TOML file would be)."""
    return Settings(alerts=AlertsSettings.model_validate(alerts))


def alerts_toml(**alerts: Any) -> str:
    """The ``[alerts]`` section of a configuration file holding what ``settings_with`` takes (scalars, lists of
    scalars, ``rules`` and ``destinations``): JSON's scalars and arrays are TOML's too."""

    def pairs(values: dict[str, Any]) -> list[str]:
        return [f"{key} = {json.dumps(value)}" for key, value in values.items()]

    scalars = {k: v for k, v in alerts.items() if k not in ("rules", "destinations")}
    lines = ["[alerts]", *pairs(scalars)]
    for rule in alerts.get("rules", []):
        lines += ["", "[[alerts.rules]]", *pairs(rule)]
    for name, destination in alerts.get("destinations", {}).items():
        lines += ["", f"[alerts.destinations.{name}]", *pairs(destination)]
    return "\n".join(lines) + "\n"


def webhook_destination(**extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "url_env": URL_ENV, "burst": 1000, "rate_per_second": 1000, **extra}
