"""Mail over SMTP (stdlib ``smtplib`` and ``email``): a plain-text part and an HTML part.

Attacker text never reaches a header raw: the Subject is built from visible text (``alerts.text``: CR, LF and
every other control character are escapes, so no header can be injected) and the ``email`` package encodes
it; in the HTML part every value is HTML-escaped. The ``Message-ID`` is derived from the alert id, the same on
every attempt, so a mail system (or a reader) can drop a repeat sent after a crash between send and mark.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from cowrieprocessor.alerts.destinations.base import DeliveryFailed, idempotency_key
from cowrieprocessor.alerts.model import Alert
from cowrieprocessor.alerts.settings import DestinationSettings
from cowrieprocessor.alerts.text import Lines, lines, plain, visible

#: Longest subject (RFC 5322 recommends lines under 78 characters; the encoder folds longer ones).
MAX_SUBJECT = 150
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


def message_id(alert: Alert, domain: str) -> str:
    return f"<{idempotency_key(alert)}@{domain}>"


def subject(text: Lines) -> str:
    return visible(f"[cowrieprocessor] {text.headline}: {text.subject}", MAX_SUBJECT)


def html_body(text: Lines) -> str:
    e = html.escape
    cells = [(e(f.label), f"<code>{e(f.value)}</code>" if f.attacker else e(f.value)) for f in text.fields]
    rows = "".join(f"<tr><th align='left'>{label}</th><td>{value}</td></tr>" for label, value in cells)
    return (
        "<!DOCTYPE html><html><body>"
        f"<p><strong>{e(text.headline)}</strong>: <code>{e(text.subject)}</code></p>"
        f"<table>{rows}</table>"
        f"<p><small>rule {e(text.rule)} · alert {e(text.alert_id)}</small></p>"
        "</body></html>"
    )


def build_message(alert: Alert, settings: DestinationSettings) -> EmailMessage:
    text = lines(alert)
    message = EmailMessage()
    message["Subject"] = subject(text)
    message["From"] = settings.sender or ""
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(alert, settings.message_id_domain)
    message["X-Cowrieprocessor-Alert"] = alert.id
    message.set_content(plain(text))
    message.add_alternative(html_body(text), subtype="html")
    return message


class MailDestination:
    def __init__(self, name: str, settings: DestinationSettings) -> None:
        self.name = name
        self.settings = settings
        self._password = settings.password() if settings.username else None

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.settings.ca_file) if self.settings.ca_file else None)
        return context

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        host, port = s.host or "", s.port or DEFAULT_PORTS[s.security]
        if s.security == "ssl":
            return smtplib.SMTP_SSL(host, port, timeout=s.timeout_seconds, context=self._context())
        client = smtplib.SMTP(host, port, timeout=s.timeout_seconds)
        if s.security == "starttls":
            client.starttls(context=self._context())
        return client

    def send(self, alert: Alert) -> None:
        s = self.settings
        if s.username and not self._password:
            raise DeliveryFailed("no SMTP password: password_env's variable or password_file is empty", permanent=True)
        message = build_message(alert, s)
        try:
            with self._connect() as client:
                if s.username:
                    client.login(s.username, self._password or "")
                client.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(f"SMTP login refused ({exc.smtp_code})", permanent=True) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryFailed("SMTP refused every recipient", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP {exc.smtp_code}", permanent=500 <= exc.smtp_code < 600) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP failed ({exc.__class__.__name__})") from None

    def close(self) -> None:
        return None
