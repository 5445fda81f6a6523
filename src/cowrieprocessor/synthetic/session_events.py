"""Build one session's events as Cowrie 3.1.4 writes them (field sets, key order, messages, timing).

An event is ``(time_us, head, tail)``: ``head + timestamp + tail`` is the JSON line. The timestamp is left
out so that the writer formats it once, in output order, cheaply; everything else is pre-rendered here.
Key order is Cowrie's: session identity, emitter fields, ``eventid``, then sensor, uuid, timestamp, message.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from cowrieprocessor.synthetic.campaigns import Campaign, md5_fingerprint, ssh_public_key
from cowrieprocessor.synthetic.catalog import CLIENTS, PASSWORDS, TELNET_OPTIONS, USERNAMES, ClientProfile

Event = tuple[int, str, str]
_j = json.dumps  # ensure_ascii like Cowrie's jsonlog

SSH_PORT, TELNET_PORT = 2222, 2223
DOWNLOADS = "var/lib/cowrie/downloads/"


@dataclass(frozen=True)
class Sensor:
    name: str
    uuid: str
    ipv4: str  # the honeypot's own (private, cloud-style) address: Cowrie logs it as dst_ip
    ipv6: str


def escape_credential(text: str) -> str:
    """Cowrie's escape_nonprintable: UTF-8 bytes, non-printable ASCII as \\xNN, backslash doubled."""
    if text.isascii() and text.isprintable() and "\\" not in text:
        return text
    out = []
    for b in text.encode():
        out.append("\\\\" if b == 0x5C else chr(b) if 0x20 <= b <= 0x7E else f"\\x{b:02x}")
    return "".join(out)


