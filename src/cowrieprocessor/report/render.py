"""The report as one self-contained HTML page: Jinja2 with autoescaping, inline CSS and script allowed by
their SHA-256 in the page's Content-Security-Policy, charts as inline SVG, nothing loaded from anywhere.

Attacker text (usernames, passwords, commands, URLs, client versions) is escaped by Jinja2; on top of that
every printed string has its control, bidi and invisible characters shown as ``\\uXXXX`` (they could
reorder or hide what the analyst reads) and is cut at ``MAX_TEXT`` characters.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from cowrieprocessor.clock import as_utc, parse_utc
from cowrieprocessor.report.build import Report, ip_id

MAX_TEXT = 300

_HIDDEN = {
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    0xAD,
    0x061C,
    *range(0x200B, 0x2010),
    *range(0x2028, 0x202F),
    *range(0x2060, 0x2070),
    0xFEFF,
}


def visible(value: Any) -> Any:
    """Strings as they may be shown: hidden characters spelt out, long ones cut with the length said.
    Markup (our own macros' output) and non-strings pass through."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    text = "".join(f"\\u{ord(ch):04x}" if ord(ch) in _HIDDEN or 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
    if len(text) > MAX_TEXT:
        return f"{text[:MAX_TEXT]}… [{len(text) - MAX_TEXT:,} more characters]"
    return text


def _asset(name: str) -> str:
    return resources.files("cowrieprocessor.report").joinpath("templates", name).read_text("utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _when(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        value = parse_utc(value)
    if isinstance(value, dt.datetime):
        return as_utc(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _iso(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()
    return "" if value is None else str(value)


def _change(value: float | None) -> str:
    return "new" if value is None else f"{value:+.0%}"


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("cowrieprocessor.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=visible,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=_number, when=_when, iso=_iso, change=_change, ip_id=ip_id)
    return env


def render_html(report: Report) -> str:
    css, js = _asset("report.css"), _asset("report.js")
    csp = "; ".join(
        (
            "default-src 'none'",
            f"style-src '{_sha256(css)}'",
            f"script-src '{_sha256(js)}'",
            "img-src 'none'",
            "connect-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )
    template = environment().get_template("report.html.j2")
    html: str = template.render(r=report, csp=csp, css=Markup(css), js=Markup(js))  # noqa: S704 - our own files
    return html


_MARKDOWN_SPECIAL = {ord(ch): "\\" + ch for ch in "\\`*_{}[]()#+!|<>~&"}


def markdown_text(value: Any) -> Any:
    """Attacker text for Markdown: shown like in the page, then every Markdown/HTML metacharacter escaped,
    so a chat or mail client renders it as text (no link, no image, no markup)."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return visible(value).translate(_MARKDOWN_SPECIAL)


def _code(value: Any) -> Markup:
    """A hash or fingerprint in a code span (no backtick can close it early)."""
    return Markup(str(visible("" if value is None else str(value))).replace("`", "'"))  # noqa: S704 - a code span


def render_markdown(digest: dict[str, Any]) -> str:
    from cowrieprocessor.report.campaigns import KINDS

    env = Environment(
        loader=PackageLoader("cowrieprocessor.report", "templates"),
        autoescape=False,  # noqa: S701 - Markdown, not HTML: markdown_text escapes every value
        undefined=StrictUndefined,
        finalize=markdown_text,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=lambda v: Markup(_when(v)), code=_code)  # noqa: S704 - our own date format
    text: str = env.get_template("digest.md.j2").render(d=digest, kinds=KINDS)
    return text.strip() + "\n"
