"""The audit page's verify button in Debian's Chromium against a real server: the chain verifies, then a row is
changed behind the app's back and the same click names the broken event; no console error on the way. The admin
pages from the bar, and a no-fire zone drawn, seen as a point's conflict and deactivated, by clicking.
Screenshots go to test-artifacts/admin/ (not committed)."""

import json
from pathlib import Path

from sqlalchemy import text

from opsserver.extensions import db

from .helpers import live as harness
from .test_admin_pages import _drop_guards

pytestmark = harness.needs_chromium

browser = harness.browser  # the project's Chromium fixture
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "admin"


def test_the_verify_button_shows_ok_then_the_first_bad_event(app, ops_world, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with harness.serving(app) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        context.set_default_timeout(15000)
        page = context.new_page()
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "auditor")
        page.fill("input[name=password]", "password-auditor")
        with page.expect_navigation(wait_until="load"):
            page.locator("form.login-form button[type=submit]").click()
        page.goto("about:blank")  # the dashboard the login opens is another page's: watch from the audit page on
        errors = harness.script_errors(page)
        page.goto(f"{url}/audit?point_code=LH01")
        with page.expect_navigation(wait_until="load"):
            page.locator("form.verify button[type=submit]").click()
        result = page.locator("#verify-result")
        assert result.get_attribute("data-ok") == "true", result.inner_text()
        assert "日志完整，未被篡改。" in result.inner_text()
        assert page.input_value("input[name=point_code]") == "LH01"  # the filter survives the click
        page.screenshot(path=str(SHOTS / "audit-verified.png"), full_page=True)
        _drop_guards(app)
        with app.app_context():
            db.session.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
            db.session.commit()
        # The same button again, on the page it opened: a second verification from the server, not a jump
        # within the page (an action with a #fragment made the second click a fragment navigation).
        with page.expect_navigation(wait_until="load"):
            page.locator("form.verify button[type=submit]").click()
        result = page.locator("#verify-result")
        assert result.get_attribute("data-ok") == "false"
        assert page.inner_text("#verify-result .first-bad") == "2"
        page.screenshot(path=str(SHOTS / "audit-broken.png"), full_page=True)
        assert errors == []
        context.close()


def test_an_admin_opens_each_admin_page_from_the_bar_and_disables_an_account_by_clicking(app, ops_world, browser):
    """From the bar, by clicking only: each admin page loads without a console error or failed request (a
    screenshot of each); the disable button of crew2 ends its token at once and the page confirms it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with harness.serving(app) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        context.set_default_timeout(15000)
        page = context.new_page()
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "password-admin")
        with page.expect_navigation(wait_until="load"):
            page.locator("form.login-form button[type=submit]").click()
        page.goto(f"{url}/audit")
        errors = harness.script_errors(page)
        failed = []
        page.on("response", lambda resp: failed.append(f"{resp.url} {resp.status}") if resp.status >= 400 else None)
        for label, name in (("账户", "accounts"), ("作业点", "points"), ("作业人员", "crew"), ("禁射区", "zones"),
                            ("弹药", "ammo"), ("审计日志", "audit")):
            with page.expect_navigation(wait_until="load"):
                page.locator("nav.site a", has_text=label).first.click()
            assert page.locator("main h2").count() == 1, name
            page.screenshot(path=str(SHOTS / f"admin-{name}.png"), full_page=True)
        with page.expect_navigation(wait_until="load"):
            page.locator("nav.site a", has_text="账户").first.click()
        me = {"Authorization": f"Bearer {ops_world.tokens['crew2']}"}
        assert ops_world.client.get("/api/v1/me", headers=me).status_code == 200
        with page.expect_navigation(wait_until="load"):
            page.locator("#account-crew2 form.toggle button").click()
        assert "账户 crew2 已停用" in page.inner_text("p.flash")
        assert ops_world.client.get("/api/v1/me", headers=me).status_code == 401
        page.screenshot(path=str(SHOTS / "admin-accounts-disabled.png"), full_page=True)
        assert errors == [] and failed == []
        context.close()


def test_an_admin_draws_a_zone_in_a_sector_sees_the_conflict_and_deactivates_it_by_clicking(app, ops_world, browser):
    """The zones page from the bar: a zone typed into the form (its GeoJSON in the textarea) is listed; the point's
    page lists the conflict with a link to the zone; the zone's deactivate button ends the conflict at once."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    north = {"type": "Polygon", "coordinates": [[[114.018, 33.605], [114.022, 33.605], [114.022, 33.609],
                                                 [114.018, 33.609], [114.018, 33.605]]]}  # 3 km north of LH01
    with harness.serving(app) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        context.set_default_timeout(15000)
        page = context.new_page()
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "password-admin")
        with page.expect_navigation(wait_until="load"):
            page.locator("form.login-form button[type=submit]").click()
        errors = harness.script_errors(page)
        with page.expect_navigation(wait_until="load"):
            page.locator("nav.site a", has_text="禁射区").first.click()
        form = page.locator("#zone-create")
        form.locator("input[name=name]").fill("Xiaotang school")
        form.locator("select[name=kind]").select_option("school")
        form.locator("textarea[name=geometry]").fill(json.dumps(north))
        with page.expect_navigation(wait_until="load"):
            form.locator("button[type=submit]").click()
        assert "禁射区 Xiaotang school 已创建。" in page.inner_text("p.flash")
        assert "学校" in page.inner_text("#zones tbody tr")
        page.screenshot(path=str(SHOTS / "admin-zones.png"), full_page=True)
        page.goto(f"{url}/admin/points/LH01")
        conflict = page.locator("#zones-in-range tr.conflict")
        assert conflict.count() == 1 and "冲突" in conflict.inner_text()
        page.screenshot(path=str(SHOTS / "admin-point-conflict.png"), full_page=True)
        with page.expect_navigation(wait_until="load"):
            conflict.locator("a").click()  # to the zone's page
        with page.expect_navigation(wait_until="load"):
            page.locator("#zone-active button").click()
        assert "已停用" in page.inner_text("p.flash")
        page.goto(f"{url}/admin/points/LH01")
        assert page.locator("#zones-in-range tr.conflict").count() == 0
        assert "无冲突" in page.inner_text("#zone-conflicts")
        assert errors == []
        context.close()
