"""The live status feed as an HTTP answer, shared by the API's routes and the pages' own polling (web):
every answer carries its version (`version`, header X-Status-Version, weak ETag; 304 when unchanged);
`?since=V` answers only the points changed since V and the codes removed (delta.py), `?province=`,
`?city=`, `?county=` only a region's points. One build per version serves every screen."""

import gc
import logging
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone

import orjson
from flask import current_app, request

from ..database.snapshot import read_snapshot
from ..database.utc import now_utc
from ..extensions import db
from ..registry.models import REGION_FIELDS
from ..i18n import current_lang
from . import delta, services

log = logging.getLogger(__name__)
REGION_FILTERS = REGION_FIELDS
# Each feed: the key of its items, an item's code, the rest of its body.
FEEDS = {"application/geo+json": ("features", lambda f: f["id"], {"type": "FeatureCollection"}),
         "application/json": ("points", lambda p: p["code"], {})}


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


class Prebuilder(threading.Thread):
    """Builds the current version of each feed polled in the last IDLE_S seconds as soon as it exists (a write,
    or a new time bucket), so a poll finds it built: one thread per app and process, reading only."""

    INTERVAL_S, IDLE_S = 0.5, 60.0

    def __init__(self, app):
        super().__init__(daemon=True, name="status-prebuild")
        self.app, self.pid = app, os.getpid()
        self.wanted: dict[tuple[str, str], tuple] = {}  # (mimetype, lang) → (build, last asked, warm)
        self.failed_at = -60.0

    def want(self, build, mimetype: str, lang: str, warm=None) -> None:
        """Keep building this feed; `warm(build)`, after each build, makes what its pages derive from it."""
        old = self.wanted.get((mimetype, lang))
        self.wanted[(mimetype, lang)] = (build, time.monotonic(), warm or (old[2] if old else None))

    def run(self) -> None:
        while True:
            time.sleep(self.INTERVAL_S)
            for (mimetype, lang), (build, asked, warm) in list(self.wanted.items()):
                if time.monotonic() - asked > self.IDLE_S:
                    self.wanted.pop((mimetype, lang), None)
                    continue
                try:
                    # A request of that language, as the polls' own: the flags' reasons are in it.
                    with self.app.test_request_context("/", headers={"Accept-Language": lang}):
                        try:
                            made, _ = current_build(build, mimetype, ahead=True)
                            if warm is not None:
                                warm(made)
                        finally:
                            db.session.remove()
                except Exception:  # a database gone (a test's) or down: the polls build for themselves
                    if time.monotonic() - self.failed_at > 60:  # once a minute, not every half second
                        log.exception("status feed pre-build failed")
                        self.failed_at = time.monotonic()


_start = threading.Lock()


def _prebuilder(app) -> Prebuilder:
    with _start:
        pre = app.extensions.get("status_prebuild")
        if pre is None or pre.pid != os.getpid():  # none yet, or the parent's before a fork
            pre = app.extensions["status_prebuild"] = Prebuilder(app)
            pre.start()
    return pre


def _history(mimetype: str) -> delta.History:
    # Per app (two apps in one process are two servers), feed, language (the flags' reasons) and database.
    histories = current_app.extensions.setdefault("status_feed", {})
    key = (mimetype, current_lang(), current_app.config["SQLALCHEMY_DATABASE_URI"])
    return histories.setdefault(key, delta.History())


