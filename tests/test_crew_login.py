"""A crew member signing in at /login lands on the crew page signed in (issue 16): the login's session is
handed to the page as its bearer token, so nobody types the password twice. Debian's Chromium, a real server."""

from .helpers import crewphone, live as harness
from .helpers.crewphone import CREW, wait_until

pytestmark = harness.needs_chromium

browser = harness.browser
live = crewphone.live
phone = crewphone.phone


def test_signing_in_at_login_opens_the_crew_page_signed_in(phone, live):
    phone.goto(f"{live.url}/login")
    phone.fill("input[name=username]", CREW[0])
    phone.fill("input[name=password]", CREW[1])
    phone.click("form button[type=submit], form input[type=submit]")
    phone.wait_for_url(f"{live.url}/crew")
    phone.wait_for_selector("#screen-home:not([hidden])")
    wait_until(phone, "document.getElementById('point-code').textContent === 'LH01'")
    assert "crew_handover" not in phone.evaluate("document.cookie")  # read once, then dropped
    assert phone.context.cookies() and not [c for c in phone.context.cookies() if c["name"] == "crew_handover"]
    phone.reload()  # the page keeps its sign-in as one typed there would
    phone.wait_for_selector("#screen-home:not([hidden])")
