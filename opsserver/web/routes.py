"""Pages (the command-centre dashboard and the Folium maps) and the locally served front-end assets."""

import base64
import json
from pathlib import Path

from flask import (Blueprint, abort, current_app, redirect, render_template, request, send_from_directory, session,
                   url_for)
from flask_babel import gettext as _

import maps

from ..accounts import services as accounts
from ..errors import ProblemError
from ..i18n import current_lang, format_time, remember_language, select_locale
from ..reasons import code_label, flag_text
from ..reports import facts
from ..registry.basemap import base_layer_for
from ..serving.security import allow_inline_scripts
from ..alerts import services as alert_service
from ..alerts.schemas import KINDS
from ..status.feed import current_collection, feed_answer, geojson_body
from . import data
from .alerts import AckForm, acknowledge_page, alert_filters, alert_rows, kept_args
from .archive import vendor_file
from .assets import versioned_vendor_url
from .auth import PAGE_ROLES, CsrfForm, LoginForm, page_principal, page_roles_required, safe_next
from .nav import layout_context
from .overview import dashboard_query, dashboard_view
from .rounds import round_links, with_back_strip

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web")

# Only these npm packages are served, and only from node_modules.
VENDOR_PACKAGES = {
    "swagger-ui-dist",
    # the maps (maps/assets.py); a scoped package is served through its scope's folder
    "leaflet", "jquery", "bootstrap", "glyphicons-only-bootstrap", "@fortawesome", "leaflet.awesome-markers",
    "leaflet.markercluster", "leaflet-realtime", "leaflet-timedimension", "iso8601-js-period", "moment",
    "jquery-ui-dist",
    # the crew phone page: its IndexedDB queue (crew-queue.js) and the geodesic distance to the point (rules.js)
    "idb", "geographiclib-geodesic",
}
bp.before_app_request(remember_language)
HANDOVER_COOKIE = "crew_handover"
bp.app_context_processor(layout_context)  # every page's layout: the navigation bar, who, the language switch
bp.add_app_template_filter(format_time, "localtime")  # the one time format (opsserver.i18n)
bp.add_app_template_global(code_label, "code_label")  # a flag's or alert's code as words (opsserver.reasons)
bp.add_app_template_filter(flag_text, "flag_text")  # a stored flag's reason in the reader's language


def _map_options() -> dict:
    cfg = current_app.config
    return {"tiles": cfg["OPS_MAP_TILES"], "tiles_key": cfg.get("OPS_MAP_TILES_KEY"),
            "vendor_url": versioned_vendor_url(),  # /vendor/~<version>, cached for a year (web/assets.py)
            "lang": current_lang(), "tz": cfg["OPS_TIMEZONE"], "base_layer": base_layer_for(cfg["OPS_MAP_REGION"]),
            "zones": data.map_zones()}


def _html(m, links: list[tuple[str, str]]) -> str:
    allow_inline_scripts()  # folium writes the map's code inline; the page's CSP allows exactly that
    return with_back_strip(m.get_root().render(), links)  # a whole folium document: a way back into the site


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The session login for the command centre's pages."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            sid, _token, account = accounts.login(form.username.data, form.password.data, request.remote_addr,
                                                  kind="session")
        except ProblemError as err:
            error = _("Too many failed logins; try again later.") if err.status == 429 else \
                _("Unknown username or wrong password.")
        else:
            lang = select_locale()  # read before the old session is cleared
            session.clear()
            session["sid"] = sid  # the server-side session's id; only its hash is stored
            session["lang"] = lang
            if account.role == "crew":  # the crew's page is theirs, the command centre's are not
                return _crew_handover(account, sid)
            # Only a path on this site: an open redirect would hand the session to someone else's page.
            return redirect(safe_next(request.args.get("next")) or url_for("web.index"))
    return render_template("login.html", form=form, error=error), 401 if error else 200


def _crew_handover(account, sid: str):
    """To /crew, signed in there: the crew page talks to the API with a bearer token, not the session, so the
    session is exchanged for one, handed to the page in a cookie only /crew sees, for two minutes, which the
    page reads once and deletes (crew.js takeHandover)."""
    session.pop("sid", None)
    resp = redirect(url_for("web.crew_page"))
    handed = accounts.hand_over_to_phone(account, sid)
    if handed is None:  # the session ended in between: the crew page asks for the password
        return resp
    raw, token = handed
    ticket = json.dumps({"access_token": raw, "username": account.username, "role": account.role,
                         "expires_at": token.expires_at.isoformat()}).encode()
    resp.set_cookie(HANDOVER_COOKIE, base64.urlsafe_b64encode(ticket).decode().rstrip("="), max_age=120,
                    path=url_for("web.crew_page"), secure=current_app.config["SESSION_COOKIE_SECURE"],
                    httponly=False, samesite="Strict")
    return resp


@bp.post("/logout")
def logout():
    """End the session: its server-side record is revoked, so a copy of the cookie opens nothing."""
    if not CsrfForm().validate_on_submit():
        abort(400)
    who, sid = page_principal(), session.get("sid")
    if who is not None and isinstance(sid, str):
        accounts.logout(who, sid, kind="session")
    session.pop("sid", None)
    return redirect(url_for("web.login"))


@bp.get("/")
@page_roles_required(*PAGE_ROLES)
def index():
    """The command-centre dashboard: live map, the regions or a page of the points, alerts (web/overview.py)."""
    view = dashboard_view(dashboard_query(request.args))
    return render_template("dashboard.html", **view, who=page_principal(), logout_form=CsrfForm())


