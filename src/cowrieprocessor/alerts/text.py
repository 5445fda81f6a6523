"""An alert as lines of text, and the escaping every destination starts from.

Attacker text (keys, commands, usernames, URLs, client versions) arrives exactly as stored. Before any
destination-specific escaping it is made *visible*: control characters (CR and LF included: no header or
line injection), bidi overrides and zero-width characters become ``\\xNN`` / ``\\uNNNN``, and a very long
value is cut with a note of how much was left out. Each destination then escapes for its own syntax.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from cowrieprocessor.alerts.model import Alert

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))}
# Invisible characters that reorder or break what a reader sees: zero-width and bidi controls, the line and
# paragraph separators, the byte-order mark (the terminal's list, cli.output).
_HIDDEN = (*range(0x200B, 0x2010), 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2060, 0x2065))
_HIDDEN += (*range(0x2066, 0x206A), 0xFEFF)
ESCAPES = {**_CONTROL, **{c: f"\\u{c:04x}" for c in _HIDDEN}}
#: Longest attacker value shown in one field (the whole value stays in the database and the JSON webhook).
MAX_VALUE = 400
#: Fields shown per alert, in this order, when present (label -> details key).
FIELDS = (
    ("key kind", "key_kind"),
    ("what", "label"),
    ("organisation", "organization_name"),
    ("ASN type", "asn_type"),
    ("verdict", "verdict"),
    ("from ASN", "asn_from"),
    ("to ASN", "asn_to"),
    ("observed by", "observed_by"),
    ("sessions", "sessions"),
    ("IPs", "ips"),
    ("sensors", "sensors"),
    ("example IP", "example_ip"),
    ("first seen", "first_seen"),
    ("moved at", "moved_at"),
    ("last session", "last_session_at"),
    ("silent for (min)", "silent_minutes"),
)
#: Fields whose value an attacker chose (everything else is a number, a time, an ASN or our own word).
ATTACKER_FIELDS = {"label", "organization_name"}


def visible(value: Any, limit: int = MAX_VALUE) -> str:
    """Attacker text with every invisible or line-breaking character escaped, cut to ``limit`` characters."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    cut = len(text) > limit
    shown = text[:limit].translate(ESCAPES)
    return f"{shown}… ({len(text) - limit} more characters)" if cut else shown


@dataclass(frozen=True)
class Field:
    label: str
    value: str
    #: Attacker-chosen: shown as code (chat) / escaped and monospaced (mail).
    attacker: bool


@dataclass(frozen=True)
class Lines:
    """What every destination shows: a headline, the subject (attacker text), the fields."""

    headline: str
    subject: str
    fields: tuple[Field, ...]
    alert_id: str
    rule: str


def lines(alert: Alert) -> Lines:
    """The alert as visible text (no destination syntax yet)."""
    fields = []
    for label, key in FIELDS:
        value = alert.details.get(key)
        if value is None or value == "":
            continue
        fields.append(Field(label, visible(_show(value)), key in ATTACKER_FIELDS))
    return Lines(alert.headline, visible(alert.subject), tuple(fields), alert.id, alert.rule)


def _show(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def plain(text: Lines) -> str:
    """The alert as plain text (mail's text part, the webhook's ``text``)."""
    out = [f"{text.headline}: {text.subject}", ""]
    out += [f"{f.label}: {f.value}" for f in text.fields]
    out += ["", f"rule: {text.rule}", f"alert id: {text.alert_id}"]
    return "\n".join(out)
