"""Run a real Cowrie 3.1.4 honeypot on loopback for end-to-end tests.

Cowrie refuses to run as root, and CI runs as root from a fresh clone with no stdin, so this module
installs what it needs itself:

* a virtual environment built from the system interpreter (``/usr/bin/python3``, readable by ``nobody``)
  in a cache directory outside ``/root`` (default ``/var/tmp/cowrieprocessor-cowrie-3.1.4``, override with
  ``COWRIEPROCESSOR_COWRIE_VENV``), reused when it is present and valid;
* a throwaway run directory holding ``etc/cowrie.cfg`` (127.0.0.1 only, free high ports, pinned sensor
  name) and ``etc/userdb.txt``, given to the user Cowrie runs as;
* ``twistd -n --pidfile= cowrie`` started as ``nobody`` via ``setpriv`` when we are root (as the current user
  otherwise), ready once ``cowrie.log`` says so, and stopped with SIGTERM.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COWRIE_VERSION = "3.1.4"
SYSTEM_PYTHON = Path("/usr/bin/python3")
DEFAULT_VENV = Path(f"/var/tmp/cowrieprocessor-cowrie-{COWRIE_VERSION}")
VALID_MARKER = ".cowrieprocessor-valid"
SENSOR_NAME = "e2e-sensor"
HOSTNAME = "svr04"
UNPRIVILEGED_USER = "nobody"

# Passwords listed with "!" are refused, anything else for root is accepted; unknown users always fail.
USERDB = "root:x:!123456\nroot:x:!password\nroot:x:*\n"


class HarnessError(RuntimeError):
    """Cowrie could not be installed, started or stopped."""


@dataclass(frozen=True)
class Honeypot:
    """A running Cowrie: where to connect and where it writes."""

    host: str
    ssh_port: int
    telnet_port: int
    sensor: str
    hostname: str
    run_dir: Path
    json_log: Path
    text_log: Path
    download_dir: Path

    def events(self) -> list[dict[str, Any]]:
        """Every event in ``cowrie.json`` so far (the file is flushed per line by Cowrie)."""
        with self.json_log.open("rb") as fh:
            return [json.loads(line) for line in fh if line.strip()]


def venv_path() -> Path:
    return Path(os.environ.get("COWRIEPROCESSOR_COWRIE_VENV", str(DEFAULT_VENV)))


def _run_as_prefix() -> list[str]:
    """Command prefix that drops root to ``nobody``; empty when we are not root."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", UNPRIVILEGED_USER, "--"]
    raise HarnessError("running as root but neither setpriv nor runuser is available to drop privileges")


def _clean_env(home: Path) -> dict[str, str]:
    """A minimal environment: Cowrie reads COWRIE_* variables as config overrides, so none may leak in."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "TZ": "UTC"}
    return env


def _venv_is_valid(venv: Path) -> bool:
    marker = venv / VALID_MARKER
    if not marker.is_file() or marker.read_text().strip() != COWRIE_VERSION:
        return False
    st = venv.stat()
    # A cache dir in a world-writable place must be ours and not writable by others, or it is not trusted.
    if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    probe = [
        str(venv / "bin" / "python"),
        "-c",
        "import importlib.metadata as m; print(m.version('cowrie'))",
    ]
    result = subprocess.run(
        [*_run_as_prefix(), *probe],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=_clean_env(Path("/")),
        cwd="/",
        timeout=60,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip() == COWRIE_VERSION


def ensure_cowrie_venv(venv: Path | None = None) -> Path:
    """Return a virtual environment with cowrie==3.1.4, building it first if needed (locked, idempotent)."""
    venv = venv or venv_path()
    if not SYSTEM_PYTHON.exists():
        raise HarnessError(f"{SYSTEM_PYTHON} is missing: Cowrie's venv must use an interpreter nobody can read")
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f".{venv.name}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if venv.exists() and _venv_is_valid(venv):
            return venv
        if venv.exists():
            shutil.rmtree(venv)
        steps = [
            [str(SYSTEM_PYTHON), "-m", "venv", str(venv)],
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"cowrie=={COWRIE_VERSION}",
            ],
            # Writing twisted's plugin cache now spares every run a "cannot write dropin.cache" warning.
            [
                str(venv / "bin" / "python"),
                "-c",
                "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))",
            ],
        ]
        # In a scratch directory: loading Cowrie's plugin writes var/lib/cowrie/uuid under the current one.
        with tempfile.TemporaryDirectory() as scratch:
            for argv in steps:
                result = subprocess.run(
                    argv,
                    capture_output=True,
                    text=True,
                    stdin=subprocess.DEVNULL,
                    umask=0o022,
                    check=False,
                    timeout=600,
                    cwd=scratch,
                )
                if result.returncode != 0:
                    raise HarnessError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
        (venv / VALID_MARKER).write_text(COWRIE_VERSION + "\n")
        venv.chmod(0o755)
        if not _venv_is_valid(venv):
            raise HarnessError(f"{venv} was built but cowrie {COWRIE_VERSION} does not import from it")
        return venv


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _write_config(
    run_dir: Path, host: str, ssh_port: int, telnet_port: int, sensor: str, logtype: str = "plain"
) -> None:
    (run_dir / "etc").mkdir(exist_ok=True)
    for sub in ("var/log/cowrie", "var/lib/cowrie/downloads", "var/lib/cowrie/tty"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)  # Cowrie does not create them: no log dir = no JSON
    (run_dir / "etc" / "cowrie.cfg").write_text(
        f"""[honeypot]
