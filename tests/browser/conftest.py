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
import warnings
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
CLOSE_SECONDS = 180  # closing's own budget, far past a normal close (about a second) even on a loaded 2-core CI
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
            try:
                close_browser(context, browser, marker)
            finally:
                # With Playwright's loop running, Django keeps connections per context, not per thread:
                # close the one the test body opened, or it outlives the test database.
                connections.close_all()


def close_browser(context, browser, marker: str) -> None:
    """Close the context, then the browser, under a watchdog: closing hung once in CI (the first run after apt
    installed Chromium), so past ``CLOSE_SECONDS`` the watchdog kills Chromium rather than hang the suite.

    Only then is a closing error (Playwright's TargetClosedError: the target we killed) expected: it becomes
    a warning in the summary, not an error of a test that passed. Any other closing error still fails."""
    from playwright.sync_api import Error as PlaywrightError

    killed = threading.Event()

    def kill() -> None:
        killed.set()
        print(f"Chromium did not close within {CLOSE_SECONDS} s; killing it")
        subprocess.run(["pkill", "-KILL", "-f", "--", marker], check=False)

    watchdog = threading.Timer(CLOSE_SECONDS, kill)
    watchdog.daemon = True
    watchdog.start()
    try:
        for close in (context.close, browser.close):
            try:
                close()
            except PlaywrightError as exc:
                if not killed.is_set():
                    raise
                warnings.warn(
                    f"Chromium did not close within {CLOSE_SECONDS} s and was killed ({type(exc).__name__}: {exc})",
                    stacklevel=1,
                )
                return
    finally:
        watchdog.cancel()


def save_artifacts(page, test_name: str) -> None:
    BROWSER_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = BROWSER_ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
    try:
        page.screenshot(path=f"{stem}.png", full_page=True)
        Path(f"{stem}.html").write_text(page.content())
        print(f"browser artifacts: {stem}.png, {stem}.html (at {page.url})")
    except Exception as exc:  # the page may be gone; the failure itself matters more
        print(f"could not save browser artifacts for {test_name}: {exc}")
