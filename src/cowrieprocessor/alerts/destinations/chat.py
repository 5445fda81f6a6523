"""A Slack-compatible chat webhook (Slack incoming webhooks; Mattermost and Rocket.Chat accept the same shape):
``text`` (the notification's fallback) and ``blocks`` (a header line and the fields, in ``mrkdwn``).

Attacker text is escaped for mrkdwn: ``&``, ``<`` and ``>`` as entities (so ``<!channel>``, ``<!here>``,
``<@U123>`` and ``<http://x|label>`` links cannot form), a bare ``@channel`` / ``@here`` / ``@everyone``
broken by a word joiner, and the value shown as a code span (no bold, italics or links inside it) whose
backticks are replaced by a look-alike so the span cannot be closed early. Control and bidi characters are
already visible escapes (``alerts.text``).
"""

from __future__ import annotations

import re
from typing import Any

from cowrieprocessor.alerts.destinations.http import JsonDestination
from cowrieprocessor.alerts.model import Alert
from cowrieprocessor.alerts.text import Lines, lines

_MENTION = re.compile(r"([@!])(channel|here|everyone)\b", re.IGNORECASE)
#: Shown for a backtick inside a code span (U+02CB MODIFIER LETTER GRAVE ACCENT).
LOOKALIKE = "\u02cb"
#: Slack refuses a section text over 3000 characters.
MAX_SECTION = 2900


def mrkdwn_escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: the three entities Slack asks for, and no broadcast mention."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("\\1\u2060\\2", escaped)


def code(text: str) -> str:
    """Attacker text as an inline code span that it cannot close."""
    return f"`{mrkdwn_escape(text).replace('`', LOOKALIKE)}`" if text else "` `"


def payload(alert: Alert) -> dict[str, Any]:
    text: Lines = lines(alert)
    head = f"*{mrkdwn_escape(text.headline)}*: {code(text.subject)}"
    body = "\n".join(
        f"*{mrkdwn_escape(f.label)}*: {code(f.value) if f.attacker else mrkdwn_escape(f.value)}" for f in text.fields
    )
    footer = f"rule {code(text.rule)} · alert {code(text.alert_id[:16])}"
    return {
        "text": f"{mrkdwn_escape(text.headline)}: {code(text.subject)}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": head[:MAX_SECTION]}},
            *([{"type": "section", "text": {"type": "mrkdwn", "text": body[:MAX_SECTION]}}] if body else []),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]},
        ],
    }


class ChatDestination(JsonDestination):
    def payload(self, alert: Alert) -> dict[str, Any]:
        return payload(alert)
