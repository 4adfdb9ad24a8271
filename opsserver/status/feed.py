"""The live status feed as an HTTP answer: a weak ETag per version (304 when unchanged) and one build per
version, shared by the API's routes and the pages' own polling (web), so neither imports the other."""

import gc
from contextlib import contextmanager

import orjson
from flask import current_app, request

from ..database.utc import now_utc
from ..i18n import current_lang
from . import services

# The last body built per feed, keyed by its version: wall screens and maps poll the same feed every
# few seconds, so one build per version serves them all. A memo of database state, not state itself:
# every process builds the same body for the same version.
_built: dict[str, tuple[str, bytes]] = {}


@contextmanager
def gc_paused():
    """Hold off the cyclic garbage collector while building one big acyclic answer.

    Tens of thousands of new dicts set off collection after collection, each walking every live object:
    at 10,000 points that was 40% of the build. Refcounting still frees everything as usual.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def feed_answer(build, mimetype: str):
    """Answer 304 when the client's ETag is the current version; otherwise the body of this version."""
    at = now_utc()
    version = services.version(at, current_app.config["OPS_STATUS_BUCKET_S"])
    etag = f'W/"{version}"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        resp = current_app.response_class(status=304)
    else:
        # The flags' reasons are in the reader's language: one body per version and language.
        key = f"{mimetype}:{current_lang()}:{current_app.config['SQLALCHEMY_DATABASE_URI']}"
        cached = _built.get(key)
        if cached is None or cached[0] != version or not current_app.config["OPS_STATUS_MEMO"]:
            with gc_paused():
                # orjson: a tenth of the json module's time for the 6 MB of 10,000 points.
                body = orjson.dumps(build(at))
            _built[key] = cached = (version, body)
        resp = current_app.response_class(cached[1], mimetype=mimetype)
    resp.headers["ETag"] = etag
    resp.headers["Cache-Control"] = "no-cache"
    resp.vary.add("Accept-Language")  # the flags' reasons follow it on the API
    return resp


def geojson_body(at):
    """The feed as a GeoJSON FeatureCollection, one Feature per point."""
    return services.status_features(at)


def status_body(at):
    """The feed as plain JSON: each point's properties with its latitude and longitude."""
    collection = services.status_features(at)
    return {"generated_at": collection["generated_at"],
            "points": [{**f["properties"], "latitude": f["geometry"]["coordinates"][1],
                        "longitude": f["geometry"]["coordinates"][0]} for f in collection["features"]]}
