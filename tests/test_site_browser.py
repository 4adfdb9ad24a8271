"""The command centre as one site, in Debian's Chromium against a real server, on the demo after `ops drill` with
map tiles off: from /login a commander reaches every page of the bar and each round's detail, map, replay, report
and activity log by clicking only, in Chinese and then (switched by a click) in English, with no console error
and no failed request; an auditor opens a round report and verifies the audit log from the pages. A full-page
screenshot of each page goes to test-artifacts/site/ (not committed: .gitignore)."""

import re
from pathlib import Path

import pytest

from .helpers import live as harness

pytestmark = harness.needs_chromium

browser = harness.browser  # the project's Chromium fixture
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "site"
WAIT_MS = 15000


class Watch:
    """What went wrong in a page since it opened: script and console errors, failed or refused requests."""

    def __init__(self, page):
        self.errors = harness.script_errors(page)
        self.failed: list[str] = []
        page.on("requestfailed", lambda req: self.failed.append(f"{req.url} {req.failure}"))
        page.on("response", lambda resp: self.failed.append(f"{resp.url} {resp.status}")
                if resp.status >= 400 else None)

    def assert_clean(self, where: str):
        assert self.errors == [], (where, self.errors)
        assert self.failed == [], (where, self.failed)


@pytest.fixture
def site(app, runner):
    """The drilled demo, served with map tiles off (the offline base layer only)."""
    app.config["OPS_MAP_TILES"] = "none"
    assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
    result = runner.invoke(args=["ops", "drill"])
    assert result.exit_code == 0, result.output
    SHOTS.mkdir(parents=True, exist_ok=True)
    with harness.serving(app) as url:
        yield url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    context.set_default_timeout(WAIT_MS)
    p = context.new_page()
    yield p
    context.close()


def click(page, locator):
    """Click a link and wait for the page it opens to have loaded."""
    with page.expect_navigation(wait_until="load"):
        locator.click()


def shot(page, name: str):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, url: str, username: str, password: str):
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    click(page, page.locator("form.login-form button[type=submit]"))


def tour(page, watch: Watch, lang: str):
    """Every entry of the bar, then each round's detail and what it links to, clicking only."""
    assert page.get_attribute("html", "lang") == ("en" if lang == "en" else "zh-Hans")
    labels = page.locator("nav.site a").all_inner_texts()
    assert len(labels) >= 4, labels
    for i, label in enumerate(labels):
        click(page, page.locator("nav.site a").nth(i))
        page.wait_for_selector("body")
        if page.locator("nav.ops-back").count():  # a map document: wait for the map, then back by its strip
            page.wait_for_selector(".leaflet-container")
            shot(page, f"{lang}-nav-{i:02d}-map")
            watch.assert_clean(f"{lang} nav {label}")
            click(page, page.locator("nav.ops-back a").first)
        else:
            assert page.locator("nav.site a.on").inner_text() == label
            shot(page, f"{lang}-nav-{i:02d}")
            watch.assert_clean(f"{lang} nav {label}")
    click(page, page.locator("nav.site a", has_text=re.compile("作业轮次|Rounds")))
    rounds = page.locator("#rounds tr[data-round]").count()
    assert rounds >= 1
    for n in range(rounds):
        click(page, page.locator("#rounds tr[data-round] td a").nth(2 * n))  # the round's number
        round_id = page.url.rstrip("/").rsplit("/", 1)[1]
        page.wait_for_selector("#round-points")
        shot(page, f"{lang}-round-{round_id}")
        links = page.locator("#round-links a:not([download])")
        for i in range(links.count()):
            name = ["map", "replay", "report"][i]
            click(page, page.locator("#round-links a:not([download])").nth(i))
            if name == "report":
                page.wait_for_selector("#summary")
            else:
                page.wait_for_selector(".leaflet-container")
            shot(page, f"{lang}-round-{round_id}-{name}")
            watch.assert_clean(f"{lang} round {round_id} {name}")
            click(page, page.locator("nav.ops-back a").first)  # back to the round
            assert page.url.endswith(f"/rounds/{round_id}")
        click(page, page.locator("a.activity-log").first)
        page.wait_for_selector("body")
        assert page.locator("nav.ops-back").count() == 1
        shot(page, f"{lang}-round-{round_id}-activity-log")
        watch.assert_clean(f"{lang} round {round_id} activity log")
        click(page, page.locator("nav.ops-back a").first)
        click(page, page.locator("nav.site a", has_text=re.compile("作业轮次|Rounds")))


def test_commander_reaches_every_page_by_clicking_in_both_languages(site, page):
    """Chinese first (the default), then English chosen by clicking; nothing fails on any page."""
    watch = Watch(page)
    sign_in(page, site, "commander", "commander-demo-pass")
    assert page.url == f"{site}/"
    assert "commander" in page.inner_text("nav.me")
    tour(page, watch, "zh")
    click(page, page.locator("nav.me a.lang", has_text="English"))
    assert page.get_attribute("html", "lang") == "en"
    tour(page, watch, "en")
    watch.assert_clean("the whole tour")


def test_auditor_opens_a_report_and_verifies_the_audit_log(site, page):
    """From the pages alone: the round's report, then the audit log's verification with its result shown."""
    watch = Watch(page)
    sign_in(page, site, "auditor", "auditor-demo-pass")
    click(page, page.locator("nav.site a", has_text="作业轮次"))
    click(page, page.locator("#rounds tr[data-round] td a").first)
    click(page, page.locator("#round-links a", has_text="作业报告"))
    page.wait_for_selector("#summary")
    assert "LH01" in page.inner_text("#points")
    shot(page, "auditor-report")
    click(page, page.locator("nav.ops-back a").first)
    audit = page.locator("nav.site a", has_text="审计日志")
    if audit.count() == 0:
        pytest.fail("the audit page (admin.audit) is not served: nothing to verify from")
    click(page, audit)
    shot(page, "auditor-audit")
    click(page, page.locator("form.verify button[type=submit], button#verify").first)
    result = page.wait_for_selector(".verify-result")
    assert result.get_attribute("data-ok") == "true", result.inner_text()
    shot(page, "auditor-audit-verified")
    watch.assert_clean("auditor")
