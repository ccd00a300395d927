"""A real Chromium (Debian's, driven by Playwright) against the live server and Neo4j.

Every page is opened in a fresh browser context whose requests are watched: anything addressed to a host
other than loopback is aborted and fails the test, so the pages are proven to work with no network. A
screenshot of each page goes to `test-artifacts/browser/` (the path is printed at the end of the run).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from neo4j import Driver
from playwright.sync_api import Browser, Page, Playwright, Route, expect, sync_playwright

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import Role
from lineage_graph.services.container import Services
from lineage_graph.services.demo import load_demo
from lineage_graph.store.graph import Neo4jGraph
from tests.conftest import TokenFactory
from tests.support import issue_token

CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download cannot be reached from our machines; these keep Chromium itself quiet too
# (no component updates, sync or background fetches that the loopback guard would have to refuse).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
_shots: list[Path] = []
# The machine runs other suites beside this one: give the pages time before calling them broken.
expect.set_options(timeout=20_000)


def _off_the_browser_loop(work: Callable[[], Coroutine[object, object, object]]) -> object:
    """Playwright's sync API keeps an event loop running on this thread, so `asyncio.run` goes to another."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


def loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Package scope: while Playwright runs, its loop occupies this thread, and suites after this one use asyncio.run.
@pytest.fixture(scope="package")
def playwright_driver(base_url: str, admin_token: str) -> Iterator[Playwright]:
    # The server and the session's token come first: both use asyncio.run, which a running Playwright forbids.
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (`scripts/install --for-tests` does, as root)"
        )
    if not (WEB_DIST / "ui" / "index.html").is_file():
        pytest.fail(f"the front end is not built in {WEB_DIST}: run scripts/install")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh tab (own sessionStorage) that refuses, and reports, any request beyond loopback."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1400, "height": 900})
    foreign: list[str] = []
    errors: list[str] = []

    def guard(route: Route) -> None:
        if loopback(route.request.url):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The pages forbid anything but this server (Content-Security-Policy); a violation would mean a feature
    # silently broken, so it fails the test like an uncaught error.
    page.on("console", lambda message: "Content Security Policy" in message.text and errors.append(message.text))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert foreign == [], f"the page tried to reach beyond loopback: {foreign}"
    assert errors == [], f"uncaught errors in the page: {errors}"


Screenshot = Callable[[Page, str], Path]


@pytest.fixture
def screenshot() -> Screenshot:
    """`screenshot(page, name)` saves a full-page PNG for a reviewer to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        _shots.append(path)
        return path

    return take


@pytest.fixture
def demo(settings: Settings, db: Driver) -> None:
    """The README's example graph (`lineage-graph demo`), loaded through the ordinary use cases."""

    async def load() -> None:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            await load_demo(Services.build(graph).registry)
        finally:
            await graph.close()

    _off_the_browser_loop(load)


@pytest.fixture
def make_token(settings: Settings, db: Driver) -> TokenFactory:
    """The suite's `make_token`, issuing off the browser's event loop."""

    def make(name: str, role: Role, group_roles: dict[str, Role] | None = None) -> str:
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(issue_token, settings, name, role, group_roles).result()

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _shots:
        terminalreporter.write_line(f"browser screenshots ({len(_shots)}) in {ARTIFACTS}")
