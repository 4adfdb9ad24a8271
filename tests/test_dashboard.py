"""The dashboard: its rows and alerts built once (server-side macros) for the page and for its polling, flags as
words with their code kept in data attributes, alerts and times in the reader's language and the one format."""

import re

from .helpers import live
from .helpers.pages import sign_in

TBODY = re.compile(r'<tbody[^>]*>(.*?)</tbody>', re.S)
ALERTS = re.compile(r'<ul id="alerts[^"]*"[^>]*>(.*?)</ul>', re.S)
ONE_FORMAT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d")


def _rows(html: str) -> str:
    return re.sub(r"\s+", " ", TBODY.search(html).group(1)).strip()


def test_live_fragment_is_the_pages_rows_and_alerts(ops_world):
    """/dashboard/live renders the page's own rows and alerts (one renderer), and 304 while nothing changed."""
    ops_world.activate()
    ops_world.arrive("ann")
    sign_in(ops_world.client)
    page = ops_world.client.get("/").get_data(as_text=True)
    live_resp = ops_world.client.get("/dashboard/live")
    assert live_resp.status_code == 200 and live_resp.mimetype == "text/html"
    fragment = live_resp.get_data(as_text=True)
    assert _rows(fragment) == _rows(page) and 'data-code="LH01"' in fragment
    assert re.sub(r"\s+", " ", ALERTS.search(fragment).group(1)) == re.sub(r"\s+", " ", ALERTS.search(page).group(1))
    again = ops_world.client.get("/dashboard/live", headers={"If-None-Match": live_resp.headers["ETag"]})
    assert again.status_code == 304
    english = ops_world.client.get("/dashboard/live", headers={"If-None-Match": live_resp.headers["ETag"]},
                                   query_string={"lang": "en"})
    assert english.status_code == 200  # another language is another body


def test_flags_are_words_with_their_codes_kept(ops_world):
    """A flagged point's flags column shows the flag's words in the reader's language; the code is an attribute."""
    ops_world.activate()
    resp = ops_world.report("crew1")
    assert resp.status_code == 201, resp.json  # no airspace, nobody on site: flagged
    sign_in(ops_world.client)
    zh = ops_world.client.get("/?lang=zh").get_data(as_text=True)
    cell = re.search(r'<td class="flags" data-codes="([^"]*)">(.*?)</td>', zh.split('data-code="LH01"', 1)[1], re.S)
    codes = cell.group(1).split()
    assert codes, "the report is flagged"
    shown = re.sub(r"<[^>]+>", "", cell.group(2))
    assert not any(code in shown for code in codes) and re.search(r"[\u4e00-\u9fff]", shown), shown
    assert all(f'data-code="{code}"' in cell.group(2) for code in codes)
    alerts = re.sub(r"<[^>]+>", "", ALERTS.search(zh).group(1))  # the text shown
    assert re.search(r"[\u4e00-\u9fff]", alerts) and not re.search(r"\d{4}-\d\d-\d\dT\d\d:", alerts)
    assert ONE_FORMAT.search(alerts)
    en = ops_world.client.get("/?lang=en").get_data(as_text=True)
    alerts_en = re.sub(r"<[^>]+>", "", ALERTS.search(en).group(1))
    assert "LH01" in alerts_en and not re.search(r"[\u4e00-\u9fff]", alerts_en)


@live.needs_chromium
def test_dashboard_follows_a_check_in_without_reload(app, ops_world):
    """In Chromium, the table's row changes after a check-in, from the server's rows, with no console error."""
    ops_world.activate()
    with live.serving(app) as base, live.chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(20000)
        errors = live.script_errors(page)
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "commander")
        page.fill("input[name=password]", "password-commander")
        page.locator("form button[type=submit]").first.click()
        page.wait_for_url(f"{base}/")
        crew = page.locator('#points tr[data-code="LH01"] td.crew')
        before = crew.inner_text()
        ops_world.arrive("ann")
        page.wait_for_function("(before) => document.querySelector('#points tr[data-code=\"LH01\"] td.crew')"
                               ".textContent.trim() !== before", arg=before.strip())
        assert crew.inner_text().startswith("1 /")
        assert ONE_FORMAT.search(page.inner_text("#generated"))
    assert not errors, errors
