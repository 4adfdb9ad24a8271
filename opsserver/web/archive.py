"""A round's map and replay as one self-contained HTML file for the audit record.

The file opens on the round's map, then tells what happened (points, firing reports, airspace, the no-fire
zones the maps draw) in the language chosen, then the replay; the round's data rides along for machines in
a JSON element that is not shown. The maps load their scripts, stylesheets and fonts from /vendor (npm packages in
node_modules); an archive must open years later with no server and no internet, so every such file is
inlined: scripts and stylesheets as elements, the fonts and images a stylesheet refers to as data: URIs.
"""

import base64
import mimetypes
import re
from html.parser import HTMLParser
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

import maps
from maps.labels import labels_for
from maps.zones import zones_near

from ..database.utc import now_utc
from ..registry.basemap import base_layer_for
from ..reports import facts
from .data import map_zones

_VENDOR = "/vendor/"
_CSS_URL = re.compile(r"url\(\s*['\"]?(?!data:|https?:|#|//)([^'\")?#]+)([?#][^'\")]*)?['\"]?\s*\)")
_VENDOR_URL = re.compile(r"url\(\s*['\"]?/vendor/([^'\")?#]+)([?#][^'\")]*)?['\"]?\s*\)")
# A protocol-relative URL would reach for a CDN when the archive is opened: point it at nothing.
_REMOTE_URL = re.compile(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)")


def vendor_file(node_modules: Path, relative: str | Path) -> Path | None:
    """The file ``relative`` names under ``node_modules``, resolved; ``None`` when there is no such file or
    its resolved path (links followed) lies outside node_modules."""
    root = Path(node_modules).resolve()
    try:
        path = (root / relative).resolve()
        return path if path.is_relative_to(root) and path.is_file() else None
    except (OSError, ValueError):  # a NUL byte, a name too long
        return None


def _data_uri(node_modules: Path, relative: str | Path) -> str:
    """A vendor file as a CSS ``url(data:...)``; ``url(data:,)`` (nothing) for a path outside node_modules."""
    path = vendor_file(node_modules, relative)
    if path is None:
        return "url(data:,)"
    kind = "font/woff2" if path.suffix == ".woff2" else mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"url(data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()})"


def _css_with_data_uris(css: str, css_path: Path, node_modules: Path) -> str:
    def replace(match: re.Match) -> str:
        return _data_uri(node_modules, css_path.parent.relative_to(node_modules) / match.group(1))

    return _REMOTE_URL.sub("url(data:,)", _CSS_URL.sub(replace, css))


class _AssetTags(HTMLParser):
    """Finds, by position in the page, the /vendor scripts and stylesheets and the <style> elements.

    An HTML parser, not a pattern over the page: the page's data element and text hold words people
    typed (an ATC reference may read ``url(/vendor/...)``), and those must stay text.
    """

    def __init__(self, page: str):
        super().__init__(convert_charrefs=False)
        self.page = page
        self.lines = [0] + [m.end() for m in re.finditer("\n", page)]
        self.found: list[tuple[int, int, str, str]] = []  # (start, end, kind, vendor path or "")
        self._open: tuple[int, str, str] | None = None  # a <script src> or <style> waiting for its end tag

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start, values = self._offset(), {name: value or "" for name, value in attrs}
        end = start + len(self.get_starttag_text() or "")
        if tag == "script" and values.get("src", "").startswith(_VENDOR):
            self._open = (start, "script", values["src"][len(_VENDOR):])
        elif tag == "style":
            self._open = (end, "style", "")
        elif (tag == "link" and "stylesheet" in values.get("rel", "").split()
              and values.get("href", "").startswith(_VENDOR)):
            self.found.append((start, end, "link", values["href"][len(_VENDOR):]))

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or tag != self._open[1]:
            return
        start, kind, path = self._open
        here = self._offset()
        end = self.page.index(">", here) + 1 if kind == "script" else here
        self.found.append((start, end, kind, path))
        self._open = None


def inline_assets(page: str, node_modules: Path) -> str:
    """Replace every /vendor script and stylesheet of a page by its content, and the /vendor fonts its
    <style> elements name by data: URIs. A url() that leaves node_modules inlines nothing; a script or
    stylesheet that does raises FileNotFoundError."""
    node_modules = Path(node_modules).resolve()
    parser = _AssetTags(page)
    parser.feed(page)
    parser.close()
    parts, done = [], 0
    for start, end, kind, relative in parser.found:
        parts.append(page[done:start])
        if kind == "style":
            parts.append(_VENDOR_URL.sub(lambda m: _data_uri(node_modules, m.group(1)), page[start:end]))
        elif (path := vendor_file(node_modules, relative)) is None:
            # The maps' own tags only (text cannot make a tag): an archive without them would not draw.
            raise FileNotFoundError(f"/vendor/{relative} is not a file under {node_modules} (run npm ci)")
        elif kind == "script":
            parts.append("<script>" + path.read_text(encoding="utf-8").replace("</script", "<\\/script") + "</script>")
        else:
            css = _css_with_data_uris(path.read_text(encoding="utf-8"), path, node_modules)
            parts.append("<style>" + css.replace("</style", "<\\/style") + "</style>")
        done = end
    parts.append(page[done:])
    return "".join(parts)


def round_archive(round_id: int, lang: str) -> str:
    """The round's archive file in `lang` (zh or en): self-contained, opening on the round's map."""
    cfg = current_app.config
    node_modules = Path(cfg["OPS_VENDOR_DIR"])
    with force_locale(lang):  # the reasons, labels and times the round's data and the page carry
        data = facts.round_data(round_id)
        # No tiles: the region's outlines and names (the offline base layer) are drawn from the file itself.
        # The zones as they stand now (their labels in `lang`); each map draws those in reach of the round's points.
        zones = map_zones()
        options = {"tiles": "none", "lang": lang, "tz": cfg["OPS_TIMEZONE"],
                   "base_layer": base_layer_for(cfg["OPS_MAP_REGION"]), "zones": zones}
        map_page, replay_page = (inline_assets(m.get_root().render(), node_modules) for m in (
            maps.build_round_map(data, **options), maps.build_replay_map(data, facts.round_events(data), **options)))
        reports_by_point: dict[str, list] = {}
        flags_by_point: dict[str, list] = {}
        for r in data["reports"]:
            reports_by_point.setdefault(r["point_code"], []).append(r)
            codes = flags_by_point.setdefault(r["point_code"], [])
            codes += [f["code"] for f in r["flags"] if f["code"] not in codes]
        title = _("Round %(id)s: %(name)s", id=round_id, name=data["round"]["name"])
        return current_app.jinja_env.get_template("archive.html").render(
            title=title, lang=lang, round=data["round"], points=data["points"], reports=data["reports"],
            airspace=data["airspace"], reports_by_point=reports_by_point, flags_by_point=flags_by_point,
            words=labels_for(lang), map_page=map_page, replay_page=replay_page, data=data, generated_at=now_utc(),
            zones=[z["properties"] for z in zones_near(zones, data["points"])])
