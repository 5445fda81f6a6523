"""The report in a real browser (headless Chromium), on both backends: every section and chart is there,
the numbers are the database's, attacker text is only text, nothing runs that is not ours, no request
leaves the page, the console stays clean, tables sort and filter; a screenshot is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from cowrieprocessor.report import build_report, render_html
from tests.analysis.conftest import K1
from tests.report.browser import browser, screenshot_dir, visit
from tests.report.conftest import HOSTILE, HOSTILE_HOST, HOSTILE_URL, HOSTILE_VERSION, ReportData, file_sources

__all__ = ["browser"]  # the fixture

SECTIONS = (
    "headline", "activity", "networks", "campaigns", "credentials", "commands", "downloads", "payload-hosts", "ips",
    "sources",
)  # fmt: skip
PAYLOAD_SQL = """SELECT COUNT(DISTINCT f.session_id) FROM file_transfers f
JOIN session_summaries s ON s.session_id = f.session_id JOIN url_inventory u ON u.url = f.url
WHERE s.first_event_at >= :a AND s.first_event_at < :b AND u.host = :host"""


def _write(report_data: ReportData, tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(render_html(build_report(report_data.engine, report_data.period)), encoding="utf-8")
    return path


def _count(report_data: ReportData, sql: str) -> int:
    p = report_data.period
    with report_data.engine.connect() as conn:
        return int(conn.execute(text(sql), {"a": p.since, "b": p.until}).scalar_one())


def test_report_in_chromium(report_data: ReportData, browser: Any, tmp_path: Path, backend: str) -> None:
    # file 0: unknown to every source asked (novel); file 2: flagged, submitted to VirusTotal long before
    file_sources(report_data.engine, "0" * 64, virustotal=("not_found", None), malwarebazaar=("not_found", None))
    stats = {"malicious": 3, "undetected": 60}
    vt = {"last_analysis_stats": stats, "first_submission_date": 1_500_000_000}
    file_sources(report_data.engine, "2" * 64, virustotal=("found", vt))
    path = _write(report_data, tmp_path)
    seen = visit(browser, path)
    page = seen.page

    # every section, every chart drawn
    for section in SECTIONS:
        assert page.locator(f"section#{section}").count() == 1, section
    assert page.locator("#activity figure.chart svg rect").count() >= 2 * 10
    assert page.locator("#networks figure.chart svg rect").count() >= 3
    assert page.locator("#campaigns figure.chart[data-chart='graph'] svg line").count() >= 4

    # numbers equal to the database's
    period_sql = "FROM session_summaries WHERE first_event_at >= :a AND first_event_at < :b"
    card = page.locator("[data-metric='sessions']")
    assert int(card.get_attribute("data-value")) == _count(report_data, f"SELECT COUNT(*) {period_sql}")
    assert card.locator(".value").inner_text().replace(",", "") == str(
        _count(report_data, f"SELECT COUNT(*) {period_sql}")
    )
    ips = _count(report_data, f"SELECT COUNT(DISTINCT source_ip) {period_sql}")
    assert page.locator("[data-metric='ips'] .value").inner_text().replace(",", "") == str(ips)
    k1 = page.locator("tr.campaign[data-kind='ssh_key']").filter(has=page.locator("td code", has_text=K1))
    assert k1.count() == 1 and k1.get_attribute("data-sessions") == "10"

    # payload hosts: each host and address with its anchor, ASN then and now, the period's sessions
    hosts = page.locator("#t-payload-hosts tbody tr.payload-host")
    with report_data.engine.connect() as conn:
        addresses = int(conn.execute(text("SELECT COUNT(*) FROM payload_host_addresses")).scalar_one())
    assert hosts.count() == addresses == 3
    hostile = hosts.filter(has=page.locator("td.host", has_text=HOSTILE_HOST))
    assert hostile.count() == 2 and hostile.first.get_attribute("id", timeout=1000).startswith("host-")
    p = report_data.period
    with report_data.engine.connect() as conn:
        sessions = conn.execute(text(PAYLOAD_SQL), {"a": p.since, "b": p.until, "host": HOSTILE_HOST}).scalar_one()
    assert hostile.first.locator("td.num").nth(1).get_attribute("data-v") == str(sessions) == "1"
    assert hostile.first.locator("td").last.inner_text() == "listed (3 URLs)"
    moved = hosts.filter(has=page.locator("td.host", has_text="198.51.100.2"))
    assert "AS64501" in moved.inner_text() and "AS64502" in moved.inner_text()
    assert page.locator("#payload-ip-198-51-100-2").count() == 1 and page.locator("#payload-ip-192-0-2-8").count() == 1
    novel = page.locator("#t-downloads tbody tr").filter(has=page.locator("span.badge.novel"))
    assert novel.count() == 1 and "0" * 64 in novel.inner_text() and "unknown to every source" in novel.inner_text()
    assert "VT 3/63" in page.locator("#t-downloads").inner_text()

    # anchors: a campaign, an ASN and an IP can be linked to
    anchor = k1.get_attribute("id")
    assert page.locator(f"a[href='#{anchor}']").count() >= 1
    assert page.locator("tr#asn-64500").count() == 1 and page.locator("a[href='#asn-64500']").count() >= 1
    assert page.locator("tr#ip-198-51-100-2").count() == 1

    # attacker text is text: nothing of theirs ran, nothing became an element, everything is visible
    assert seen.dialogs == [] and page.evaluate("() => window.__pwned === undefined")
    assert page.locator("script").count() == 1 and page.locator("img").count() == 0
    assert page.evaluate("() => document.querySelectorAll('[onerror],[onload]').length") == 0
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('[href]'), e => e.getAttribute('href'))")
    assert hrefs and all(h.startswith("#") for h in hrefs)
    body = page.locator("body").inner_text()
    for hostile in (
        HOSTILE[0],
        HOSTILE[1],
        HOSTILE[2],
        HOSTILE[3],
        HOSTILE[5],
        HOSTILE_URL,
        HOSTILE_VERSION,
        HOSTILE_HOST,
    ):
        assert hostile in body, hostile
    assert "adm\\u202enimgpj.exe" in body and "\u202e" not in body  # the bidi override is shown, not obeyed
    assert "L" * 300 + "… [4,700 more characters]" in body and "L" * 301 not in body
    assert page.evaluate("() => getComputedStyle(document.querySelector('nav.toc')).position") == "sticky"

    # the page's own behaviour: CSP, no request, a clean console
    csp = page.locator("meta[http-equiv='Content-Security-Policy']").get_attribute("content")
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert seen.requests == [path.resolve().as_uri()]
    assert seen.errors == [] and [m for m in seen.console if m[0] in ("error", "warning")] == []

    # tables sort and filter
    header = page.locator("#t-commands thead th", has_text="times")
    header.click()
    header.click()  # second click: ascending
    values = [
        int(v) for v in page.locator("#t-commands tbody td:nth-child(2)").evaluate_all("t => t.map(c => c.dataset.v)")
    ]
    assert values == sorted(values) and len(values) > 1
    page.locator("input[data-table='t-commands']").fill("uname")
    visible_rows = page.locator("#t-commands tbody tr:not(.hidden)")
    assert visible_rows.count() == 1 and "uname -a" in visible_rows.inner_text()

    shots = screenshot_dir(tmp_path)
    page.locator("input[data-table='t-commands']").fill("")
    page.screenshot(path=str(shots / f"report-{backend}.png"), full_page=True)
    (shots / f"report-{backend}.html").write_bytes(path.read_bytes())
    assert (shots / f"report-{backend}.png").stat().st_size > 10_000
    page.context.close()


def test_report_prints(report_data: ReportData, browser: Any, tmp_path: Path) -> None:
    """Print media hides the navigation and the filters; the PDF renders."""
    seen = visit(browser, _write(report_data, tmp_path))
    page = seen.page
    page.emulate_media(media="print")
    assert page.evaluate("() => getComputedStyle(document.querySelector('nav.toc')).display") == "none"
    assert page.evaluate("() => getComputedStyle(document.querySelector('input.filter')).display") == "none"
    pdf = page.pdf(format="A4", landscape=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    assert seen.errors == [] and seen.requests == [(tmp_path / "report.html").resolve().as_uri()]
    page.context.close()
