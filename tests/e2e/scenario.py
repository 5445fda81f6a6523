"""Drive a running Cowrie with real clients and record exactly what was done.

Every session binds its own 127.0.0.x source address, so the record and Cowrie's log join on ``src_ip``.
The record is what an ingester must reproduce: who tried which credentials, what succeeded, which commands
were typed, which keys were offered or planted (with OpenSSH SHA256 fingerprints) and which bytes went up.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import socket
import time
from dataclasses import dataclass, field

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tests.e2e.cowrie_harness import Honeypot

TIMEOUT = 10.0
UNUSUAL_PASSWORD = "p@ss wörd\"'$;`\\|€\t!"  # quotes, shell metacharacters, non-ASCII, a tab


@dataclass(frozen=True)
class KeyInfo:
    """An SSH public key the test generated; ``sha256`` is OpenSSH's ``SHA256:<base64, no padding>``."""

    key_type: str
    public_line: str  # "ssh-ed25519 AAAA... comment"
    sha256: str
    md5: str  # colon hex, as Cowrie logs it in cowrie.login.failed / client.fingerprint


@dataclass(frozen=True)
class Attempt:
    username: str
    password: str | None  # None for a public-key attempt
    key_sha256: str | None
    success: bool


@dataclass(frozen=True)
class Transfer:
    direction: str  # "upload" (SFTP/SCP) or "download" (shell redirection into the fake filesystem)
    method: str  # "sftp" | "redirect"
    path: str  # remote path given by the client
    sha256: str
    size: int


@dataclass
class SessionRecord:
    name: str
    protocol: str  # "ssh" | "telnet"
    src_ip: str
    src_port: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # every line sent to the shell / exec, in order
    unknown_commands: list[str] = field(default_factory=list)
    keys_offered: list[KeyInfo] = field(default_factory=list)
    keys_planted: list[KeyInfo] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)

    @property
    def login_success(self) -> bool:
        return any(a.success for a in self.attempts)

    @property
    def login_username(self) -> str | None:
        return next((a.username for a in self.attempts if a.success), None)


@dataclass
class ScenarioRecord:
    sensor: str
    ssh_port: int
    telnet_port: int
    sessions: list[SessionRecord] = field(default_factory=list)

    def by_ip(self) -> dict[str, SessionRecord]:
        return {s.src_ip: s for s in self.sessions}


# ------------------------------------------------------------------------------------------- keys ---


def cowrie_logged(text: str) -> str:
    """A username/password as Cowrie 3.1.4 logs it: UTF-8 bytes, non-printable-ASCII as ``\\xNN``, ``\\`` doubled."""
    out = []
    for b in text.encode("utf-8"):
        if b == 0x5C:
            out.append("\\\\")
        elif 0x20 <= b <= 0x7E:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


def openssh_fingerprints(public_line: str) -> tuple[str, str]:
    """(SHA256, MD5) fingerprints of an OpenSSH public key line, formatted as ``ssh-keygen -l`` does."""
    blob = base64.b64decode(public_line.split()[1])
    sha = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    md5 = ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest())
    return sha, md5


def new_key(kind: str, comment: str) -> tuple[paramiko.PKey, KeyInfo]:
    """A fresh ``ed25519`` or ``ecdsa`` key pair as a paramiko key plus its public description."""
    private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    private = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    pkey: paramiko.PKey = (
        paramiko.Ed25519Key.from_private_key(io.StringIO(pem))
        if kind == "ed25519"
        else paramiko.ECDSAKey.from_private_key(io.StringIO(pem))
    )
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    line = f"{public.decode()} {comment}"
    sha, md5 = openssh_fingerprints(line)
    return pkey, KeyInfo(key_type=line.split()[0], public_line=line, sha256=sha, md5=md5)


# -------------------------------------------------------------------------------------------- ssh ---


def _transport(pot: Honeypot, src_ip: str, rec: SessionRecord) -> paramiko.Transport:
    sock = socket.create_connection((pot.host, pot.ssh_port), timeout=TIMEOUT, source_address=(src_ip, 0))
    rec.src_port = sock.getsockname()[1]
    transport = paramiko.Transport(sock)
    transport.banner_timeout = TIMEOUT
    transport.start_client(timeout=TIMEOUT)
    return transport


def _password(transport: paramiko.Transport, rec: SessionRecord, user: str, password: str) -> bool:
    try:
        transport.auth_password(user, password)
        ok = transport.is_authenticated()
    except paramiko.AuthenticationException:
        ok = False
    rec.attempts.append(Attempt(user, password, None, ok))
    return ok