ALERTS_SHOWN = 300


@bp.get("/alerts")
@page_roles_required(*PAGE_ROLES)
def alerts_page():
    """The alerts the filters keep (active ones by default) with their point, severity, message and time, linked
    to their round where they have one; a commander acknowledges each with a note."""
    query = alert_filters(request.args)
    items = alert_service.select_alerts(query)
    # The first ALERTS_SHOWN rows (most severe and newest first); the counts say how many the filters keep.
    return render_template("alerts.html", rows=alert_rows(items[:ALERTS_SHOWN]), total=len(items),
                           counts=alert_service.counts(items), query=query,
                           ack_form=AckForm(), can_ack=page_principal().role == "commander", kinds=KINDS,
                           query_args=kept_args(request.args))


@bp.post("/alerts/<string:alert_id>/ack")
@page_roles_required("commander")
def alert_ack(alert_id: str):
    """Acknowledge an alert from the alerts page (the API's POST /alerts/{id}/ack), back to the page."""
    return acknowledge_page(alert_id)


@bp.get("/maps/status")
@page_roles_required(*PAGE_ROLES)
def status_map():
    """The live status map (of a region: ?province=, ?city=, ?county=); it polls /maps/status.geojson for what
    changed and updates markers in place."""
    place = _place(request.args)
    collection = current_collection(place)
    shown = {f["id"] for f in collection["features"]}
    crews = [c for c in data.crew_positions() if not place or c["point_code"] in shown]  # the region's crews
    m = maps.build_status_map(collection, crews,
                              realtime_url=url_for("web.status_geojson", **place), **_map_options())
    return _html(m, [(url_for("web.index"), _("Dashboard")), (url_for("rounds.index"), _("Rounds"))])


@bp.get("/maps/regions")
@page_roles_required(*PAGE_ROLES)
def regions_map():
    """The regions of the dashboard's view (?by=, and the region drilled into) as sized, coloured circles."""
    view = dashboard_view({**dashboard_query(request.args), "view": "regions"})
    options = {k: v for k, v in _map_options().items() if k != "zones"}
    m = maps.build_region_map(view["summary"]["regions"], **options)
    return _html(m, [(url_for("web.index", **view["place"]), _("Dashboard"))])


def _place(args) -> dict:
    """The region a map is of, from its query (the dashboard's region filters)."""
    return {k: v for k, v in dashboard_query(args).items() if k in ("province", "city", "county") and v}


@bp.get("/maps/status.geojson")
@page_roles_required(*PAGE_ROLES)
def status_geojson():
    """The status feed for the pages' own polling (session sign-in; same ETag and 304 as the API)."""
    return feed_answer(geojson_body, "application/geo+json")


@bp.get("/maps/alerts.json")
@page_roles_required(*PAGE_ROLES)
def alerts_json():
    """The alerts for the dashboard's own polling."""
    return {"items": alert_service.alert_views(alert_service.active_alerts())}


@bp.get("/maps/rounds/<int:round_id>")
@page_roles_required(*PAGE_ROLES)
def round_map(round_id: int):
    """What a round did: firings as arrows along their azimuths, flagged ones marked."""
    return _html(maps.build_round_map(facts.round_data(round_id), **_map_options()), round_links(round_id))


@bp.get("/maps/rounds/<int:round_id>/replay")
@page_roles_required(*PAGE_ROLES)
def replay_map(round_id: int):
    """The round's events on a time slider."""
    round_data = facts.round_data(round_id)
    return _html(maps.build_replay_map(round_data, facts.round_events(round_data), **_map_options()),
                 round_links(round_id))


@bp.get("/crew")
def crew_page():
    """The crew phone page: a shell with no data in it (the phone caches it to open with no signal);
    it signs in and talks to the API with a bearer token, queueing what it records."""
    return render_template("crew.html")


@bp.get("/crew/sw.js")
def crew_service_worker():
    """The crew page's service worker, served under /crew so that its scope is the crew page."""
    resp = send_from_directory(Path(bp.static_folder), "crew-sw.js", max_age=0)
    resp.headers["Service-Worker-Allowed"] = "/"
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/crew/manifest.webmanifest")
def crew_manifest():
    """The web app manifest, so a phone can add the crew page to its home screen."""
    resp = send_from_directory(Path(bp.static_folder), "crew.webmanifest", max_age=0)
    resp.mimetype = "application/manifest+json"
    return resp


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it on every page (the maps have no icon link of their own)."""
    return send_from_directory(Path(bp.static_folder), "crew-icon.png", mimetype="image/png", max_age=86400)


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    """Serve a file of an allowed npm package from the local node_modules."""
    if package not in VENDOR_PACKAGES:
        abort(404)
    node_modules = Path(current_app.config["OPS_VENDOR_DIR"])
    # send_from_directory refuses "..", not a link out: serve only what resolves inside the package
    # and inside node_modules.
    path = vendor_file(node_modules / package, filename)
    if path is None or vendor_file(node_modules, path) is None:
        abort(404)
    if (package, filename) in maps.assets.PATCHED_CSS:  # a fixed name: no path from the request is read
        return current_app.response_class(maps.assets.served_css(path.read_text(encoding="utf-8")),
                                          mimetype="text/css", headers={"Cache-Control": "public, max-age=86400"})
    return send_from_directory(path.parent, path.name, max_age=86400)
