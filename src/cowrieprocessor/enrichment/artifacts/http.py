"""An HTTP source for files, URLs or hosts: :class:`~..http.HttpSource` with a POST form and a ledger key.

abuse.ch's APIs take ``POST`` forms; VirusTotal a ``GET``. The ledger's ``lookup_key`` is the subject itself
for hashes and hosts and the SHA-256 of the text for URLs: URLs are unbounded attacker text and the ledger
keeps no URL (``url_inventory.url_sha256`` is the same key, so "one call per URL" is a join).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from typing import Any

from cowrieprocessor.enrichment.base import LookupResult, result
from cowrieprocessor.enrichment.guard import Attempt
from cowrieprocessor.enrichment.http import _STATUS, HttpSource
from cowrieprocessor.enrichment.ledger import Outcome

_STATUS_WORD = re.compile(r"[a-z_]{1,40}")


class Refused(Exception):
    """The provider answered 200 with a ``query_status`` that is neither an answer nor "unknown"."""

    def __init__(self, status: object) -> None:
        word = str(status) if isinstance(status, str) and _STATUS_WORD.fullmatch(str(status)) else "unexpected"
        super().__init__(word)
        self.status = word


def url_key(url: str) -> str:
    """The key of a URL everywhere it is stored by reference: SHA-256 of its UTF-8 text (hex)."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def ledger_key(subject: str, kind: str) -> str:
    """What the ledger records for a subject: the hash or host itself, a URL by its SHA-256."""
    return url_key(subject) if kind == "url" else subject


class ArtifactHttpSource(HttpSource):
    """Subclasses set ``subject`` and ``method`` and implement ``request`` (+ ``form`` for a POST, both
    declared by :class:`HttpSource`) and ``interpret`` (which may raise :class:`Refused`)."""

    subject = "file"

    def _attempt(self, ip: str) -> Attempt[dict[str, Any] | None]:
        try:
            return super()._attempt(ip)
        except Refused as exc:
            return Attempt(Outcome.ERROR, http_status=200, error_class=f"QueryStatus:{exc.status}")

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        """``ips`` are the subjects (hashes, URLs or hosts); each is one guarded call."""
        out: dict[str, LookupResult] = {}
        try:
            for subject in ips:
                key = ledger_key(subject, self.subject)
                call = self.guard.call(key, lambda s=subject: self._attempt(s))  # type: ignore[misc]
                status = _STATUS[call.outcome]
                data = call.value if call.outcome is Outcome.FOUND else None
                out[subject] = result(self.name, subject, status, data, version=self.version, error=call.error)
        finally:
            self.ledger.flush()
        return out