def _read_until(chan: paramiko.Channel, suffixes: tuple[str, ...], timeout: float = TIMEOUT) -> str:
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if chan.recv_ready():
            buf += chan.recv(65536)
            text = buf.decode(errors="replace").rstrip(" ")
            if any(text.endswith(s.rstrip(" ")) for s in suffixes):
                return buf.decode(errors="replace")
        elif chan.exit_status_ready() or chan.closed:
            break
        else:
            time.sleep(0.02)
    raise TimeoutError(f"no prompt {suffixes!r}; got {buf[-400:]!r}")


def _close(transport: paramiko.Transport) -> None:
    transport.close()


def failed_passwords(pot: Honeypot, src_ip: str) -> SessionRecord:
    """Two refused passwords and an unknown user in one connection (each costs Cowrie's 1 s delay)."""
    rec = SessionRecord("failed-passwords", "ssh", src_ip)
    t = _transport(pot, src_ip, rec)
    try:
        for user, password in (("root", "123456"), ("root", "password"), ("admin", "admin")):
            if _password(t, rec, user, password):
                raise AssertionError(f"{user}/{password} unexpectedly accepted")
    finally:
        _close(t)
    return rec


def interactive_shell(pot: Honeypot, src_ip: str) -> SessionRecord:
    """Log in with an unusual password, then type commands: a key plant, a redirect download, an unknown."""
    rec = SessionRecord("interactive-shell", "ssh", src_ip)
    _, planted = new_key("ed25519", "planted@e2e")
    rec.keys_planted.append(planted)
    payload = "#!/bin/sh\necho pwned\n"
    t = _transport(pot, src_ip, rec)
    try:
        if not _password(t, rec, "root", UNUSUAL_PASSWORD):
            raise AssertionError("root login with the unusual password was refused")
        chan = t.open_session()
        chan.get_pty(term="xterm", width=120, height=40)
        chan.invoke_shell()
        prompt = ("# ", "$ ")
        _read_until(chan, prompt)
        lines = [
            "uname -a",
            "mkdir -p /root/.ssh",
            f'echo "{planted.public_line}" >> /root/.ssh/authorized_keys',
            "printf '#!/bin/sh\\necho pwned\\n' > /tmp/dropper.sh",
            "frobnicate --now",
            "cat /root/.ssh/authorized_keys",
        ]
        for line in lines:
            chan.send((line + "\n").encode())
            rec.commands.append(line)
            _read_until(chan, prompt)
        rec.unknown_commands.append("frobnicate --now")
        chan.send(b"exit\n")
        rec.commands.append("exit")
        deadline = time.monotonic() + TIMEOUT
        while not chan.exit_status_ready() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        _close(t)
    key_bytes = (planted.public_line + "\n").encode()
    rec.transfers.append(
        Transfer(
            "download", "redirect", "/root/.ssh/authorized_keys", hashlib.sha256(key_bytes).hexdigest(), len(key_bytes)
        )
    )
    rec.transfers.append(
        Transfer("download", "redirect", "/tmp/dropper.sh", hashlib.sha256(payload.encode()).hexdigest(), len(payload))
    )
    return rec


def public_key_attempt(pot: Honeypot, src_ip: str) -> SessionRecord:
    """Offer a freshly generated ECDSA key: Cowrie logs its fingerprint and refuses it."""
    rec = SessionRecord("public-key", "ssh", src_ip)
    pkey, info = new_key("ecdsa", "offered@e2e")
    rec.keys_offered.append(info)
    t = _transport(pot, src_ip, rec)
    try:
        try:
            t.auth_publickey("root", pkey)
            ok = t.is_authenticated()
        except paramiko.AuthenticationException:
            ok = False
        rec.attempts.append(Attempt("root", None, info.sha256, ok))
    finally:
        _close(t)
    return rec


def exec_command(pot: Honeypot, src_ip: str) -> SessionRecord:
    """One non-interactive command over an exec channel (what most bots do)."""
    rec = SessionRecord("exec", "ssh", src_ip)
    command = "cat /proc/cpuinfo | grep name | wc -l"
    t = _transport(pot, src_ip, rec)
    try:
        if not _password(t, rec, "root", "toor"):
            raise AssertionError("root/toor refused")
        chan = t.open_session()
        rec.commands.append(command)
        try:
            chan.exec_command(command)
        except paramiko.SSHException:
            # Cowrie runs the command and closes the channel before paramiko sees the request's reply.
            if not chan.closed:
                raise
        deadline = time.monotonic() + TIMEOUT
        while not chan.exit_status_ready() and time.monotonic() < deadline:
            if chan.recv_ready():
                chan.recv(65536)
            time.sleep(0.02)
    finally:
        _close(t)
    return rec


