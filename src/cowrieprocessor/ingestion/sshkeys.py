"""SSH public keys: parsing OpenSSH key lines, their fingerprints, and keys planted by attackers.

The fingerprint is OpenSSH's ``SHA256:`` form: unpadded base64 of the SHA-256 of the decoded key blob
(what ``ssh-keygen -lf`` prints). A key is accepted only when its blob decodes and starts with its own
type name, so random base64 in a command is not mistaken for a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

_KEY_RE = re.compile(
    r"((?:sk-)?(?:ssh-(?:rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp(?:256|384|521))(?:@openssh\.com)?)"
    r"\s+(AAAA[A-Za-z0-9+/]+={0,3})(?:[ \t]+([^\s\"'\\;|&<>]+))?"
)


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_type: str
    key_data: str
    comment: str | None
    fingerprint_sha256: str
    fingerprint_md5: str


def _blob(key_type: str, data: str) -> bytes | None:
    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(blob) < 4:
        return None
    (length,) = struct.unpack(">I", blob[:4])
    if blob[4 : 4 + length] != key_type.encode():
        return None
    return blob


def fingerprint_sha256(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def fingerprint_md5(blob: bytes) -> str:
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def _make(key_type: str, data: str, comment: str | None) -> PublicKey | None:
    blob = _blob(key_type, data)
    if blob is None:
        return None
    return PublicKey(key_type, data, comment, fingerprint_sha256(blob), fingerprint_md5(blob))


def parse_key(line: str) -> PublicKey | None:
    """The key in an OpenSSH public-key line (``type base64 [comment]``), or None."""
    match = _KEY_RE.search(line)
    if match is None:
        return None
    return _make(match.group(1), match.group(2), match.group(3))


def find_keys(text: str) -> list[PublicKey]:
    """Every valid public key in ``text`` (e.g. an ``echo ... >> authorized_keys`` command line)."""
    keys = []
    for match in _KEY_RE.finditer(text):
        key = _make(match.group(1), match.group(2), match.group(3))
        if key is not None:
            keys.append(key)
    return keys
