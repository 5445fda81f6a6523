"""The digest: what first appeared since the last digest of a name - nothing twice, past runs unchanged."""

from __future__ import annotations

import datetime as dt

import pytest

from cowrieprocessor.report import digest
from cowrieprocessor.report.render import render_markdown
from tests.analysis.conftest import K1, K2, K3, T0, B
from tests.report.conftest import HOSTILE, HOSTILE_HOST, ReportData

DAY = dt.timedelta(days=1)


def keys(body: dict, kind: str) -> set[str]:
    return {i["key"] for i in body["new_campaigns"][kind]["items"]}


def test_runs_continue_where_the_last_ended_and_never_repeat(report_data: ReportData) -> None:
    engine = report_data.engine
    first = digest.next_digest(engine, "daily", since=T0, until=T0 + 5.5 * DAY)
    second = digest.next_digest(engine, "daily", until=T0 + 10 * DAY)
    third = digest.next_digest(engine, "daily", until=T0 + 14 * DAY)
    assert (first["run"], second["run"], third["run"]) == (1, 2, 3)
    assert second["since"] == first["until"] and third["since"] == second["until"]
    # K1 runs all period long but is new only once; K2 (day 5) in the first, K3 (day 7) in the second
    assert keys(first, "ssh_key") >= {K1, K2} and K3 not in keys(first, "ssh_key")
    assert K3 in keys(second, "ssh_key") and not keys(second, "ssh_key") & keys(first, "ssh_key")
    assert not keys(third, "ssh_key") & (keys(first, "ssh_key") | keys(second, "ssh_key"))
    asns = [{i["asn"] for i in b["new_asns"]["items"]} for b in (first, second, third)]
    assert asns[0] == {64500, 64501, 64503} and asns[1] == {64504} and asns[2] == {64502}
    # B moved AS64501 -> AS64502 on day 10 (ip_asn_history)
    moved = [(i["ip"], i["asn_from"], i["asn_to"]) for i in third["moved_ips"]["items"]]
    assert moved == [("198.51.100.2", 64501, 64502)] and not second["moved_ips"]["items"]
    # hostile sessions (day 4) downloaded 7 new files; the key planted on day 5 with a successful login
    assert first["new_downloads"]["total"] == len(HOSTILE)
    assert first["planted_key_logins"]["total"] == 1 and first["planted_key_logins"]["items"][0]["sessions"] == 1
    assert [r["run"] for r in digest.runs(engine, "daily")] == [1, 2, 3]


def test_a_past_run_gives_the_same_answer(report_data: ReportData) -> None:
    engine = report_data.engine
    first = digest.next_digest(engine, "mail", since=T0, until=T0 + 5.5 * DAY)
    digest.next_digest(engine, "mail", until=T0 + 14 * DAY)
    assert digest.replay(engine, "mail", 1) == first
    recomputed = digest.compute(engine, T0, T0 + 5.5 * DAY)
    assert {k: first[k] for k in recomputed} == digest.canonical(recomputed)
    other = digest.next_digest(engine, "weekly", since=T0, until=T0 + 5.5 * DAY)  # names are independent
    assert other["run"] == 1 and keys(other, "ssh_key") == keys(first, "ssh_key")


def test_refusals_say_why(report_data: ReportData) -> None:
    engine = report_data.engine
    digest.next_digest(engine, "daily", since=T0, until=T0 + 5 * DAY)
    with pytest.raises(digest.DigestError, match="continues from its last run"):
        digest.next_digest(engine, "daily", since=T0 + DAY)
    with pytest.raises(digest.DigestError, match="reported up to"):
        digest.next_digest(engine, "daily", until=T0 + DAY)
    with pytest.raises(digest.DigestError, match="no run 7"):
        digest.replay(engine, "daily", 7)
    with pytest.raises(digest.DigestError, match="1 to 64"):
        digest.next_digest(engine, "x" * 65)


def test_markdown_shows_attacker_text_as_text(report_data: ReportData) -> None:
    body = digest.next_digest(report_data.engine, "chat", since=T0, until=T0 + 14 * DAY)
    text = render_markdown(body)
    assert text.startswith('**cowrieprocessor digest "chat" #1**: 2025-03-01 00:00 to 2025-03-15 00:00 UTC')
    assert "New SSH keys: 4" in text and f"`{K1}`" in text
    assert "\\<script\\>window" in text and "<script>" not in text  # the hostile passwords, escaped
    assert "\\<img src=x onerror=" in text and "\u202e" not in text and "\\u202e" in text
    assert "`198.51.100.2`: AS64501 -> AS64502" in text


def test_nothing_new_is_said_in_one_line(report_data: ReportData) -> None:
    body = digest.next_digest(report_data.engine, "quiet", since=T0 + 20 * DAY, until=T0 + 21 * DAY)
    assert render_markdown(body).splitlines()[-1] == "Nothing new."


def test_new_payload_hosts_with_their_networks_now(report_data: ReportData) -> None:
    engine = report_data.engine
    first = digest.next_digest(engine, "hosts", since=T0, until=T0 + 5.5 * DAY)
    later = digest.next_digest(engine, "hosts", until=T0 + 14 * DAY)
    found = {i["host"]: i for i in first["new_payload_hosts"]["items"]}
    # both hosts served the hostile sessions' payloads on day 4, so both are new in the first run only
    assert set(found) == {HOSTILE_HOST, B} and first["new_payload_hosts"]["total"] == 2
    assert later["new_payload_hosts"]["total"] == 0
    # the hostile name resolved to B (AS64502 now) and H; URLhaus lists it
    assert f"{B} AS64502" in found[HOSTILE_HOST]["addresses"] and len(found[HOSTILE_HOST]["addresses"]) == 2
    assert found[HOSTILE_HOST]["urlhaus"] is not None and "listed" in found[HOSTILE_HOST]["urlhaus"]
    text = render_markdown(first)
    assert "New payload hosts: 2" in text and f"`{B} AS64502`" in text
    # the hostile name is text (every Markdown metacharacter escaped), one item per line
    line = next(x for x in text.splitlines() if "pwned=8" in x)
    assert line.startswith('- "\\>\\<script\\>window') and line.endswith("URLhaus: listed \\(3 URLs\\)")
    assert any(x.startswith(f"- {B}:") for x in text.splitlines())
    downloads = text.split("New download hashes:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert len(downloads) == min(len(HOSTILE), digest.LIMIT) and all(x.startswith("- `") for x in downloads)