def sftp_upload(pot: Honeypot, src_ip: str) -> SessionRecord:
    """Upload random bytes over SFTP; Cowrie keeps them under their sha256."""
    rec = SessionRecord("sftp-upload", "ssh", src_ip)
    data = b"\x7fELF" + os.urandom(2048)
    path = "/tmp/bot.bin"
    t = _transport(pot, src_ip, rec)
    try:
        if not _password(t, rec, "root", "admin123"):
            raise AssertionError("root/admin123 refused")
        sftp = paramiko.SFTPClient.from_transport(t)
        assert sftp is not None
        sftp.putfo(io.BytesIO(data), path, confirm=False)
        sftp.close()
    finally:
        _close(t)
    rec.transfers.append(Transfer("upload", "sftp", path, hashlib.sha256(data).hexdigest(), len(data)))
    return rec


# ----------------------------------------------------------------------------------------- telnet ---

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240


class TelnetClient:
    """Just enough telnet: refuse every option the server proposes, strip negotiation from the stream."""

    def __init__(self, host: str, port: int, src_ip: str) -> None:
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT, source_address=(src_ip, 0))
        self.text = b""

    def _feed(self, data: bytes) -> None:
        i, out, reply = 0, bytearray(), bytearray()
        while i < len(data):
            b = data[i]
            if b == IAC and i + 1 < len(data):
                cmd = data[i + 1]
                if cmd in (DO, DONT, WILL, WONT) and i + 2 < len(data):
                    if cmd == DO:
                        reply += bytes([IAC, WONT, data[i + 2]])
                    elif cmd == WILL:
                        reply += bytes([IAC, DONT, data[i + 2]])
                    i += 3
                    continue
                if cmd == SB:
                    end = data.find(bytes([IAC, SE]), i)
                    i = len(data) if end < 0 else end + 2
                    continue
                if cmd == IAC:
                    out.append(IAC)
                i += 2
                continue
            out.append(b)
            i += 1
        if reply:
            self.sock.sendall(bytes(reply))
        self.text += bytes(out)

    def read_until(self, *markers: bytes, timeout: float = TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in markers:
                pos = self.text.find(m)
                if pos >= 0:
                    got, self.text = self.text[: pos + len(m)], self.text[pos + len(m) :]
                    return got
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            self._feed(chunk)
        raise TimeoutError(f"telnet: none of {markers!r} in {self.text[-300:]!r}")

    def line(self, text: str) -> None:
        self.sock.sendall(text.encode() + b"\r\n")

    def close(self) -> None:
        self.sock.close()


def telnet_login(pot: Honeypot, src_ip: str) -> SessionRecord:
    rec = SessionRecord("telnet", "telnet", src_ip)
    client = TelnetClient(pot.host, pot.telnet_port, src_ip)
    rec.src_port = client.sock.getsockname()[1]
    try:
        client.read_until(b"login: ")
        client.line("root")
        client.read_until(b"assword: ")
        client.line("vizxv")
        client.read_until(b"# ", b"$ ")
        rec.attempts.append(Attempt("root", "vizxv", None, True))
        for line in ("enable", "shell", "cat /proc/mounts; /bin/busybox ECCHI"):
            client.line(line)
            rec.commands.append(line)
            client.read_until(b"# ", b"$ ")
        rec.unknown_commands += ["enable", "shell"]
        client.line("exit")
        rec.commands.append("exit")
        time.sleep(0.2)
    finally:
        client.close()
    return rec


def run_scenario(pot: Honeypot) -> ScenarioRecord:
    """Run every action once, each from its own source address; returns what was done."""
    record = ScenarioRecord(sensor=pot.sensor, ssh_port=pot.ssh_port, telnet_port=pot.telnet_port)
    steps = [
        (failed_passwords, "127.0.0.11"),
        (interactive_shell, "127.0.0.12"),
        (public_key_attempt, "127.0.0.13"),
        (exec_command, "127.0.0.14"),
        (sftp_upload, "127.0.0.15"),
        (telnet_login, "127.0.0.16"),
    ]
    for step, ip in steps:
        record.sessions.append(step(pot, ip))
    return record


def wait_for_sessions_closed(pot: Honeypot, record: ScenarioRecord, timeout: float = 15.0) -> None:
    """Cowrie writes redirect downloads and ``session.closed`` after the connection drops: wait for them."""
    wanted = {s.src_ip for s in record.sessions}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        closed = {e["src_ip"] for e in pot.events() if e.get("eventid") == "cowrie.session.closed"}
        if wanted <= closed:
            return
        time.sleep(0.1)
    raise TimeoutError(f"sessions not closed in cowrie.json: {sorted(wanted - closed)}")
