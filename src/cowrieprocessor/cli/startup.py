"""Garbage collection while the CLI starts: rare until the command has its database, then as usual.

Start-up makes several hundred thousand long-lived objects (modules, classes, Core tables of Typer, SQLAlchemy
and rich), and every full collection on the way walks all of them again: about 45 ms of a small query's 340
(#21). The package defers collections as it is imported; the first engine resumes them, freezing what start-up
made out of later collections (they would never free it), so a long ``ingest`` or ``follow`` collects as
any program does.
"""

from __future__ import annotations

import gc

#: Young-generation threshold while starting: a collection per 100,000 net allocations instead of 700.
STARTUP_THRESHOLDS = (100_000, 10, 10)

_usual: tuple[int, int, int] | None = None


def defer_collections() -> None:
    global _usual
    if _usual is None:
        _usual = gc.get_threshold()
        gc.set_threshold(*STARTUP_THRESHOLDS)


def resume_collections() -> None:
    global _usual
    if _usual is not None:
        gc.freeze()
        gc.set_threshold(*_usual)
        _usual = None
