"""Online sources while following: asked in the background after the offline pass, a batch at a time,
against a local server that answers like GreyNoise; their failures are counted as provider errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cowrieprocessor.config import Settings
from cowrieprocessor.live.loop import Follower, FollowOptions
from tests.enrichment.conftest import FakeAPI, Reply
from tests.live.logs import append, session_lines

NOT_SEEN = {"message": "IP not observed scanning the internet or contained in RIOT data set."}


def settings_for(api: FakeAPI) -> Settings:
    section = {"base_url": api.url, "rate_per_second": 1000.0, "timeout_seconds": 2.0, "enabled": True}
    return Settings.model_validate({"providers": {"greynoise": section}})


@pytest.fixture
def greynoise(api: FakeAPI, monkeypatch: pytest.MonkeyPatch) -> FakeAPI:
    """The local API as GreyNoise, with a key: the one online source of the follower (``settings_for``)."""
    monkeypatch.setenv("GREYNOISE_API_KEY", "test-key")
    return api


def follow_once(engine: Engine, logs: Path, api: FakeAPI) -> Follower:
    """One tick over ten new sessions, then wait for the background online pass to end."""
    f = Follower(engine, settings_for(api), FollowOptions(paths=[str(logs)], online_every=1.0))
    f.open()
    append(logs / "cowrie.json", session_lines(900, 10))
    f.tick()
    assert f.enricher is not None and f.enricher.has_online
    deadline = time.monotonic() + 60
    while f.stats.online_passes == 0 and f.stats.provider_errors == 0:
        assert time.monotonic() < deadline, "the online pass never ended"
        time.sleep(0.05)
        f.enricher.poll()
    f.close()
    return f


def test_new_ips_are_asked_online_in_the_background_once_each(
    engine: Engine, tmp_path: Path, greynoise: FakeAPI
) -> None:
    greynoise.on("/v3/community/", Reply(404, NOT_SEEN))
    f = follow_once(engine, tmp_path, greynoise)
    assert f.stats.online_passes == 1
    assert f.stats.provider_errors == 0
    asked = sorted(r.path.rsplit("/", 1)[1] for r in greynoise.requests)
    with engine.connect() as conn:
        ips = sorted(str(r[0]) for r in conn.execute(text("SELECT ip_address FROM ip_inventory")))
        snapshots = conn.execute(text("SELECT count(*) FROM session_summaries WHERE snapshot_source IS NULL"))
        assert snapshots.scalar_one() == 0  # the offline pass, within the tick
    assert asked == ips


def test_provider_failures_are_counted(engine: Engine, tmp_path: Path, greynoise: FakeAPI) -> None:
    greynoise.on("/v3/community/", Reply(500, {"error": "down"}))
    f = follow_once(engine, tmp_path, greynoise)
    assert f.stats.provider_errors > 0
