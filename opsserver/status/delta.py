"""The status feed's history in this process: each point's part of the last build, the version each point
last changed at and the points removed, so `?since=V` answers only what moved since V.

Versions come from the database (the audit head, services.audit_head, and a time bucket), so every app server
labels the same state alike; each process keeps only its own history, from the first version it built (its
`base`), and answers a delta only from a version it built itself: any other `since` (from before it
started, from another process, older than it remembers, not a version at all) gets the full answer, which
says so (`full: true`). The pre-builder (feed.py) builds every version it sees, so processes mostly share
their versions. Every build reads the version and the facts in one snapshot and is made for
an instant the version fixes (feed.build_time), so a version names one body on every server, and a change
first seen in the build of version W is missing from any state a client holds at a version V < W.
"""

import threading
from dataclasses import dataclass, field

import orjson

Version = tuple[int, int]
DERIVED_MAX = 256  # what pages derive from one build, at most
KEEP = 2000  # builds remembered: at one per 5-s bucket, nearly three hours of screens catching up


def parse_version(text: str | None) -> Version | None:
    """`"412.355221"` → (412, 355221); anything else (absent, malformed, negative) → None."""
    if not text or len(text) > 40:
        return None
    head, _, bucket = text.partition(".")
    if not (head.isdigit() and bucket.isdigit()):  # digits only: no signs, spaces or exponents
        return None
    return int(head), int(bucket)


def version_text(v: Version) -> str:
    return f"{v[0]}.{v[1]}"


@dataclass
class Build:
    """One build's items, serialised one by one, with each item's region (for the region filters), and the
    alerts computed with it (every alert, acknowledged or not; the dashboard's)."""

    version: Version
    generated_at: str
    parts: dict[str, bytes]
    regions: dict[str, tuple]
    alerts: list[dict] = field(default_factory=list)
    # What pages derive from this build (its features as data, summaries, active alerts), made once each:
    # a version names one state, and an acknowledgement, being a write, makes a new version.
    derived: dict = field(default_factory=dict)

    def derive(self, key, make):
        """`make()`, once per build and key (two threads may both make it: the same value). Past
        DERIVED_MAX keys (regions typed into a query) it is made and not kept."""
        if key in self.derived:
            return self.derived[key]
        value = make()
        if len(self.derived) < DERIVED_MAX:
            self.derived[key] = value
        return value


@dataclass
class History:
    """The builds of one feed (mimetype, language, database) in this process."""

    base: Version | None = None
    last: Build | None = None
    # (version, changed, removed, the earlier region of each point that left one or was removed)
    log: list[tuple[Version, set[str], set[str], dict[str, tuple]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    building: threading.Lock = field(default_factory=threading.Lock)  # held by whoever builds (feed.py)

    def add(self, build: Build) -> None:
        """Record a build: what differs from the last one is changed at its version."""
        with self.lock:
            last = self.last
            if last is not None and build.version <= last.version:
                return  # an older or the same version, built by a slower thread: nothing new
            if last is None:
                self.base = build.version
            else:
                changed = {c for c, b in build.parts.items() if last.parts.get(c) != b}
                removed = set(last.parts) - set(build.parts)
                left = {c: last.regions[c] for c in removed | changed
                        if c in last.regions and last.regions[c] != build.regions.get(c)}
                self.log.append((build.version, changed, removed, left))
                if len(self.log) > KEEP:
                    dropped = self.log.pop(0)
                    self.base = dropped[0]  # a client at the dropped version still gets what followed it
            self.last = build

    def since(self, v: Version, build: Build, wanted: dict | None = None) -> tuple[set[str], set[str]] | None:
        """The codes changed and removed after `v` up to `build` (one of this history's), or None when this
        history cannot tell (a full answer then). With `wanted` (a region): the changed ones in it, and as
        removed those gone from it (made inactive, or moved out) that were in it before.

        Only from a version this process built: of one it did not, it cannot know the body (a point may
        have changed at it and back since, which no build of its own shows)."""
        upto = build.version
        with self.lock:
            if v != self.base and not any(entry[0] == v for entry in self.log):
                return None
            if v > upto:
                return None
            changed: set[str] = set()
            removed: set[str] = set()
            left: dict[str, tuple] = {}
            for version, ch, rm, lf in reversed(self.log):
                if version <= v:
                    break
                if version <= upto:
                    changed |= ch
                    removed |= rm
                    left.update(lf)  # walking back: the earliest region it left wins
        changed &= build.parts.keys()
        removed -= build.parts.keys()
        if not wanted:
            return changed, removed
        inside = {c for c in changed if matches(build.regions[c], wanted)}
        # Gone from the region: removed, or now outside it; either way only if it was in it before.
        gone = {c for c in removed | (changed - inside) if c in left and matches(left[c], wanted)}
        return inside, gone


def split(body: dict, items_key: str, code_of) -> Build:
    """A built body (FeatureCollection or points list) into its items' parts."""
    parts, regions = {}, {}
    for item in body[items_key]:
        code = code_of(item)
        parts[code] = orjson.dumps(item)
        regions[code] = region_of(item)
    return Build((0, 0), body["generated_at"], parts, regions, body.get("_alerts") or [])


def region_of(item: dict) -> tuple:
    props = item.get("properties", item)
    return props.get("province"), props.get("city"), props.get("county")


def codes_in(build: Build, wanted: dict | None) -> list[str]:
    """The build's codes (in their order) of the points in the region `wanted` (every point when empty)."""
    return [c for c in build.parts if not wanted or matches(build.regions[c], wanted)]


def matches(region: tuple, wanted: dict) -> bool:
    """Whether a point's (province, city, county) is in the region the query asks for."""
    province, city, county = region
    return ((wanted.get("province") is None or province == wanted["province"])
            and (wanted.get("city") is None or city == wanted["city"])
            and (wanted.get("county") is None or county == wanted["county"]))


def answer(build: Build, head: dict, items_key: str, codes, removed, full: bool) -> bytes:
    """The body: `head` (type, generated_at), `version`, `full`, `removed` and the items named by `codes`."""
    top = orjson.dumps({**head, "generated_at": build.generated_at, "version": version_text(build.version),
                        "full": full, "removed": sorted(removed)})
    items = b",".join(build.parts[c] for c in codes)
    return top[:-1] + b',"' + items_key.encode() + b'":[' + items + b"]}"