class SessionFactory:
    """Turns (start time, source address, behaviour) into the session's time-ordered events."""

    def __init__(self, rng: random.Random, sensors: list[Sensor], salt: int) -> None:
        self.rng = rng
        self.sensors = sensors
        self.salt = salt
        self.counter = 0
        self.stored: set[tuple[str, str]] = set()  # (sensor, sha256) already in a sensor's download dir
        profiles, weights = zip(*CLIENTS, strict=True)
        self.clients: list[ClientProfile] = list(profiles)
        self.client_weights = list(weights)
        self.attacker_keys = [ssh_public_key(rng, "") for _ in range(12)]
        self._pipes = [f'"sensor":{_j(s.name)},"uuid":"{s.uuid}","timestamp":"' for s in sensors]

    # -------------------------------------------------------------------------------- plumbing ---

    def _open(self, start: int, ip: str, protocol: str, sensor_index: int) -> None:
        self.counter += 1
        # A bijection of the counter (odd multiplier mod 2**48): unique ids that look random.
        self.sid = f"{(self.counter * 0x9E3779B97F4B + self.salt) & 0xFFFFFFFFFFFF:012x}"
        sensor = self.sensors[sensor_index]
        self.sensor = sensor
        dst_ip = sensor.ipv6 if ":" in ip else sensor.ipv4
        dst_port = SSH_PORT if protocol == "ssh" else TELNET_PORT
        src_port = self.rng.randrange(32768, 61000)
        self.prefix = (
            f'{{"session":"{self.sid}","protocol":"{protocol}","src_ip":"{ip}","src_port":{src_port},'
            f'"dst_ip":"{dst_ip}","dst_port":{dst_port},'
        )
        self.pipe = self._pipes[sensor_index]
        self.start = start
        self.events: list[Event] = []
        self.emit(start, "", "cowrie.session.connect",
                  f"New connection: {ip}:{src_port} ({dst_ip}:{dst_port}) [session: {self.sid}]")  # fmt: skip

    def emit(self, t: int, fields: str, eventid: str, message: str) -> int:
        """Append an event at ``t`` (kept strictly after the previous one); returns its time."""
        if self.events and t <= self.events[-1][0]:
            t = self.events[-1][0] + 1
        self.events.append(
            (t, f'{self.prefix}{fields}"eventid":"{eventid}",{self.pipe}', f'","message":{_j(message)}}}\n')
        )
        return t

    def _close(self, t: int) -> list[Event]:
        t = max(t, self.events[-1][0] + 1)
        ms = (t - self.start) // 1000
        self.emit(t, f'"duration_ms":{ms},', "cowrie.session.closed", f"Connection lost after {ms} milliseconds")
        return self.events

    def _sec(self, lo: float, hi: float) -> int:
        """A random delay between ``lo`` and ``hi`` seconds, in microseconds."""
        return int(self.rng.uniform(lo, hi) * 1_000_000)

    def _msec(self, lo: float, hi: float) -> int:
        return int(self.rng.uniform(lo, hi) * 1_000)

    def _client(self) -> ClientProfile:
        return self.rng.choices(self.clients, self.client_weights)[0]

    def _handshake(self, t: int, client: ClientProfile) -> int:
        t = self.emit(t + self._msec(30, 600), f'"version":{_j(client.version)},', "cowrie.client.version",
                      f"Remote SSH version: {client.version}")  # fmt: skip
        return self.emit(t + self._msec(1, 15), client.kex_fields, "cowrie.client.kex",
                         f"SSH client hassh fingerprint: {client.hassh}")  # fmt: skip

    def _login(self, t: int, username: str, password: str, ok: bool) -> int:
        u, p = escape_credential(username), escape_credential(password)
        fields = f'"username":{_j(u)},"password":{_j(p)},'
        if ok:
            return self.emit(t, fields, "cowrie.login.success", f"login attempt [{u}/{p}] succeeded")
        return self.emit(t, fields, "cowrie.login.failed", f"login attempt [{u}/{p}] failed")

    def _pubkey(self, t: int, username: str, key: str) -> int:
        kind, b64 = key.split()[:2]
        fp = md5_fingerprint(key)
        fields = f'"username":{_j(username)},"fingerprint":"{fp}","key":"{kind} {b64}","type":"{kind}",'
        t = self.emit(t, fields, "cowrie.client.fingerprint",
                      f"public key attempt for user {username} of type {kind} with fingerprint {fp}")  # fmt: skip
        return self.emit(t + 200, fields, "cowrie.login.failed", f"public key login attempt for [{username}] failed")

    def _telnet_options(self, t: int) -> int:
        for command, name, byte in self.rng.sample(TELNET_OPTIONS, self.rng.randrange(1, 4)):
            fields = f'"command":"{command}","option_name":"{name}","option_byte":{byte},'
            t = self.emit(t + self._msec(0.2, 40), fields, "cowrie.telnet.option", f"Telnet {command} {name}")
        return t

    def _stored(self, sha: str) -> bool:
        key = (self.sensor.name, sha)
        duplicate = key in self.stored
        self.stored.add(key)
        return duplicate

    def _tty_closed(self, t: int, shell_start: int) -> int:
        sha = f"{self.rng.getrandbits(256):064x}"
        ms = (t - shell_start) // 1000
        fields = (
            f'"ttylog":"var/lib/cowrie/tty/{sha}","size":{self.rng.randrange(60, 9000)},"shasum":"{sha}",'
            f'"duplicate":false,"duration_ms":{ms},'
        )
        return self.emit(
            t, fields, "cowrie.log.closed", f"Closing TTY Log: var/lib/cowrie/tty/{sha} after {ms} milliseconds"
        )

    def _download(self, t: int, url: str, c: Campaign) -> int:
        """wget/curl of a campaign URL: Cowrie logs the fetched file, or only the URL when it fails."""
        if not c.url_alive:
            return self.emit(t + self._sec(1, 15), f'"url":{_j(url)},', "cowrie.session.file_download.failed",
                             f"Attempt to download file(s) from URL ({url}) failed")  # fmt: skip
        sha = c.payload_sha
        dup = "true" if self._stored(sha) else "false"
        fields = f'"url":{_j(url)},"outfile":"{DOWNLOADS}{sha}","shasum":"{sha}","duplicate":{dup},'
        return self.emit(t + self._sec(0.2, 3), fields, "cowrie.session.file_download",
                         f"Downloaded URL ({url}) with SHA-256 {sha} to {DOWNLOADS}{sha}")  # fmt: skip

    # -------------------------------------------------------------------------------- sessions ---

    def scan(self, start: int, ip: str, sensor: int) -> list[Event]:
        """A port/banner scanner: connect, (version, kex), gone."""
        telnet = self.rng.random() < 0.1
        self._open(start, ip, "telnet" if telnet else "ssh", sensor)
        t = start
        if telnet:
            t = self._telnet_options(t) if self.rng.random() < 0.7 else t
        elif self.rng.random() < 0.88:
            t = self._handshake(t, self._client())
        wait = (120, 121) if self.rng.random() < 0.04 else (0.05, 4)  # some idle until Cowrie's auth timeout
        return self._close(t + self._sec(*wait))

    def brute(self, start: int, ip: str, sensor: int) -> list[Event]:
        """Password guessing: a few failures (>= 1 s apart: Cowrie's delay), sometimes a success."""
        rng = self.rng
        telnet = rng.random() < 0.15
        self._open(start, ip, "telnet" if telnet else "ssh", sensor)
        t = self._telnet_options(start) if telnet else self._handshake(start, self._client())
        if not telnet and rng.random() < 0.05:
            t = self._pubkey(t + self._sec(0.05, 0.5), "root", rng.choice(self.attacker_keys))
        attempts = min(1 + int(rng.expovariate(0.45)), 15)
        success = rng.random() < 0.12
        user = rng.choice(USERNAMES)
        for n in range(attempts):
            if rng.random() < 0.3:
                user = rng.choice(USERNAMES)
            last = n == attempts - 1
            t = self._login(t + self._sec(1.0, 3.5) if n else t + self._sec(0.05, 1.5), user, rng.choice(PASSWORDS),
                            last and success)  # fmt: skip
        if success:
            shell = self.emit(t + 2, '"arch":"linux-x64-lsb",', "cowrie.session.params", "")
            t = self._tty_closed(shell + self._sec(0.05, 3), shell)
        return self._close(t + self._sec(0.01, 2))

    def campaign(self, start: int, ip: str, sensor: int, c: Campaign) -> list[Event]:
        """A bot running its campaign's script: login, commands, downloads/uploads, planted keys."""
        rng = self.rng
        self._open(start, ip, c.protocol, sensor)
        if c.protocol == "telnet":
            t = self._telnet_options(start)
        else:
            t = self._handshake(start, c.client or self._client())
        for _ in range(rng.choice((0, 0, 0, 1, 2))):
            t = self._login(t + self._sec(1.0, 3.0), c.username, rng.choice(PASSWORDS[:20]), False)
        t = self._login(t + self._sec(0.05, 1.0), c.username, c.password, True)
        if c.interactive and c.protocol == "ssh":
            width, height = rng.choice((80, 120, 200)), rng.choice((24, 40))
            t = self.emit(t + 2000, f'"width":{width},"height":{height},', "cowrie.client.size",
                          f"Terminal Size: {width} {height}")  # fmt: skip
        shell = t = self.emit(t + 1000, '"arch":"linux-x64-lsb",', "cowrie.session.params", "")
        if c.upload:
            name = c.upload.rsplit("/", 1)[1]
            self._stored(c.payload_sha)  # SFTP's event has no duplicate field, but the file is now stored
            t = self.emit(t + self._sec(0.2, 2), f'"filename":"{name}","outfile":"{DOWNLOADS}{c.payload_sha}",'
                          f'"shasum":"{c.payload_sha}",', "cowrie.session.file_upload",
                          f'SFTP Uploaded file "{name}" to {DOWNLOADS}{c.payload_sha}')  # fmt: skip
        for line in c.lines:
            t = self.emit(
                t + self._sec(0.05, 1.5), f'"input":{_j(line.text)},', "cowrie.command.input", f"CMD: {line.text}"
            )
            for part in line.failed:
                t = self.emit(t + self._sec(0.001, 0.005), f'"input":{_j(part)},', "cowrie.command.failed",
                              f"Command not found: {part}")  # fmt: skip
            for url in line.urls:
                t = self._download(t, url, c)
        t += self._sec(0.05, 2)
        for destfile, sha in c.redirects:  # Cowrie hashes redirected files when the connection drops
            dup = self._stored(sha)
            t = self.emit(t + 300, f'"duplicate":{"true" if dup else "false"},"outfile":"{DOWNLOADS}{sha}",'
                          f'"shasum":"{sha}","destfile":{_j(destfile)},', "cowrie.session.file_download",
                          f"Saved redir contents with SHA-256 {sha} to {DOWNLOADS}{sha}")  # fmt: skip
        t = self._tty_closed(t + 100, shell)
        return self._close(t + self._sec(0.0002, 0.002))
