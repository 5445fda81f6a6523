"""What a downloaded file is, from its first bytes: a small signature table (no libmagic needed).

Enough to tell the payloads a honeypot sees apart: ELF by class and machine, PE, scripts by their ``#!``,
archives and compressed streams; anything else is ``data`` (binary) or ``text``.
"""

from __future__ import annotations

from pathlib import Path

#: Bytes read from the start of a file.
HEAD = 64
ELF_MACHINES = {
    0x03: "x86", 0x08: "MIPS", 0x14: "PowerPC", 0x28: "ARM", 0x2A: "SuperH", 0x3E: "x86-64", 0xB7: "AArch64",
    0xF3: "RISC-V", 0x02: "SPARC", 0x2B: "SPARC V9", 0x16: "S390",
}  # fmt: skip
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "PE executable"),
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7-zip"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\xca\xfe\xba\xbe", "Java class / Mach-O fat"),
    (b"\xcf\xfa\xed\xfe", "Mach-O 64-bit"),
    (b"%PDF", "PDF"),
)


def detect(head: bytes) -> str:
    """The type of a file that starts with ``head``."""
    if head.startswith(b"\x7fELF") and len(head) >= 20:
        bits = {1: "32-bit", 2: "64-bit"}.get(head[4], "?-bit")
        machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
        return f"ELF {bits} {ELF_MACHINES.get(machine, f'machine {machine:#x}')}"
    if head.startswith(b"#!"):
        line = head[2:].split(b"\n", 1)[0].strip().decode("ascii", "replace")
        interpreter = line.split()[0].rsplit("/", 1)[-1] if line.split() else ""
        if interpreter == "env" and len(line.split()) > 1:
            interpreter = line.split()[1]
        return f"{interpreter or 'shell'} script"[:64]
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    if not head:
        return "empty"
    return "data" if any(b < 9 or (13 < b < 32 and b != 27) for b in head) else "text"


def inspect_file(directory: Path, sha256: str) -> tuple[int, str] | None:
    """(size, type) of ``directory/sha256`` (Cowrie names downloads by their hash), or None when absent."""
    path = directory / sha256
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
            size = handle.seek(0, 2)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    if len(head) >= 262 and head[257:262] == b"ustar":
        return size, "tar"
    return size, detect(head[:HEAD])
