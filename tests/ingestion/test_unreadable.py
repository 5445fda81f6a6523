"""Files and directories that cannot be read (#15): each is reported and counted, the run goes on, and the
command exits non-zero at the end. A FIFO or a symlink loop is named as what it is, not "no such file".

The tests run as root, for whom mode 000 means nothing: :func:`without_dac_override` drops the calling
thread's ``CAP_DAC_OVERRIDE`` and ``CAP_DAC_READ_SEARCH`` (``capset(2)``, restored afterwards), so the
kernel really refuses, with a real ``EACCES``. The I/O error is real too: reading ``/proc/self/mem`` at
offset 0 fails with ``EIO``.
"""

from __future__ import annotations

import ctypes
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cowrieprocessor.cli import enrich
from cowrieprocessor.cli.main import app
from cowrieprocessor.ingestion import ingest
from tests.ingestion.builders import Session, lines, summaries, write

_CAPS_V3 = 0x20080522
_DAC = (1 << 1) | (1 << 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Caps(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


@contextmanager
def without_dac_override() -> Iterator[None]:
    """File permissions apply to this thread (and threads it starts), as for an ordinary user."""
    libc = ctypes.CDLL(None, use_errno=True)
    header, caps = _Header(_CAPS_V3, 0), (_Caps * 2)()
    assert libc.capget(ctypes.byref(header), caps) == 0
    saved = caps[0].effective
    caps[0].effective = saved & ~_DAC
    assert libc.capset(ctypes.byref(header), caps) == 0, ctypes.get_errno()
    try:
        yield
    finally:
        caps[0].effective = saved
        assert libc.capset(ctypes.byref(header), caps) == 0


def _log(tmp_path: Path, name: str, sid: str) -> Path:
    return write(tmp_path / name, lines(Session(sid).connect().fail("root", "x").close().events))


def test_unreadable_file_and_directory_are_reported_and_the_run_goes_on(engine: Engine, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    locked = _log(logs, "cowrie.json.2024-01-01", "aaaaaaaaaaaa")
    closed_dir = logs / "closed"
    _log(closed_dir, "cowrie.json", "bbbbbbbbbbbb")
    _log(logs, "cowrie.json.2024-01-02", "cccccccccccc")
    locked.chmod(0)
    closed_dir.chmod(0)
    try:
        with without_dac_override():
            with pytest.raises(PermissionError):
                locked.read_bytes()  # the kernel really refuses
            stats = ingest(engine, [str(logs)])
    finally:
        locked.chmod(0o644)
        closed_dir.chmod(0o755)
    errors = {item["path"]: item["error"] for item in stats.unreadable}
    assert set(errors) == {str(locked), str(closed_dir)}
    assert "Permission denied" in errors[str(locked)] and "Permission denied" in errors[str(closed_dir)]
    assert set(summaries(engine)) == {"cccccccccccc"}  # the file after the unreadable one was read
    assert stats.as_dict()["files_unreadable"] == 2


def test_an_io_error_is_reported_and_the_run_goes_on(engine: Engine, tmp_path: Path) -> None:
    later = _log(tmp_path, "cowrie.json", "cccccccccccc")
    stats = ingest(engine, ["/proc/self/mem", str(later)])
    assert [item["error"] for item in stats.unreadable] == ["Input/output error (OSError)"]
    assert set(summaries(engine)) == {"cccccccccccc"}


def test_fifo_and_symlink_loop_are_named_as_what_they_are(engine: Engine, tmp_path: Path) -> None:
    fifo = tmp_path / "cowrie.json.fifo"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.json"
    loop.symlink_to(tmp_path / "loop.json")
    dangling = tmp_path / "gone.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    stats = ingest(engine, [str(fifo), str(loop), str(dangling)])
    assert stats.missing == []
    assert {item["path"]: item["error"] for item in stats.unreadable} == {
        str(fifo): "not a regular file: a FIFO (named pipe)",
        str(loop): "symbolic link loop",
        str(dangling): "broken symbolic link",
    }


def test_cli_reports_each_unreadable_path_and_exits_non_zero(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enrich, "enrich_after_ingest", lambda state, ids: None, raising=False)
    fifo = tmp_path / "cowrie.json.fifo"
    os.mkfifo(fifo)
    good = _log(tmp_path / "ok", "cowrie.json", "cccccccccccc")
    runner = CliRunner()
    result = runner.invoke(app, ["--db", db_url, "ingest", str(fifo), "/proc/self/mem", str(good), "--no-enrich"])
    assert result.exit_code == 1, result.output
    assert "FIFO" in result.stderr and "Input/output error" in result.stderr and "Traceback" not in result.output
    as_json = runner.invoke(app, ["--db", db_url, "ingest", str(fifo), str(good), "--format", "json", "--no-enrich"])
    data: dict[str, Any] = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and data["files_unreadable"] == 1 and data["unreadable"][0]["path"] == str(fifo)
