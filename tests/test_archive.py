"""The round archive file inlines only the maps' own vendor files, and no vendor path leaves node_modules."""

import base64
import re
from datetime import timedelta
from pathlib import Path

import pytest

from opsserver.database.utc import now_utc
from opsserver.web.archive import inline_assets, vendor_file

from .helpers.problems import assert_problem

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
