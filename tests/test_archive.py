"""The round archive file opens on the round's map, in the language chosen, with no network request; it
inlines only the maps' own vendor files, and no vendor path leaves node_modules."""

import base64
import json
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from opsserver.database.utc import now_utc
from opsserver.web.archive import inline_assets, vendor_file

from .helpers import live
from .helpers.problems import assert_problem

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# What a person must not see: a JSON object or its keys, and the round report's raw field names.
RAW = re.compile(r'[{\[]\s*"|"\w+"\s*:|\b(?:round_id|point_code|started_at|azimuth_deg|null)\b')

_DATA_URI = re.compile(r"url\(data:[^;,)]*;base64,([A-Za-z0-9+/=]+)\)")


def _decoded_data_uris(text: str) -> list[bytes]:
    return [base64.b64decode(found) for found in _DATA_URI.findall(text)]


def test_hostile_references_stay_text_in_the_archive(ops_world, runner, tmp_path):
    """ATC references naming files outside node_modules as CSS url()s are kept as text: the archive
    builds, shows each reference, and holds none of the files' bytes."""
    climb = "../" * 12  # references are at most 80 characters
    refs = {"LH01": "url(/vendor/../../../../../../etc/passwd)", "LH02": f"url('/vendor/{climb}etc/os-release')"}
    w, now = ops_world, now_utc()
    w.activate()
    for point, ref in refs.items():
        req = w.request_window(point, minutes=60, start=now - timedelta(minutes=1))
        assert req.status_code == 201, req.json
        resp = w.approve(req.json["id"], now - timedelta(minutes=1), now + timedelta(hours=1), reference=ref)
        assert resp.status_code == 200, resp.json

    out = tmp_path / "round.html"
    result = runner.invoke(args=["ops", "archive-round", str(w.round_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    decoded = _decoded_data_uris(text)
    assert decoded, "the maps' own fonts are still inlined"
    passwd = Path("/etc/passwd").read_bytes()[:24]
    for blob in decoded:
        assert b"root:" not in blob and b"NAME=" not in blob
    assert base64.b64encode(passwd)[:24].decode() not in text
    # The references are there as data (quotes escaped for the srcdoc attribute and the JSON).
    assert "url(/vendor/../../../../../../etc/passwd)" in text
    assert f"/vendor/{climb}etc/os-release" in text


def test_inline_assets_inlines_only_tags_and_style_elements(tmp_path):
    """Only <script src>, <link rel=stylesheet href> and url()s inside <style> elements are inlined;
    the same text inside a data element or the page's text is left as it is."""
    root = tmp_path / "node_modules"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.js").write_text("var a = 1;")
    (root / "pkg" / "a.css").write_text(".x { background: url(img.png); } .y { background: url(../../outside.png); }")
    (root / "pkg" / "img.png").write_bytes(b"PNGDATA")
    (root / "pkg" / "font.woff2").write_bytes(b"FONTDATA")
    (tmp_path / "outside.png").write_bytes(b"OUTSIDE")
    data = ('{"ref":"url(/vendor/pkg/font.woff2) url(/vendor/../outside.png)'
            ' \\u003cscript src=\\"/vendor/pkg/a.js\\"\\u003e"}')
    page = ('<html><head><script src="/vendor/pkg/a.js"></script>'
            '<link rel="stylesheet" href="/vendor/pkg/a.css"/>'
            '<style>@font-face { src: url(\'/vendor/pkg/font.woff2\'); }'
            ' .z { background: url(/vendor/../outside.png); }'
            '</style></head><body><p>url(/vendor/pkg/img.png)</p>'
            f'<script type="application/json" id="ops-map-data">{data}</script></body></html>')
    out = inline_assets(page, root)
    assert "<script>var a = 1;</script>" in out
    assert sorted(_decoded_data_uris(out)) == [b"FONTDATA", b"PNGDATA"]
    assert b"OUTSIDE" not in b"".join(_decoded_data_uris(out))
    assert "<p>url(/vendor/pkg/img.png)</p>" in out
    assert data in out
    with pytest.raises(FileNotFoundError):
        inline_assets('<script src="/vendor/../outside.png"></script>', root)


def test_vendor_file_stays_inside_node_modules(tmp_path):
    """A vendor path resolves to a file under node_modules, or to nothing: climbing, absolute paths and
    symbolic links out are refused."""
    root = tmp_path / "node_modules"
    (root / "pkg" / "dist").mkdir(parents=True)
    (root / "pkg" / "dist" / "a.css").write_text("a")
    (tmp_path / "secret").write_text("s")
    (root / "pkg" / "dist" / "link.css").symlink_to(tmp_path / "secret")
    (root / "pkg" / "dist" / "inside.css").symlink_to(root / "pkg" / "dist" / "a.css")
    assert vendor_file(root, "pkg/dist/a.css") == (root / "pkg" / "dist" / "a.css").resolve()
    assert vendor_file(root, "pkg/dist/inside.css") == (root / "pkg" / "dist" / "a.css").resolve()
    assert vendor_file(root, "pkg/dist/../dist/a.css") == (root / "pkg" / "dist" / "a.css").resolve()
    for hostile in ("../secret", "pkg/../../secret", "/etc/passwd", str(tmp_path / "secret"),
                    "pkg/dist/link.css", "pkg/dist", "pkg/dist/missing.css", "pkg/dist/a.css\0x"):
        assert vendor_file(root, hostile) is None, hostile


def test_vendor_route_refuses_a_link_out_of_node_modules(app, client, tmp_path):
    """The /vendor route serves a file of an allowed package only when it really lies in node_modules."""
    root = tmp_path / "node_modules"
    (root / "leaflet" / "dist").mkdir(parents=True)
    (root / "leaflet" / "dist" / "leaflet.css").write_text(".leaflet {}")
    (tmp_path / "secret.css").write_text("SECRET")
    (root / "leaflet" / "dist" / "evil.css").symlink_to(tmp_path / "secret.css")
    app.config["OPS_VENDOR_DIR"] = str(root)
    assert client.get("/vendor/leaflet/dist/leaflet.css").get_data(as_text=True) == ".leaflet {}"
    assert_problem(client.get("/vendor/leaflet/dist/evil.css"), 404)
    (root / "left-pad").mkdir()
    (root / "left-pad" / "index.js").write_text("pad")
    assert_problem(client.get("/vendor/leaflet/dist/..%2f..%2fleft-pad/index.js"), 404)


@pytest.fixture
def archived(app, runner, tmp_path):
    """The demo drilled (last night, closed before dawn) and its round archived in Chinese and in English."""
    morning = now_utc().astimezone(ZoneInfo("Asia/Shanghai")).replace(hour=10, minute=0, second=0, microsecond=0)
    with time_machine.travel(morning, tick=True):
        assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
        result = runner.invoke(args=["ops", "drill", "--close"])
        assert result.exit_code == 0, result.output
        files = {}
        for lang in ("zh", "en"):
            files[lang] = tmp_path / f"round-{lang}.html"
            result = runner.invoke(args=["ops", "archive-round", "1", "--out", str(files[lang]), "--lang", lang])
            assert result.exit_code == 0, result.output
        yield files


@live.needs_chromium
def test_the_archive_opens_on_the_map_offline_in_its_language(archived):
    """Opened from disk with the network off: the first thing under the title is the round's map, drawn
    (points, sectors, arrows, the county outlines); then the summary tables; no raw JSON is shown (the data
    is in a script element for machines); not one request leaves the file; and the text is the language
    chosen."""
    expected = {"zh": ("作业轮次", "已完成", "概况"), "en": ("Round", "done", "Summary")}
    with live.chromium() as browser:
        for lang, path in archived.items():
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            requests = []
            context.on("request", lambda r: requests.append(r.url))
            page = context.new_page()
            page.set_default_timeout(15000)
            errors = live.script_errors(page)
            page.goto(path.as_uri(), wait_until="load")
            # The map comes first, filling most of the first screen.
            first = page.locator("body > section").first
            assert first.get_attribute("id") == "map"
            box = first.locator("iframe").bounding_box()
            assert box["y"] < 200 and box["height"] > 500
            frame = page.frame_locator("#map iframe")
            frame.locator(".leaflet-container").wait_for()
            assert frame.locator(".leaflet-interactive").count() > 18  # points, sectors, arrows, outlines
            # Fitted to the round's points: the whole city in view, not a street.
            inner = first.locator("iframe").element_handle().content_frame()
            inner.wait_for_function("() => Object.keys(window).some(k => k.startsWith('map_') && "
                                    "window[k].getZoom && window[k].getZoom() >= 8 && window[k].getZoom() <= 12)",
                                    polling=100)  # by interval: a frame the page has not painted runs no rAF
            page.frame_locator("#replay iframe").locator(".leaflet-container").wait_for()
            # What a person reads: tables, no JSON, in the chosen language.
            shown = page.inner_text("body")
            assert not RAW.search(shown), RAW.search(shown)
            assert page.locator("pre").count() == 0
            assert page.locator("#archive-points tbody tr").count() == 18
            assert page.locator("#archive-reports tbody tr").count() == 8
            for word in expected[lang]:
                assert word in shown, (lang, word)
            if lang == "zh":
                assert not re.search(r"\b(?:Summary|Firing reports|Planned|done|manned)\b", shown)
            # The data for machines: the round, its points, reports and airspace, as JSON.
            data = json.loads(page.locator("script#round-data").text_content())
            assert data["round"]["id"] == 1 and len(data["reports"]) == 8 and len(data["points"]) == 18
            # Nothing left the file: only itself, its srcdoc frames and data: URIs were loaded.
            assert [u for u in requests if not u.startswith(("file:", "data:", "about:"))] == [], requests
            assert errors == []
            if lang == "zh":
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "archive-round.png"))
                (ARTIFACTS / "archive-round.html").write_bytes(path.read_bytes())
            context.close()