hostname = {HOSTNAME}
sensor_name = {sensor}
logtype = {logtype}
timezone = UTC
log_path = var/log/cowrie
state_path = var/lib/cowrie

[ssh]
enabled = true
listen_endpoints = tcp:{ssh_port}:interface={host}
sftp_enabled = true

[telnet]
enabled = true
listen_endpoints = tcp:{telnet_port}:interface={host}
cve_2026_24061_vulnerable = true

[output_jsonlog]
enabled = true
logfile = ${{honeypot:log_path}}/cowrie.json
epoch_timestamp = false
"""
    )
    (run_dir / "etc" / "userdb.txt").write_text(USERDB)


def _give_to_runner(run_dir: Path) -> None:
    if os.geteuid() != 0:
        return
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    for root, dirs, files in os.walk(run_dir):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            os.chown(name, user.pw_uid, user.pw_gid)
    run_dir.chmod(0o755)


def _wait_ready(proc: subprocess.Popen[bytes], text_log: Path, out_log: Path, timeout: float, since: int = 0) -> None:
    """Until ``cowrie.log`` (from byte ``since``: an earlier run's lines do not count) says both are ready."""
    wanted = ("Ready to accept SSH connections", "Ready to accept Telnet connections")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = text_log.read_bytes()[since:].decode(errors="replace") if text_log.exists() else ""
        if all(w in content for w in wanted):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    output = out_log.read_text(errors="replace") if out_log.exists() else ""
    log = text_log.read_text(errors="replace") if text_log.exists() else ""
    raise HarnessError(f"Cowrie not ready (exit={proc.poll()}):\n{output[-3000:]}\n{log[-3000:]}")


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM to twistd (it flushes and closes the logs), SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    # Its own session (start_new_session): the group holds twistd whether or not runuser forked.
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


@contextlib.contextmanager
def running_cowrie(
    *, host: str = "127.0.0.1", sensor: str = SENSOR_NAME, keep_run_dir: bool = False, logtype: str = "plain",
    run_dir: Path | None = None,
) -> Iterator[Honeypot]:  # fmt: skip
    """Install (if needed), start and finally stop a Cowrie honeypot; yields where it listens and logs.

    ``logtype = "rotating"``: Cowrie's own ``DailyLogFile`` (renames ``cowrie.json`` to ``cowrie.json.DATE`` at
    the first write of a new day, the day taken at start from the file's modification time). ``run_dir``: start
    again in the run directory of an earlier honeypot (its logs are kept; the caller removes it).
    """
    venv = ensure_cowrie_venv()
    # Under /tmp (not pytest's 0700 tmp dir) so that the unprivileged user can reach it.
    keep_run_dir = keep_run_dir or run_dir is not None
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="cowrieprocessor-e2e-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        ssh_port, telnet_port = free_port(host), free_port(host)
        while telnet_port == ssh_port:
            telnet_port = free_port(host)
        _write_config(run_dir, host, ssh_port, telnet_port, sensor, logtype)
        _give_to_runner(run_dir)
        text_log = run_dir / "var/log/cowrie/cowrie.log"
        out_log = run_dir / "twistd.out"
        since = text_log.stat().st_size if text_log.exists() else 0
        argv = [
            *_run_as_prefix(),
            str(venv / "bin" / "twistd"),
            "-n",
            "--umask=0022",
            "--pidfile=",
            "--logger",
            "cowrie.python.logfile.logger",
            "cowrie",
        ]
        with out_log.open("wb") as out:
            proc = subprocess.Popen(
                argv,
                cwd=run_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_clean_env(run_dir),
                start_new_session=True,
            )
        _wait_ready(proc, text_log, out_log, timeout=30.0, since=since)
        yield Honeypot(
            host=host,
            ssh_port=ssh_port,
            telnet_port=telnet_port,
            sensor=sensor,
            hostname=HOSTNAME,
            run_dir=run_dir,
            json_log=run_dir / "var/log/cowrie/cowrie.json",
            text_log=text_log,
            download_dir=run_dir / "var/lib/cowrie/downloads",
        )
    finally:
        if proc is not None:
            _stop(proc)
        if not keep_run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":  # manual use: python tests/e2e/cowrie_harness.py -> starts, prints, waits for ^C
    with running_cowrie(keep_run_dir=True) as pot:
        print(pot, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    sys.exit(0)
