"""Compressed answers (Flask-Compress): text is compressed as the client accepts, images are not, streams
stay streams, and the status feed's and the static files' 304s still answer."""

import re

import brotli
import pytest

from opsserver import create_app
from opsserver.serving.security import page_policy

BR = {"Accept-Encoding": "br"}


def test_pages_and_json_are_compressed_and_the_same_when_unpacked(client, world):
    plain = client.get("/crew")
    packed = client.get("/crew", headers=BR)
    assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2
    assert "Accept-Encoding" in packed.headers["Vary"]
    feed = client.get("/api/v1/status.geojson", headers=world.headers("commander", **BR))
    assert feed.headers["Content-Encoding"] == "br" and feed.mimetype == "application/geo+json"


def test_images_are_not_compressed_again(client):
    resp = client.get("/static/web/crew-icon.png", headers=BR)
    assert resp.status_code == 200 and "Content-Encoding" not in resp.headers


def test_the_status_feed_still_answers_304_to_its_etag(app, client, world):
    app.config["OPS_STATUS_BUCKET_S"] = 3600  # the version is a time bucket: a 5 s one can turn between the two asks
    first = client.get("/api/v1/status.geojson", headers=world.headers("commander", **BR))
    assert first.headers["Content-Encoding"] == "br"
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and ":br" not in etag  # the feed's own weak ETag, as the feed checks it
    again = client.get("/api/v1/status.geojson", headers=world.headers("commander", **BR, **{"If-None-Match": etag}))
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize("url", ["/static/web/crew-forms.js", "/crew/sw.js"])
def test_files_keep_their_304(client, url):
    """A file's compressed answer names its encoding in its ETag, and asked with that ETag it is a 304
    (the phone checks its service worker on every visit)."""
    first = client.get(url, headers=BR)
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "br"
    again = client.get(url, headers={**BR, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_the_audit_export_is_compressed_as_a_stream(client, world):
    headers = world.headers("auditor", **BR)
    resp = client.get("/api/v1/audit/export?format=csv", headers=headers, buffered=False)
    assert resp.status_code == 200 and resp.is_streamed
    assert resp.headers["Content-Encoding"] == "br" and "Content-Length" not in resp.headers
    packed = b"".join(resp.response)
    resp.close()
    plain = client.get("/api/v1/audit/export?format=csv", headers=world.headers("auditor"))
    unpacked = brotli.decompress(packed)
    # The same rows (each export signs a checkpoint, which is an event of its own).
    header = b"seq,at,actor,action,entity,entity_id,payload,prev_hash,hash"
    assert unpacked.splitlines()[0] == plain.data.splitlines()[0] == header
    assert len(unpacked.splitlines()) > 10


def test_a_byte_range_is_never_compressed(client):
    resp = client.get("/static/web/crew-forms.js", headers={**BR, "Range": "bytes=0-99"})
    assert resp.status_code == 206 and "Content-Encoding" not in resp.headers and len(resp.data) == 100


def test_compression_can_be_off(db_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "COMPRESS_REGISTER": False})
    resp = app.test_client().get("/crew", headers=BR)
    assert resp.status_code == 200 and "Content-Encoding" not in resp.headers


def test_a_compressed_map_page_keeps_the_hashes_of_its_inline_scripts(client, world):
    """The page policy allows a map's inline scripts by their hashes, taken from the body before it is
    compressed (taken after, it named none and the browser ran no map script)."""
    headers = world.headers("commander")
    plain = client.get("/maps/status", headers=headers)
    packed = client.get("/maps/status", headers={**headers, **BR})
    assert packed.headers["Content-Encoding"] == "br"
    hashes = set(re.findall(r"'sha256-[^']+'", packed.headers["Content-Security-Policy"]))
    # folium names its elements at random: each render has its own scripts, so each its own hashes.
    expected = set(re.findall(r"'sha256-[^']+'", page_policy(brotli.decompress(packed.data), [])))
    assert len(expected) > 2 and hashes == expected
    assert "'sha256-" in plain.headers["Content-Security-Policy"]
