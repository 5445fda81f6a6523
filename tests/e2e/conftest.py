"""Session-scoped fixtures: one real Cowrie 3.1.4 for the whole run, driven once by the scenario."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.cowrie_harness import Honeypot, running_cowrie
from tests.e2e.scenario import ScenarioRecord, run_scenario, wait_for_sessions_closed


@dataclass(frozen=True)
class CowrieRun:
    """A driven honeypot: what the clients did and the ``cowrie.json`` bytes Cowrie wrote for it."""

    honeypot: Honeypot
    record: ScenarioRecord
    json_bytes: bytes


@pytest.fixture(scope="session")
def cowrie_honeypot() -> Iterator[Honeypot]:
    """A running Cowrie on 127.0.0.1 (venv built on first use; stopped at the end of the session)."""
    with running_cowrie() as pot:
        yield pot


@pytest.fixture(scope="session")
def cowrie_run(cowrie_honeypot: Honeypot) -> CowrieRun:
    record = run_scenario(cowrie_honeypot)
    wait_for_sessions_closed(cowrie_honeypot, record)
    return CowrieRun(cowrie_honeypot, record, cowrie_honeypot.json_log.read_bytes())
