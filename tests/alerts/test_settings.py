"""The [alerts] section: unknown keys, secrets written in the file, and incomplete destinations are errors that
say what to fix (and never repeat the secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cowrieprocessor.config import load_settings
from cowrieprocessor.errors import ConfigError

VALID = """
[alerts]
settle_seconds = 60

[[alerts.rules]]
name = "new-keys"
type = "new_campaign_key"
kinds = ["ssh_key", "hassh"]
destinations = ["soc", "chat"]

[[alerts.rules]]
name = "silent"
type = "sensor_silent"
silent_minutes = 30

[alerts.destinations.soc]
type = "webhook"
url_env = "SOC_WEBHOOK_URL"

[alerts.destinations.chat]
type = "chat"
url_file = "/run/secrets/slack-url"

[alerts.destinations.mail]
type = "smtp"
host = "mail.example.org"
security = "ssl"
username = "alerts"
password_env = "SMTP_PASSWORD"
sender = "alerts@example.org"
recipients = ["soc@example.org"]
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return load_settings(path)


def test_a_full_section_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOC_WEBHOOK_URL", "https://example.org/hook/TOKEN")
    monkeypatch.setenv("COWRIEPROCESSOR_ALERTS__CLAIM_SECONDS", "600")
    alerts = _load(tmp_path, VALID).alerts  # type: ignore[attr-defined]
    assert [r.name for r in alerts.rules] == ["new-keys", "silent"] and alerts.claim_seconds == 600
    assert alerts.destinations_of(alerts.rules[1]) == ["chat", "mail", "soc"]
    assert alerts.destinations["soc"].url() == "https://example.org/hook/TOKEN"
    assert alerts.destinations["mail"].port is None and alerts.destinations["mail"].security == "ssl"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("silent_minutes = 30", "silent_minutes = 30\nsilence = 5"), "alerts.rules.1.silence: unknown key"),
        (
            ('url_env = "SOC_WEBHOOK_URL"', 'url = "https://hooks.slack.com/services/T0/B0/SECRETX"'),
            "a secret is never",
        ),
        (('password_env = "SMTP_PASSWORD"', 'password = "hunter2SECRETX"'), "password_env or password_file"),
        (('host = "mail.example.org"', ""), "needs host, sender and recipients"),
        (('destinations = ["soc", "chat"]', 'destinations = ["soc", "pager"]'), "no destination 'pager'"),
        (('url_env = "SOC_WEBHOOK_URL"', 'url_env = "SOC_WEBHOOK_URL"\nhost = "x"'), "host: not a key of a webhook"),
        (('url_file = "/run/secrets/slack-url"', ""), "needs url_env or url_file"),
        (('type = "sensor_silent"', 'type = "sensor_quiet"'), "alerts.rules.1.type"),
        (
            ('recipients = ["soc@example.org"]', 'recipients = ["soc@example.org\\r\\nBcc: x@y"]'),
            "not one mail address",
        ),
        (('name = "silent"', 'name = "new-keys"'), "two rules are named"),
    ],
)
def test_mistakes_are_errors(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in VALID
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, VALID.replace(change[0], change[1], 1))
    assert message in error.value.message
    assert "SECRETX" not in error.value.message
