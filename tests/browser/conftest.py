"""Playwright (sync API) driving a real Chromium against a real stack.

Without a Chromium the browser tests skip, loudly (reason, plus a warning in the summary);
with ``REQUIRE_BROWSER=1`` (CI) a missing Chromium fails them instead.
"""

import os
import re
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
from django.db import connections

from tests.e2e.harness import ARTIFACTS
from tests.e2e.stack import link_settings, no_broker, pytest_runtest_makereport, stack_factory  # noqa: F401

BROWSER_ARTIFACTS = ARTIFACTS / "browser"
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CLOSE_SECONDS = 60
_missing: list[str] = []


def find_chromium() -> str | None:
    """``CHROMIUM_PATH`` if set, else the first Chromium on this machine."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).is_file() else None
    for candidate in CANDIDATES:
        found = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    problem = None
    if path is None:
        problem = f"no Chromium found (CHROMIUM_PATH, then {', '.join(CANDIDATES)})"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed"
    if problem is None:
        return path
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"Browser tests cannot run: {problem}, and REQUIRE_BROWSER=1 requires them.", pytrace=False)
    _missing.append(problem)
    pytest.skip(f"BROWSER TESTS SKIPPED: {problem}. Install Debian's chromium (REQUIRE_BROWSER=1 makes this fail).")


def pytest_terminal_summary(terminalreporter):
    if _missing:
        terminalreporter.write_sep("!", "browser tests skipped", yellow=True, bold=True)
        terminalreporter.write_line(
            f"WARNING: the real-browser tests did not run: {_missing[0]}. "
            "Install Debian's chromium package, or set CHROMIUM_PATH.",
            yellow=True,
            bold=True,
        )


@pytest.fixture
def browser_page(chromium, request, monkeypatch):
    """A fresh Chromium page; on failure a screenshot and the HTML go to test-artifacts/browser/."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    marker = f"--linkbridge-test-browser={uuid.uuid4().hex}"  # Chromium ignores it; it names our process
    watchdog = threading.Timer(CLOSE_SECONDS, kill_browser, [marker])
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=[*CHROMIUM_ARGS, marker])
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(15_000)
            page = context.new_page()
            try:
                yield page
            finally:
                report = getattr(request.node, "rep_call", None)
                if report is None or report.failed:
                    save_artifacts(page, request.node.name)
                watchdog.start()
                context.close()
                browser.close()
                # With Playwright's loop running, Django keeps connections per context, not per thread:
                # close the one the test body opened, or it outlives the test database.
                connections.close_all()
    finally:
        watchdog.cancel()


def kill_browser(marker: str) -> None:
    """Closing hung once in CI (the first run after apt installed Chromium): kill it rather than hang the suite."""
    print(f"Chromium did not close within {CLOSE_SECONDS} s; killing it")
    subprocess.run(["pkill", "-KILL", "-f", "--", marker], check=False)


def save_artifacts(page, test_name: str) -> None:
    BROWSER_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = BROWSER_ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
    try:
        page.screenshot(path=f"{stem}.png", full_page=True)
        Path(f"{stem}.html").write_text(page.content())
        print(f"browser artifacts: {stem}.png, {stem}.html (at {page.url})")
    except Exception as exc:  # the page may be gone; the failure itself matters more
        print(f"could not save browser artifacts for {test_name}: {exc}")
