"""What defines a campaign: one behavioural key (an SSH key, a password or a command script)."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from sqlalchemy import Column

from cowrieprocessor.analysis.sql import SESSIONS


class KeyKind(enum.StrEnum):
    ssh_key = "ssh_key"
    password = "password"  # noqa: S105 - a kind of key, not a secret
    command_sig = "command_sig"


#: The session column that holds each kind of key.
KEY_COLUMNS: dict[KeyKind, str] = {
    KeyKind.ssh_key: "ssh_key_fingerprint",
    KeyKind.password: "password_hash",
    KeyKind.command_sig: "command_signature",
}


def hash_password(password: str) -> str:
    """The stored form of a password: SHA-256 of its UTF-8 bytes, lower-case hex (as ingestion writes it)."""
    return hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class CampaignKey:
    """A behavioural key as stored: for passwords the hash, never the plain text."""

    kind: KeyKind
    value: str

    @classmethod
    def ssh_key(cls, fingerprint: str) -> CampaignKey:
        return cls(KeyKind.ssh_key, fingerprint)

    @classmethod
    def password(cls, plain_text: str) -> CampaignKey:
        return cls(KeyKind.password, hash_password(plain_text))

    @classmethod
    def password_hash(cls, sha256_hex: str) -> CampaignKey:
        return cls(KeyKind.password, sha256_hex.lower())

    @classmethod
    def command_sig(cls, signature: str) -> CampaignKey:
        return cls(KeyKind.command_sig, signature)

    @property
    def column(self) -> Column[str]:
        return key_column(self.kind)


def key_column(kind: KeyKind) -> Column[str]:
    column: Column[str] = SESSIONS.c[KEY_COLUMNS[kind]]
    return column
