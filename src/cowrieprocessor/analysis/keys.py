"""What defines a campaign: one behavioural key (an SSH key, a password or username tried, a command script,
a credential list).

Passwords and usernames are matched by what a session *tried* (any of its login attempts), not by the one
password its summary keeps (the successful one, else the last): a brute-force campaign is recognised by
what it tries. The other keys are a column of the session summary.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from sqlalchemy import Column, bindparam, select
from sqlalchemy.sql.elements import ColumnElement

from cowrieprocessor.analysis.sql import AUTH, SESSIONS, TRANSFERS
from cowrieprocessor.storage.textsafe import escape_text


class KeyKind(enum.StrEnum):
    ssh_key = "ssh_key"
    password = "password"  # noqa: S105 - a kind of key, not a secret
    command_sig = "command_sig"
    credentials = "credentials"
    username = "username"
    download = "download"  # #19: sessions that downloaded or uploaded a file of this SHA-256


#: The session column that holds each kind of key (``related`` lists other campaigns by these).
KEY_COLUMNS: dict[KeyKind, str] = {
    KeyKind.ssh_key: "ssh_key_fingerprint",
    KeyKind.password: "password_hash",
    KeyKind.command_sig: "command_signature",
    KeyKind.credentials: "credential_list_hash",
}
#: Kinds matched by a session's login attempts (``auth_attempts`` column), not by its summary.
TRIED_COLUMNS: dict[KeyKind, str] = {KeyKind.password: "password_hash", KeyKind.username: "username"}
#: Kinds ``related`` can list (those with a session column), in their order.
LISTED_KINDS: tuple[KeyKind, ...] = tuple(KEY_COLUMNS)


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

    @classmethod
    def username(cls, name: str) -> CampaignKey:
        return cls(KeyKind.username, escape_text(name))

    @classmethod
    def download(cls, sha256_hex: str) -> CampaignKey:
        """A file downloaded or uploaded, by its SHA-256 (``file_transfers.shasum``)."""
        return cls(KeyKind.download, sha256_hex.strip().lower())

    @classmethod
    def credentials(cls, sha256_hex: str) -> CampaignKey:
        """A credential list by its hash (``credential_list_hash`` of a session)."""
        return cls(KeyKind.credentials, sha256_hex.lower())

    @classmethod
    def credential_list(cls, pairs: list[tuple[str | None, str]]) -> CampaignKey:
        """A credential list by its ``(username, password)`` pairs, in the order they were tried."""
        from cowrieprocessor.ingestion.fields import credential_list_hash  # its regexes: only when asked

        digest = credential_list_hash(pairs)
        if digest is None:
            raise ValueError("a credential list has at least one (username, password) pair")
        return cls(KeyKind.credentials, digest)

    @property
    def column(self) -> Column[str]:
        return key_column(self.kind)


def key_column(kind: KeyKind) -> Column[str]:
    """The session column of a listed kind (``KeyError`` for usernames, which only attempts hold)."""
    column: Column[str] = SESSIONS.c[KEY_COLUMNS[kind]]
    return column


def tried(column: str, parameter: str) -> ColumnElement[bool]:
    """Sessions with a login attempt whose ``column`` equals the bound ``parameter``."""
    attempts = select(AUTH.c.session_id).where(AUTH.c[column] == bindparam(parameter))
    return SESSIONS.c.session_id.in_(attempts)


def key_condition(kind: KeyKind) -> ColumnElement[bool]:
    """The sessions of a campaign, the key bound as ``:key``."""
    if kind in TRIED_COLUMNS:
        return tried(TRIED_COLUMNS[kind], "key")
    if kind is KeyKind.download:
        return SESSIONS.c.session_id.in_(select(TRANSFERS.c.session_id).where(TRANSFERS.c.shasum == bindparam("key")))
    return key_column(kind) == bindparam("key")


def matched_by_column(kind: KeyKind) -> bool:
    """Every session of a campaign of this kind has the key in its summary column."""
    return kind in KEY_COLUMNS
