"""Every human text in the reader's language (SPEC, Languages), over every page and document.

On the drilled demo, a commander, an auditor and an admin each walk the site from `/` as a browser would
(the page session; same-site links, frames and GET forms), and the documents are fetched as well: the
round report (HTML, CSV), the activity logs, the daily log, the season summary and the alerts' messages.

In Chinese, the visible text (tags, scripts and styles stripped; attributes people read kept) must hold
no English word and no raw code; in English, no Chinese. What may stay, and why, is listed below; text
that people typed (names, places, notes, references) is data and is taken from the database itself.
Times shown to people are in the one format (`2026-07-18 21:05 +08:00`): an ISO 8601 time in visible
text fails in both languages.
"""

import csv
import io
import re
from collections import defaultdict
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from opsserver.accounts.models import Account
from opsserver.announcements.models import Announcement
from opsserver.ammo.models import AmmoType, LedgerEntry
from opsserver.audit.models import AuditEvent
from opsserver.extensions import db
from opsserver.operations.models import AirspaceRequest, FiringReport, Round, RoundPoint
from opsserver.registry.models import CrewMember, Point
from opsserver.zones.models import NoFireZone

from .helpers.pages import sign_in

PASSWORDS = {"admin": "admin-demo-pass", "commander": "commander-demo-pass", "auditor": "auditor-demo-pass"}
ROLES = tuple(PASSWORDS)

# Allowed in Chinese text, each with its reason.
ALLOWED_ZH = [
    (r"\b[A-Z]{2}\d{2,}\b", "point codes (LH01): codes people use on the radio"),
    (r"\bATC-[A-Z0-9-]+\b", "the air-traffic control's reference of an approval, as ATC writes it"),
    (r"(?<![A-Za-z])(km|m|g|kg|s)(?![A-Za-z])", "SI units"),
    (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{8,}\b",
     "ids and hashes (report ids, the audit chain's hashes)"),
    (r"\bICS[ -]?214\b", "the ICS 214 form the activity log follows, cited by its name"),
    (r"\bNOAA\b|\b17-4A\b|\bCFR\b", "the NOAA form and rule the records mirror, cited by name"),
    (r"(?i)\b(CSV|JSONL|JSON|GeoJSON|CAP|PDF|XML|UTC|Ed25519|SHA-256|API)\b",
     "file formats, standards and algorithms, written as everyone writes them"),
    (r"\bAgI\b", "silver iodide's chemical formula, the seeding agent"),
    (r"\bAsia/Shanghai\b", "the configured time zone's IANA name"),
]
ALLOWED_EN = [
    (r"°", "degrees"),
]
WORD = re.compile(r"[A-Za-z]{2,}")
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")  # a raw code: outside_sector, stood_down
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
HAN = re.compile(r"[\u3400-\u9fff]")
# Not shown (scripts, styles, an SVG's metadata), or shown as code on purpose (code, pre, samp, kbd, and any
# element marked translate="no", HTML's own "do not translate this").
SKIP_TAGS = {"script", "style", "template", "noscript", "metadata", "code", "pre", "samp", "kbd"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
        "wbr"}
SHOWN_ATTRS = ("title", "alt", "placeholder", "aria-label")
# Not pages for people: sign-out (a POST), assets, the crew's phone page (its own tests), the API's reference
# (Swagger UI, English by design), probes; and the audit log's exports, which are the hash-chained record itself
# (UTC times and stored payloads, verified byte for byte against the chain), not a text written for reading.
NOT_WALKED = ("/logout", "/static/", "/vendor/", "/crew", "/api/docs", "/api/openapi.json", "/favicon.ico",
              "/healthz", "/readyz", "/audit/export")  # the audit exports: the API's bytes (UTC, codes)
MACHINE_TYPES = ("application/json", "application/geo+json", "application/x-ndjson", "application/jsonl",
                 "application/xml", "application/cap+xml", "application/octet-stream", "image/")
PER_PATTERN = 2  # pages of one shape (a round's 18 activity logs) are the same template: two of each suffice
# CSV columns that hold codes or machine times by design (the CSVs' column names stay codes too).
CODE_COLUMNS = {"section", "kind", "state", "flags", "ammo", "point_code", "date", "month"}


