"""Versioned asset URLs (opsserver/web/assets.py): the pages name their scripts and styles with a version,
an answer to the current version is cached for a year, any other URL keeps its short lifetime, and the
URL changes when the file does."""

import re
import shutil
from pathlib import Path

import brotli

from opsserver import create_app
from opsserver.web import assets
from opsserver.web.assets import BROTLI_QUALITY, IMMUTABLE, content_version

from .helpers.pages import sign_in

ROOT = Path(__file__).resolve().parent.parent


def asset_urls(page: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="(/(?:static|vendor)/[^"]+)"', page)


def test_the_crew_page_names_its_files_with_their_version(client):
    urls = asset_urls(client.get("/crew").get_data(as_text=True))
    assert len(urls) >= 10
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url
        resp = client.get(url)
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == IMMUTABLE, url


def test_unversioned_and_old_urls_keep_a_short_lifetime(client):
    for url in ("/static/web/crew.js", "/static/web/crew.js?v=000000000000"):
        assert "immutable" not in client.get(url).headers["Cache-Control"]
    vendor = client.get("/vendor/idb/build/umd.js")
    assert vendor.headers["Cache-Control"] == "public, max-age=86400"


def test_the_maps_load_vendor_files_under_a_versioned_path(client, world):
    sign_in(client)
    page = client.get("/maps/status").get_data(as_text=True)
    urls = [u for u in asset_urls(page) if u.startswith("/vendor/")]
    assert urls and all(re.match(r"/vendor/~[0-9a-f]{12}/", u) for u in urls), urls
    leaflet = next(u for u in urls if u.endswith("leaflet/dist/leaflet.js"))
    resp = client.get(leaflet)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == IMMUTABLE
    assert resp.data == client.get("/vendor/leaflet/dist/leaflet.js").data
    # A font a stylesheet names relatively sits under the same versioned path.
    prefix = leaflet.split("/leaflet/")[0]
    font = client.get(f"{prefix}/@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2")
    assert font.status_code == 200 and font.headers["Cache-Control"] == IMMUTABLE
    assert client.get(f"{prefix}/nothing-of-ours/x.js").status_code == 404


def test_a_file_gets_a_new_version_when_it_changes(tmp_path):
    path = tmp_path / "a.js"
    path.write_text("one")
    first = content_version(path)
    path.write_text("two!")
    assert content_version(path) not in (None, first)


def test_vendor_urls_follow_what_npm_installed(db_url, tmp_path):
    node_modules = tmp_path / "node_modules"
    shutil.copytree(ROOT / "node_modules" / "idb", node_modules / "idb")
    (node_modules / ".package-lock.json").write_text('{"packages": {"node_modules/idb": {"version": "8.0.0"}}}')
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "OPS_VENDOR_DIR": str(node_modules)})
    client = app.test_client()

    def idb_url():
        return next(u for u in asset_urls(client.get("/crew").get_data(as_text=True)) if "/idb/" in u)

    before = idb_url()
    (node_modules / ".package-lock.json").write_text('{"packages": {"node_modules/idb": {"version": "8.0.1"}}}')
    after = idb_url()
    assert before != after
    assert client.get(after).headers["Cache-Control"] == IMMUTABLE
    assert "immutable" not in client.get(before).headers["Cache-Control"]


def test_static_and_vendor_files_are_compressed_once_at_brotlis_best(client):
    for url, path in (("/static/web/crew-forms.js", ROOT / "opsserver/web/static/crew-forms.js"),
                      ("/vendor/leaflet/dist/leaflet.js", ROOT / "node_modules/leaflet/dist/leaflet.js")):
        first = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
        assert first.headers["Content-Encoding"] == "br" and first.headers["ETag"].endswith(':br"')
        assert brotli.decompress(first.data) == path.read_bytes()
        assert len(first.data) <= len(brotli.compress(path.read_bytes(), quality=BROTLI_QUALITY))
        again = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
    # A client without brotli gets what Flask-Compress makes.
    plain_zstd = client.get("/static/web/crew-forms.js", headers={"Accept-Encoding": "zstd"})
    assert plain_zstd.headers["Content-Encoding"] == "zstd"


def test_many_urls_of_one_file_are_compressed_once(client):
    """Any version in the path serves the file: the kept brotli body is the file's, not the URL's (else any
    number of made-up URLs would each cost a compression and its memory)."""
    before = len(assets._compressed)
    for n in range(5):
        resp = client.get(f"/vendor/~made-up-{n}/leaflet/dist/leaflet.js", headers={"Accept-Encoding": "br"})
        assert resp.status_code == 200 and "immutable" not in resp.headers["Cache-Control"]
    assert len(assets._compressed) - before <= 1
