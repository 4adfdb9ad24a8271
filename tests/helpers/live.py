"""The app served in this process for a real browser: a Flask app on a free port in a thread, and
Debian's Chromium launched through Playwright (the project's one browser harness)."""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
# No sandbox (a container), no GPU, no background fetches (the maps must not reach the internet).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
NO_CHROMIUM = (f"Debian's chromium is not installed at {CHROMIUM} "
               "(scripts/test.sh installs it: apt-get install chromium fonts-noto-cjk)")
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=NO_CHROMIUM)


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve the WSGI ``app`` on a free port of 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium through Playwright (the test is skipped, saying why, where it is not installed)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for a test module (import it into the module: ``browser = live.browser``)."""
    with chromium() as b:
        yield b


def script_errors(page: Page) -> list[str]:
    """A list that fills with the page's uncaught errors and console errors from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors
