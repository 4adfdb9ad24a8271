"""The crew page's shell opens with no signal only if the service worker keeps every file the page loads:
each script, stylesheet and icon the page names is in crew-sw.js's precache list and is served, and no crew
script in static/ is left out of the page."""

import hashlib
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

STATIC = Path(__file__).resolve().parent.parent / "opsserver" / "web" / "static"
SW_URL = "http://phone/crew/sw.js"  # where the page registers it; its list is relative to this


def precached() -> set[str]:
    """The paths in the service worker's ASSETS list, as the phone resolves them."""
    source = (STATIC / "crew-sw.js").read_text(encoding="utf-8")
    assets = source[source.index("const ASSETS"):source.index("];", source.index("const ASSETS"))]
    return {urljoin(SW_URL, path).removeprefix("http://phone") for path in re.findall(r"at\('([^']+)'\)", assets)}


def test_the_service_worker_keeps_everything_the_crew_page_loads(world):
    page = world.client.get("/crew").get_data(as_text=True)
    loaded = re.findall(r'<script[^>]+src="([^"]+)"', page)
    loaded += re.findall(r'<link rel="(?:stylesheet|icon)" href="([^"]+)"', page)
    assert len(loaded) >= 10
    assert {urlsplit(url).path for url in loaded} <= precached()  # the worker matches by path (?v= is a version)
    for path in loaded:
        assert world.client.get(path).status_code == 200, path


def test_every_crew_script_is_on_the_page():
    page_scripts = re.findall(r"filename='(crew[\w-]*\.js)'", (STATIC.parent / "templates" / "crew.html").read_text())
    on_disk = {p.name for p in STATIC.glob("crew*.js")} - {"crew-sw.js"}
    assert set(page_scripts) == on_disk


# The cache's name goes with the list it keeps: the phone installs a changed service worker into a cache of a
# new name and drops the old one, so a file taken off the list is not kept (and served) for ever. A new list
# needs a new name here and in crew-sw.js.
SHELL_LISTS = {"crew-shell-v4": "e7e0cbfb8329b829", "crew-shell-v5": "e7e0cbfb8329b829",
               "crew-shell-v6": "cfa44529f56a24a1"}


def test_a_new_shell_list_has_a_new_cache_name():
    source = (STATIC / "crew-sw.js").read_text(encoding="utf-8")
    name = re.search(r"const CACHE = '([^']+)'", source).group(1)
    digest = hashlib.sha256("\n".join(sorted(precached())).encode()).hexdigest()[:16]
    assert SHELL_LISTS.get(name) == digest, (
        f"the service worker's list changed: give CACHE in crew-sw.js a new name and record {name!r}: {digest!r}")


# --- in the browser: the worker keeps the shell without downloading it a second time ----------------------

from .helpers import crewphone, live as harness  # noqa: E402

browser = harness.browser
live = crewphone.live
phone = crewphone.phone


@harness.needs_chromium
def test_the_first_load_downloads_the_shell_once(phone, live):
    """The worker's precache takes the shell from the page's own load (the HTTP cache), as it does the assets:
    on a field network the first load is not paid twice (bench/page_weight.py: about 7 KB)."""
    phone.goto(f"{live.url}/crew")
    crewphone.wait_until(phone, "navigator.serviceWorker.controller !== null")
    assert live.recorder.hits("/crew") == 1
    assert live.recorder.hits("/static/web/crew-orders.js") == 1
