"""Headless Chromium (Debian's ``chromium``) driven by Playwright: open a report file and record everything
the page does - console messages, page errors, requests, dialogs - so tests can assert it did nothing else."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    """The system browser; missing, the test is skipped with the reason (a failure under ``CI=true``)."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    reason = "no chromium on PATH (Debian: apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true: the browser tests must run", pytrace=False)
    pytest.skip(reason)


@dataclass
class Visit:
    page: Any
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield instance
        instance.close()


def visit(browser: Any, path: Path, *, width: int = 1300) -> Visit:
    """Open ``path`` in a fresh context; every request other than the file itself is recorded and aborted."""
    context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=True)
    page = context.new_page()
    seen = Visit(page)
    own = path.resolve().as_uri()
    page.on("console", lambda m: seen.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.on("request", lambda r: seen.requests.append(r.url))

    def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.route("**/*", lambda route: route.continue_() if route.request.url == own else route.abort())
    page.goto(own, wait_until="load")
    page.wait_for_selector("html[data-ready='1']", timeout=10_000)
    return seen


def screenshot_dir(default: Path) -> Path:
    """``COWRIEPROCESSOR_SCREENSHOTS`` (to keep them, e.g. as CI artefacts), else the test's own directory."""
    directory = Path(os.environ.get("COWRIEPROCESSOR_SCREENSHOTS") or default)
    directory.mkdir(parents=True, exist_ok=True)
    return directory
