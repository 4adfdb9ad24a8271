"""The login page's `next`: only a path on this site, after normalising it; anything else goes to the default page."""

import pytest

from .helpers import live
from .helpers.pages import csrf_token

browser = live.browser  # the project's Chromium fixture (Debian's chromium through Playwright)

# `next` exactly as it travels in the query string (percent-encoded where a browser or an attacker would).
BYPASSES = [
    "//evil.example", "///evil.example", "/%2F%2Fevil.example", "%2F%2Fevil.example", "/%252F%252Fevil.example",
    "/\\evil.example", "/%5Cevil.example", "%5C/evil.example", "\\/evil.example", "/%5C%5Cevil.example",
    "/%255Cevil.example", "/%09/evil.example", "/%0A/evil.example", "/%0D/evil.example", "/%2509/evil.example",
    "/%0D%0ASet-Cookie:%20x=1", "%20//evil.example", "/%20/evil.example", "/%00/evil.example",
    "https://evil.example", "https:evil.example", "HTTPS://evil.example", "//evil.example@ops.local",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "%6Aavascript:alert(1)", "data:text/html,x",
    "/%EF%BC%8F/evil.example", "/%E2%88%95evil.example", "%EF%BC%8F%EF%BC%8Fevil.example",  # fullwidth and
    "/%E3%80%82evil.example", "/%C2%A0/evil.example", "/%E2%80%AE/evil.example",  # division solidus, ideographic
    "evil.example", "maps/status", "", "%",  # full stop, no-break space, right-to-left override; not a path
]
GOOD = [("%2Fmaps%2Fstatus%3F", "/maps/status"), ("/maps/rounds/3", "/maps/rounds/3"),
        ("%2Fmaps%2Frounds%2F3%2Freplay%3Flang%3Den", "/maps/rounds/3/replay?lang=en"), ("/", "/")]


def post_login(world, next_value: str, username: str = "commander"):
    token = csrf_token(world.client)
    return world.client.post(f"/login?next={next_value}", data={
        "username": username, "password": f"password-{username}", "csrf_token": token})


@pytest.mark.parametrize("next_value", BYPASSES)
def test_next_outside_this_site_goes_to_the_default_page(world, next_value):
    """The issue's `/%09/example.org` answered `Location: //example.org`; every usual bypass now lands on `/`."""
    resp = post_login(world, next_value)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("next_value,location", GOOD)
def test_next_on_this_site_is_kept(world, next_value, location):
    """A path on this site, as the login redirect makes it (`request.full_path`), is where the login goes."""
    resp = post_login(world, next_value)
    assert resp.status_code == 302
    assert resp.headers["Location"] == location


def test_the_redirect_to_login_round_trips(world):
    """A page sends a stranger to the login with `next`; after signing in there they are back on that page."""
    first = world.client.get("/maps/status")
    assert first.status_code == 302
    login_url = first.headers["Location"]
    token = csrf_token(world.client)
    resp = world.client.post(login_url, data={"username": "commander", "password": "password-commander",
                                              "csrf_token": token})
    assert resp.headers["Location"] == "/maps/status"
    assert world.client.get(resp.headers["Location"]).status_code == 200


@pytest.mark.parametrize("next_value", ["/maps/status", "//evil.example"])
def test_a_crew_account_is_taken_to_the_crew_page(world, next_value):
    """A crew account signing in at /login is taken to /crew (the command centre's pages are not theirs)."""
    resp = post_login(world, next_value, username="crew1")
    assert resp.headers["Location"] == "/crew"


@pytest.fixture
def served(app, world):
    """The app over HTTP on a free port, for the browser."""
    with live.serving(app) as url:
        yield url


@live.needs_chromium
def test_in_chromium_the_login_stays_on_this_site_and_the_session_ends_with_the_account(browser, served, world):
    """The issue's own case in a real browser, which strips the tab and would go to //example.org; then the
    server-side session opens the pages until the account is disabled."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{served}/login?next=/%09/example.org")
    page.fill("input[name=username]", "commander")
    page.fill("input[name=password]", "password-commander")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{served}/"
    assert page.goto(f"{served}/maps/status").status == 200 and page.url == f"{served}/maps/status"
    cookie = next(c for c in context.cookies() if c["name"] == "session")
    assert cookie["httpOnly"]
    resp = world.client.patch("/api/v1/accounts/commander", json={"active": False}, headers=world.headers("admin"))
    assert resp.status_code == 200
    page.goto(f"{served}/")
    assert page.url.startswith(f"{served}/login?next=")
    context.close()