def current_build(build, mimetype: str, ahead: bool = False, warm=None,
                  at_least: delta.Version | None = None) -> tuple[delta.Build, delta.History | None]:
    """The build of the current version (made now if this process has none as new), and the history it is
    in (None with OPS_STATUS_MEMO off: every answer built afresh, and full).

    While another thread builds, the last build answers at once (its version says which it is), unless the
    caller holds a newer version (`at_least`, a poll's `since`): a screen never goes back. `ahead`: the
    pre-builder's call; `warm`: what the pre-builder is to derive from each new build for the caller's pages.
    """
    cfg = current_app.config
    items_key, code_of, _ = FEEDS[mimetype]
    memo = cfg["OPS_STATUS_MEMO"]
    history = _history(mimetype) if memo else None
    if memo and cfg["OPS_STATUS_PREBUILD"] and not ahead:
        _prebuilder(current_app._get_current_object()).want(build, mimetype, current_lang(), warm)
    lock = history.building if history is not None else None
    if lock is not None and not lock.acquire(blocking=False):
        last = history.last
        if last is not None and not ahead and (at_least is None or at_least <= last.version):
            return last, history
        lock.acquire()  # one build at a time per feed: wait for this one rather than do it again
    try:
        with read_snapshot():
            bucket_s = cfg["OPS_STATUS_BUCKET_S"]
            bucket = int(now_utc().timestamp()) // bucket_s
            head, head_at = services.audit_head()
            version = (head, bucket)
            last = history.last if history else None
            if last is not None and last.version >= version:
                return last, history  # this version, or a newer one a parallel request built
            at = build_time(bucket, bucket_s, head_at)
            with gc_paused():
                made = delta.split(build(at), items_key, code_of)
            made.version = version
            if history is not None:
                history.add(made)  # before the next waiter looks
        return made, history
    finally:
        if lock is not None:
            lock.release()


def build_time(bucket: int, bucket_s: int, head_at: datetime | None) -> datetime:
    """The instant a version's feed is made for: its bucket's start, or its last write if later (a round
    activated now is active in the feed of the version its activation made). Fixed by the version, so
    every server builds the same body for it; what time alone changes shows at the next bucket."""
    start = datetime.fromtimestamp(bucket * bucket_s, timezone.utc)
    return max(start, head_at) if head_at is not None else start


def feed_answer(build, mimetype: str):
    """The feed's answer: 304 when the client's ETag is the current version; a delta for a `since` this
    process can answer from; else the whole feed (of the region asked for)."""
    items_key, _, head = FEEDS[mimetype]
    since = delta.parse_version(request.args.get("since"))
    made, history = current_build(build, mimetype, at_least=since)
    etag = f'W/"{delta.version_text(made.version)}"'
    wanted = {k: request.args[k] for k in REGION_FILTERS if request.args.get(k)}
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        resp = current_app.response_class(status=304)
    else:
        changes = history.since(since, made, wanted) if since is not None and history is not None else None
        if changes is None:
            codes = delta.codes_in(made, wanted)
            body = delta.answer(made, head, items_key, codes, (), True)
        else:
            changed, removed = changes
            body = delta.answer(made, head, items_key, sorted(changed), removed, False)
        resp = current_app.response_class(body, mimetype=mimetype)
    resp.headers["ETag"] = etag
    resp.headers["X-Status-Version"] = delta.version_text(made.version)
    resp.headers["Cache-Control"] = "no-cache"
    resp.vary.add("Accept-Language")  # the flags' reasons follow it on the API
    return resp


def current_features(made: delta.Build, codes=None) -> list[dict]:
    """The build's features (of `codes`, in their order; all by default) as data, read once per build.
    Readers copy, never change, them."""
    features = made.derive("features", lambda: {c: orjson.loads(b) for c, b in made.parts.items()})
    return list(features.values()) if codes is None else [features[c] for c in codes]


def current_collection(place: dict | None = None) -> dict:
    """The current GeoJSON feed (of the region `place`: province, city, county) as data, with its `version`
    (a live map's first data: its first poll asks only for what changed since)."""
    items_key, _, head = FEEDS["application/geo+json"]
    made, _ = current_build(geojson_body, "application/geo+json")
    codes = delta.codes_in(made, place)
    return orjson.loads(delta.answer(made, head, items_key, codes, (), True))


def geojson_body(at):
    """The feed as a GeoJSON FeatureCollection, one Feature per point (and, apart from the answer, the alerts
    computed with it: `_alerts`)."""
    alerts: list[dict] = []
    collection = services.status_features(at, alerts_out=alerts)
    return {**collection, "_alerts": alerts}


def status_body(at):
    """The feed as plain JSON: each point's properties with its latitude and longitude."""
    collection = services.status_features(at)
    return {"generated_at": collection["generated_at"],
            "points": [{**f["properties"], "latitude": f["geometry"]["coordinates"][1],
                        "longitude": f["geometry"]["coordinates"][0]} for f in collection["features"]]}