class Visible(HTMLParser):
    """The text a person sees on a page, and the page's same-site links (a, iframe, GET forms)."""

    def __init__(self, lang: str):
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []
        self.links: list[str] = []

    def _hidden(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "iframe" and a.get("src"):
            self.links.append(a["src"])
        if tag == "form" and (a.get("method") or "get").lower() == "get" and a.get("action"):
            self.links.append(a["action"])
        other_lang = a.get("lang") and not a["lang"].startswith(self.lang)  # the other language's switch link
        skip = tag in SKIP_TAGS or a.get("translate") == "no" or bool(other_lang)
        if not skip and not self._hidden():
            self.texts += [a[k] for k in SHOWN_ATTRS if a.get(k)]
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.texts.append(a["value"])
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if not self._hidden() and data.strip():
            self.texts.append(data)


def _typed_data(app) -> list[str]:
    """What people (and the demo's scripted people) typed: names, places, notes, references, usernames."""
    columns = [AuditEvent.actor, LedgerEntry.actor, LedgerEntry.reason, Round.name, Round.notes, Round.created_by,
               RoundPoint.declined_reason, RoundPoint.stood_down_reason,
               AirspaceRequest.reference, AirspaceRequest.reason_detail, AirspaceRequest.requested_by,
               AirspaceRequest.decided_by, FiringReport.cloud_type, FiringReport.weather_before,
               FiringReport.weather_after, FiringReport.notes, Point.name, Point.county, CrewMember.name,
               CrewMember.certificate_no, Account.username, AmmoType.code, AmmoType.name, AmmoType.agent,
               NoFireZone.name, NoFireZone.notes, Point.township, Announcement.purpose, Announcement.issuer,
               Announcement.contact_unit, Announcement.contact_person, Announcement.notes, Announcement.created_by,
               Announcement.published_by]
    with app.app_context():
        values = {v for col in columns for v in db.session.execute(select(col)).scalars() if v}
        # references people typed; a consumption entry's "report <id>" is written by the server, so it is not data
        values |= {v for v in db.session.execute(select(LedgerEntry.reference)).scalars()
                   if v and not v.startswith("report ")}
    return sorted(values, key=len, reverse=True)  # longest first: a name inside a longer note goes with it


def _problems(text: str, lang: str, typed: list[str]) -> list[str]:
    """English words or raw codes in Chinese text, Chinese in English text, and ISO times in either."""
    found = [f"ISO time {m.group(0)!r}" for m in ISO_TIME.finditer(text)]
    for value in typed:
        text = text.replace(value, " ")
    if lang == "zh":
        for pattern, _why in ALLOWED_ZH:
            text = re.sub(pattern, " ", text)
        found += [f"raw code {m.group(0)!r}" for m in CODE.finditer(text)]
        found += [f"English {m.group(0)!r}" for m in WORD.finditer(CODE.sub(" ", text))]
    else:
        found += [f"raw code {m.group(0)!r}" for m in CODE.finditer(text)]
        found += [f"Chinese {m.group(0)!r}" for m in HAN.finditer(text)]
    return found


def _context(text: str, problem: str) -> str:
    needle = problem.split("'")[1] if "'" in problem else problem
    i = text.find(needle)
    return text[max(0, i - 40):i + len(needle) + 40].replace("\n", " ") if i >= 0 else ""


def _page_problems(html: str, lang: str, typed: list[str]) -> tuple[list[str], list[str]]:
    parser = Visible(lang)
    parser.feed(html)
    text = " | ".join(t.strip() for t in parser.texts)
    return [f"{p}  …{_context(text, p)}…" for p in dict.fromkeys(_problems(text, lang, typed))], parser.links


def _csv_problems(body: str, lang: str, typed: list[str]) -> list[str]:
    rows = list(csv.reader(io.StringIO(body)))
    if not rows:
        return []
    header = rows[0]
    cells = [cell for row in rows[1:] for name, cell in zip(header, row)
             if name not in CODE_COLUMNS and not name.endswith("_utc") and not name.startswith(("days_", "agent_"))]
    return list(dict.fromkeys(_problems(" | ".join(cells), lang, typed)))


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", re.sub(r"/LH\d+", "/LH*", path))


def _same_site(base_path: str, href: str) -> str | None:
    if href.startswith(("#", "javascript:", "mailto:", "data:")):
        return None
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    path = parts.path if parts.path.startswith("/") else base_path.rsplit("/", 1)[0] + "/" + parts.path
    if path.startswith(NOT_WALKED) or "lang=" in parts.query:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def walk(client, lang: str, typed: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Every page reachable from `/` by following same-site links; the problems per URL and the URLs seen."""
    problems: dict[str, list[str]] = {}
    seen, shapes = set(), defaultdict(int)
    queue = ["/"]
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url, follow_redirects=True)
        if resp.status_code != 200:
            problems[url] = [f"status {resp.status_code}"]
            continue
        body = resp.get_data(as_text=True)
        if resp.mimetype == "text/csv":
            found = _csv_problems(body, lang, typed)
        elif resp.mimetype == "text/html":
            found, links = _page_problems(body, lang, typed)
            for href in links:
                nxt = _same_site(urlsplit(url).path, href)
                if nxt and nxt not in seen and shapes[_shape(nxt)] < PER_PATTERN:
                    shapes[_shape(nxt)] += 1
                    queue.append(nxt)
        else:
            assert resp.mimetype.startswith(MACHINE_TYPES), (url, resp.mimetype)
            found = []
        if found:
            problems[url] = found
    return problems, sorted(seen)


@pytest.fixture
def drilled(app, runner, client):
    """The Luohe demo after `ops drill`; what its people typed."""
    assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
    result = runner.invoke(args=["ops", "drill"])
    assert result.exit_code == 0, result.output
    return _typed_data(app)


def _report(problems: dict[str, list[str]]) -> str:
    return "\n".join(f"{url}:\n  " + "\n  ".join(found[:12]) + (f"\n  … {len(found) - 12} more" if len(found) > 12
                                                                 else "") for url, found in problems.items())


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("who", ROLES)
def test_every_page_in_the_readers_language(app, drilled, who, lang):
    """Signed in at /login in that language, every page reached by links from / reads in it alone."""
    client = app.test_client()
    client.get(f"/login?lang={lang}")
    assert sign_in(client, who, PASSWORDS[who]).status_code == 302
    problems, seen = walk(client, lang, drilled)
    assert not problems, f"{who}, {lang}: text not in the reader's language\n" + _report(problems)
    assert len(seen) >= 8, seen  # the walk reached the site, not only the dashboard


DOCUMENTS = ["/api/v1/rounds/1/report?format=html", "/api/v1/rounds/1/report?format=csv",
             "/api/v1/rounds/1/points/LH01/activity-log?format=html",
             "/api/v1/rounds/1/points/LH09/activity-log?format=csv",
             "/api/v1/records/daily-log?format=csv", "/api/v1/records/season-summary?format=csv"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_documents_and_alerts_in_the_readers_language(app, client, drilled, lang):
    """The documents and the alerts' messages follow Accept-Language (Chinese when it is absent)."""
    token = client.post("/api/v1/auth/token", json={"username": "auditor", "password": PASSWORDS["auditor"]})
    headers = {"Authorization": f"Bearer {token.json['access_token']}"}
    if lang == "en":
        headers["Accept-Language"] = "en-GB,en;q=0.9"
    problems = {}
    for url in DOCUMENTS:
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, (url, resp.status_code)
        body = resp.get_data(as_text=True)
        found = _csv_problems(body, lang, drilled) if resp.mimetype == "text/csv" else \
            _page_problems(body, lang, drilled)[0]
        if found:
            problems[url] = found
    alerts = client.get("/api/v1/alerts", headers=headers).json["items"]
    assert alerts, "the drill leaves alerts"
    found = [p for a in alerts for p in _problems(a["message"], lang, drilled)]
    if found:
        problems["/api/v1/alerts"] = found
    assert not problems, f"{lang}: text not in the reader's language\n" + _report(problems)


def test_lang_parameter_chooses_the_documents_language(client, drilled):
    """`?lang=en` on a document (422 before) overrides Accept-Language; `lang` is in the OpenAPI document."""
    token = client.post("/api/v1/auth/token", json={"username": "auditor", "password": PASSWORDS["auditor"]})
    headers = {"Authorization": f"Bearer {token.json['access_token']}", "Accept-Language": "zh-CN"}
    problems = {}
    for url in DOCUMENTS:
        resp = client.get(url + "&lang=en", headers=headers)
        assert resp.status_code == 200, (url, resp.status_code)
        body = resp.get_data(as_text=True)
        found = _csv_problems(body, "en", drilled) if resp.mimetype == "text/csv" else \
            _page_problems(body, "en", drilled)[0]
        if found:
            problems[url] = found
    assert not problems, _report(problems)
    assert client.get(DOCUMENTS[0] + "&lang=fr", headers=headers).status_code == 422
    spec = client.get("/api/openapi.json").json
    for path in ("/api/v1/rounds/{round_id}/report", "/api/v1/rounds/{round_id}/points/{code}/activity-log",
                 "/api/v1/records/daily-log", "/api/v1/records/season-summary"):
        params = spec["paths"][path]["get"]["parameters"]
        assert any(p["name"] == "lang" and p["in"] == "query" for p in params), path


def test_english_chosen_at_login_survives_sign_in(app, drilled):
    """`?lang=en` on /login is kept through the sign-in (the session is renewed then), a failed one too."""
    client = app.test_client()
    client.get("/login?lang=en")
    with client.session_transaction() as s:
        assert s["lang"] == "en"
    failed = sign_in(client, "commander", "wrong-password")
    assert failed.status_code == 401 and '<html lang="en"' in failed.get_data(as_text=True)
    assert sign_in(client, "commander", PASSWORDS["commander"]).status_code == 302
    with client.session_transaction() as s:
        assert s["lang"] == "en" and s.get("sid")
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en"' in page and "Alerts" in page and "告警" not in page


def test_api_language_follows_accept_language(client, drilled):
    """The API: Accept-Language picks zh or en (best match, region tags too); absent or unknown, Chinese."""
    token = client.post("/api/v1/auth/token", json={"username": "auditor", "password": PASSWORDS["auditor"]})
    auth = {"Authorization": f"Bearer {token.json['access_token']}"}

    def messages(lang_header):
        headers = dict(auth, **({"Accept-Language": lang_header} if lang_header else {}))
        return " ".join(a["message"] for a in client.get("/api/v1/alerts", headers=headers).json["items"])

    assert HAN.search(messages(None)) and HAN.search(messages("fr-FR, de;q=0.5"))
    assert not HAN.search(re.sub("|".join(map(re.escape, drilled)), "", messages("en-US,en;q=0.9,zh;q=0.1")))
    assert HAN.search(messages("zh-CN,zh;q=0.9,en;q=0.1"))
