"""Each destination's wire format, and attacker text escaped for it: a real local webhook and a real SMTP server
receive what a Slack workspace, a JSON consumer and a mail reader would."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from cowrieprocessor.alerts.destinations import DeliveryFailed, build
from cowrieprocessor.alerts.destinations.chat import payload as chat_payload
from cowrieprocessor.alerts.model import Alert
from cowrieprocessor.alerts.settings import DestinationSettings
from tests.alerts.conftest import (
    CHAT_ENV,
    SMTP_PASSWORD,
    SMTP_USER,
    URL_ENV,
    MailServer,
    WebhookServer,
)

HOSTILE = (
    "<!channel> <script>alert(1)</script> @here & `rm -rf /` *bold* <http://evil.example|click> adm\u202enimgpj.exe"
)
CRLF_USER = "root\r\nBcc: victim@example.com\r\n\r\n<script>alert(2)</script>"
LONG = "A" * 20_000
SEEN = dt.datetime(2025, 3, 4, 12, 0, tzinfo=dt.UTC)


def hostile_alert(subject: str = HOSTILE) -> Alert:
    details = {"key_kind": "password", "label": subject, "sessions": 3, "ips": 2, "first_seen": SEEN.isoformat()}
    return Alert("passwords", "new_campaign_key", subject, details, SEEN)


def _texts(payload: dict) -> list[str]:
    texts = [payload["text"]]
    for block in payload["blocks"]:
        texts += [block["text"]["text"]] if "text" in block else [e["text"] for e in block["elements"]]
    return texts


def test_chat_text_cannot_mention_link_format_or_reorder() -> None:
    for text in _texts(chat_payload(hostile_alert())):
        assert "<!channel>" not in text and "<script>" not in text and "<http" not in text
        assert "@here" not in text
        assert "\u202e" not in text
        assert "<" not in text and ">" not in text  # no mention, link or special token can form
    head = _texts(chat_payload(hostile_alert()))[1]
    assert (
        "@\u2060here" in head
        and "&lt;!\u2060channel&gt; &lt;script&gt;" in head
        and "&amp; " in head
        and "\\u202e" in head
    )
    assert head.count("`") == 2  # the attacker's backticks cannot close the code span: bold/links stay literal


def test_chat_bounds_a_very_long_value() -> None:
    for text in _texts(chat_payload(hostile_alert(LONG))):
        assert len(text) < 3000
    assert "more characters" in _texts(chat_payload(hostile_alert(LONG)))[1]


def test_chat_and_webhook_arrive_at_a_real_server(webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHAT_ENV, webhook.url)
    alert = hostile_alert()
    chat = build("chat", DestinationSettings(type="chat", url_env=CHAT_ENV))
    hook = build("hook", DestinationSettings(type="webhook", url_env=URL_ENV))
    chat.send(alert)
    hook.send(alert)
    received_chat, received_hook = webhook.received
    assert received_chat.body == chat_payload(alert)
    assert received_chat.headers["idempotency-key"] == received_hook.headers["idempotency-key"]
    assert received_chat.headers["idempotency-key"] == f"cowrieprocessor-alert-{alert.id}"
    # the JSON webhook: exact values (JSON escapes them), ASCII on the wire (no raw bidi character)
    assert received_hook.body["subject"] == HOSTILE and received_hook.body["details"]["label"] == HOSTILE
    assert received_hook.raw.isascii() and b"\\u202e" in received_hook.raw
    assert received_hook.headers["content-type"] == "application/json"
    assert "\\u202e" in received_hook.body["text"] and "\u202e" not in received_hook.body["text"]


def mail_to(server: MailServer, **settings: Any) -> DestinationSettings:
    """A mail destination on the local server, from alerts@ to soc@example.org unless ``settings`` say else."""
    fields = {"sender": "alerts@example.org", "recipients": ["soc@example.org"], **settings}
    return DestinationSettings(type="smtp", host=server.host, port=server.port, **fields)


def test_mail_cannot_inject_headers_and_escapes_html(smtp_server: MailServer) -> None:
    settings = mail_to(smtp_server, security="none", message_id_domain="example.org")
    alert = hostile_alert(CRLF_USER + HOSTILE + LONG)
    build("mail", settings).send(alert)
    (message,) = smtp_server.messages
    assert smtp_server.envelopes == [("alerts@example.org", ["soc@example.org"])]
    assert message["Bcc"] is None and message["To"] == "soc@example.org"
    subject = str(message["Subject"])
    assert "\n" not in subject and "\r" not in subject and "\\x0d\\x0aBcc" in subject and len(subject) < 200
    assert message["Message-ID"] == f"<cowrieprocessor-alert-{alert.id}@example.org>"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    plain_text, html_text = text.get_content(), html.get_content()
    assert "root\\x0d\\x0aBcc: victim@example.com" in plain_text and "\u202e" not in plain_text
    assert "<script>" not in html_text and "&lt;script&gt;alert(2)&lt;/script&gt;" in html_text
    assert "&lt;!channel&gt;" in html_text and "more characters" in html_text
    assert len(html_text) < 5000


def test_mail_over_starttls_with_login(
    smtp_server: MailServer, certificate: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CP_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    settings = mail_to(
        smtp_server,
        security="starttls",
        ca_file=certificate[0],
        username=SMTP_USER,
        password_env="CP_TEST_SMTP_PASSWORD",
        recipients=["soc@example.org", "oncall@example.org"],
    )
    build("mail", settings).send(hostile_alert())
    assert smtp_server.auth == [(SMTP_USER, SMTP_PASSWORD)]
    assert smtp_server.envelopes == [("alerts@example.org", ["soc@example.org", "oncall@example.org"])]
    monkeypatch.setenv("CP_TEST_SMTP_PASSWORD", "wrong")
    with pytest.raises(DeliveryFailed, match="login refused") as refused:
        build("mail", settings).send(hostile_alert())
    assert refused.value.permanent and "wrong" not in str(refused.value)


def test_mail_refuses_an_untrusted_certificate(smtp_server: MailServer) -> None:
    settings = mail_to(smtp_server, security="starttls")
    with pytest.raises(DeliveryFailed, match="SSLCertVerificationError") as failed:
        build("mail", settings).send(hostile_alert())
    assert not failed.value.permanent and smtp_server.messages == []


def test_the_webhook_body_is_the_alert_exactly(webhook: WebhookServer) -> None:
    alert = hostile_alert(LONG)
    build("hook", DestinationSettings(type="webhook", url_env=URL_ENV)).send(alert)
    body = json.loads(webhook.received[0].raw)
    assert body["subject"] == LONG and body["id"] == alert.id and body["seen_at"] == SEEN.isoformat()
    assert body["rule"] == "passwords" and body["kind"] == "new_campaign_key"
