/*
 * The status map's helpers (maps/status.py): marker style, THE point popup, cluster icon, feed source.
 * Called with the map's settings ({colours, urgency, words, tz, radius, pane, codes}); answers the helpers.
 *
 * This is the one place a point's popup is built, for every status map (static, live, at scale) and
 * from every source (the data the page was built from, each poll of the feed): from the feature's
 * properties, every value escaped, then shown through OpsMap.html (maps/js/opsmap.js), which parses
 * it inertly and rebuilds it from an allow-list like every other popup. Rules are not decided here:
 * "below minimum" is the feed's own below_min_crew (the rules package's verdict).
 */
(function (C) {
    "use strict";
    var COLOURS = C.colours, URGENCY = C.urgency, W = C.words, TZ = C.tz, RADIUS = C.radius, PANE = C.pane;
    var ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;", "`": "&#96;"};
    function hex(c) { return COLOURS[c] || c || COLOURS.grey; }
    function esc(v) {
        return String(v == null ? "" : v).replace(/[&<>"'`]/g, function (ch) { return ESCAPES[ch]; });
    }
    /* "2025-07-01 21:40 +08:00" (or "21:40 +08:00"), escaped: OpsBase.time in the map's zone. */
    function time(iso, withDate) {
        if (!iso) { return ""; }
        return esc(OpsBase.time(iso, TZ, withDate) || iso);
    }
    /* The time left until endIso, counted when the popup opens ("1 h 05 min", "12 min"; null once ended). */
    function left(endIso) {
        var s = Math.round((new Date(endIso).getTime() - Date.now()) / 1000);
        if (!(s > 0)) { return null; }
        var m = Math.ceil(s / 60), h = Math.floor(m / 60);
        m = m % 60;
        return h ? h + " h " + (m < 10 ? "0" : "") + m + " " + W.min : m + " " + W.min;
    }
    function featureId(f) { return f.id != null ? f.id : (f.properties || {}).code; }
    function style(f) {
        var p = f.properties || {};
        return {radius: RADIUS, color: "#222", weight: 1.5, opacity: 1, fillColor: hex(p.colour), fillOpacity: 0.9};
    }
    /* A state dot, in its own pane above the crews' dots (maps/base.py PANES). */
    function pointToLayer(f, latlng) {
        var options = style(f);
        if (PANE) { options.pane = PANE; }
        return L.circleMarker(latlng, options);
    }
    function row(k, v) {
        return "<tr><th style=\"padding-right:8px;vertical-align:top;white-space:nowrap\">" + esc(k) +
               "</th><td>" + v + "</td></tr>";
    }
    function warn(text) { return "<span style=\"color:" + esc(COLOURS.red) + "\">" + esc(text) + "</span>"; }
    function crewRow(p) {
        var crew = "<b>" + esc(p.crew_on_site || 0) + "</b>";
        if (p.min_crew != null) {
            crew += " / " + esc(p.min_crew) + " (" + esc(W.minimum) + ")";
            if (p.below_min_crew) { crew += " " + warn(W.below_minimum); }
        }
        var names = (p.crew || []).map(function (c) { return c.name; }).filter(Boolean);
        if (names.length) { crew += "<br><small>" + esc(names.join(", ")) + "</small>"; }
        return row(W.crew_on_site, crew);
    }
    function windowRow(win) {
        if (!win) { return row(W.window, esc(W.no_window)); }
        var t = time(win.start) + " &ndash; " + time(win.end);
        if (win.reference) { t += ", " + esc(W.reference) + " " + esc(win.reference); }
        var rest = left(win.end);
        t += "<br>" + esc(W.ends) + " " + time(win.end, false) + ", " +
             (rest === null ? "<b>" + esc(W.ended) + "</b>" : "<b>" + esc(rest) + "</b> " + esc(W.left));
        return row(W.window, t);
    }
    function checkinRow(p) {
        var last = p.last_checkin;
        if (!last) { return ""; }
        var who = (p.crew || []).filter(function (c) { return c.crew_id === last.crew_id; }).map(function (c) {
            return c.name; })[0] || "#" + last.crew_id;
        var fence = last.within_geofence == null ? "" :
            last.within_geofence ? ", " + esc(W.inside_geofence) : ", " + warn(W.outside_geofence);
        return row(W.last_checkin, esc(who) + " " + esc(W["kind_" + last.kind] || last.kind || "") + " " +
                   time(last.recorded_at) + fence);
    }
    /* The popup's HTML for feature f: name, state, equipment, crew on site vs minimum, stock, round,
       window and its time left, last check-in, flags, alerts (every value escaped). The sector is the
       wedge's own (drawn, with its tooltip). */
    function popup(f) {
        var p = f.properties || {}, rows = "", state = p.state || "idle";
        rows += row(W.state, "<span style=\"color:" + esc(hex(p.colour)) + "\">&#9679;</span> " +
                    esc(W["state_" + state] || state));
        if (p.equipment) {
            rows += row(W.equipment, esc(W["equipment_" + p.equipment] || p.equipment) +
                        (p.launchers ? " &times; " + esc(p.launchers) + " " + esc(W.launchers) : ""));
        }
        rows += crewRow(p);
        var stock = p.stock || {}, keys = Object.keys(stock).sort();
        rows += row(W.stock, keys.length ? keys.map(function (k) {
            return esc(k) + ": <b>" + esc(stock[k]) + "</b>"; }).join(", ") : esc(W.none));
        if (p.round) { rows += row(W.round, esc(p.round.name || p.round.id)); }
        rows += windowRow(p.open_window) + checkinRow(p);
        var flags = p.flags || [];
        if (flags.length) {
            rows += row(W.flags, "<ul style=\"margin:0;padding-left:1.1em;color:" + esc(COLOURS.purple) + "\">" +
                flags.map(function (x) { return "<li><b>" + esc(x.label || x.code) + "</b>: " + esc(x.reason) + "</li>"; })
                    .join("") + "</ul>");
        }
        var alerts = p.alerts || [];
        if (alerts.length) {
            rows += row(W.alerts, alerts.map(function (a) {
                return esc(W["alert_" + a.type] || a.type) + " (" + esc(W["severity_" + a.severity] || a.severity) +
                    ")"; }).join(", "));
        }
        var title = "<b>" + esc(featureId(f)) + " " + esc(p.name) + "</b>";
        if (p.county) { title += " <small>" + esc(p.county) + "</small>"; }
        return "<div class=\"ops-popup\">" + title + "<table style=\"margin-top:4px\">" + rows + "</table></div>";
    }
    function bind(f, layer) {
        // Functions, not strings: the content is built from the feature as it is when it opens.
        layer.bindPopup(function (l) { return OpsMap.html(popup(l.feature || f)); }, {maxWidth: 360});
        if (C.codes) {
            // The code always shown beside the dot (the name is the popup's title).
            layer.bindTooltip(document.createTextNode(String(featureId(f))),
                              {permanent: true, direction: "right", offset: [RADIUS, 0], className: "ops-code"});
            return;
        }
        layer.bindTooltip(function (l) {
            var g = l.feature || f;
            return document.createTextNode(featureId(g) + " " + ((g.properties || {}).name || ""));
        });
    }
    function update(f, old) {
        if (!old) { return; }
        var c = f.geometry.coordinates;
        old.setLatLng(L.latLng(c[1], c[0]));
        old.feature = f;
        if (old.setStyle) { old.setStyle(style(f)); }
        return old;
    }
    function clusterIcon(cluster) {
        var worst = "grey";
        cluster.getAllChildMarkers().forEach(function (m) {
            var c = m.feature && m.feature.properties && m.feature.properties.colour;
            if (c && (URGENCY[c] || 0) > (URGENCY[worst] || 0)) { worst = c; }
        });
        var div = document.createElement("div"), span = document.createElement("span");
        div.style.background = hex(worst);
        span.textContent = String(cluster.getChildCount());
        div.appendChild(span);
        return L.divIcon({html: div, className: "marker-cluster ops-cluster", iconSize: L.point(40, 40)});
    }
    var Batch = null;
    function batchClass() {
        return L.Layer.extend({
            // Stands between the live layer and a marker cluster: the live layer adds markers one by one,
            // and the cluster takes them in far faster as one addLayers call.
            initialize: function (target) { this._target = target; this._pending = []; },
            onAdd: function () {},
            onRemove: function () {},
            addLayer: function (layer) {
                this._pending.push(layer);
                if (!this._timer) { this._timer = setTimeout(L.bind(this._flush, this), 0); }
                return this;
            },
            removeLayer: function (layer) {
                var i = this._pending.indexOf(layer);
                if (i >= 0) { this._pending.splice(i, 1); } else { this._target.removeLayer(layer); }
                return this;
            },
            hasLayer: function (layer) { return this._pending.indexOf(layer) >= 0 || this._target.hasLayer(layer); },
            getBounds: function () { return this._target.getBounds(); },
            _flush: function () {
                var layers = this._pending;
                this._timer = null;
                this._pending = [];
                this._target.addLayers(layers);
            }
        });
    }
    function batched(cluster) {
        Batch = Batch || batchClass();  // defined on first use, when Leaflet is surely loaded
        return new Batch(cluster);
    }
    var current = null;  // the live source, told its layer by attach()
    function source(url, initialKey) {
        // The first call answers with the data the page was built from (the page data entry initialKey,
        // see OpsMap.data) and its version; later calls ask the feed for what changed since the version
        // held (?since=V: the changed points and the codes removed, or the whole feed with full: true),
        // with the last ETag (If-None-Match), so an unchanged feed is an empty 304 and nothing is redrawn.
        // Done by hand: browsers do not all revalidate fetches the same way.
        // One request at a time, its answer handed to the latest poll: Leaflet Realtime drops the answer
        // to any poll but its latest, so polls overtaking a slow feed would drop every answer, and the
        // ETag kept from a dropped one would make each later answer "unchanged".
        var etag = null, waiting = null, first = true, version = null, known = {};
        var self = {live: null};
        current = self;
        function held(data) {
            // The codes this answer takes off the map: those it removes, or, when whole, those it lacks.
            var gone = [], seen = {};
            (data.features || []).forEach(function (f) { seen[featureId(f)] = true; });
            if (data.full === false) {
                (data.removed || []).forEach(function (c) { if (known[c]) { gone.push(c); } });
            } else {
                Object.keys(known).forEach(function (c) { if (!seen[c]) { gone.push(c); } });
            }
            gone.forEach(function (c) { delete known[c]; });
            Object.keys(seen).forEach(function (c) { known[c] = true; });
            if (data.version) { version = data.version; }
            return gone;
        }
        function drop(gone) {
            if (!gone.length || !self.live) { return; }
            self.live.remove(gone.map(function (c) { return {type: "Feature", id: c, properties: {code: c}}; }));
        }
        return function (success, error) {
            if (first) {
                first = false;
                var initial = OpsMap.data()[initialKey];
                held(initial);
                success(initial);
                return;
            }
            if (waiting) { waiting.success = success; waiting.error = error; return; }
            waiting = {success: success, error: error};
            var headers = {"Accept": "application/geo+json, application/json"};
            if (etag) { headers["If-None-Match"] = etag; }
            var ask = version ? url + (url.indexOf("?") < 0 ? "?" : "&") + "since=" + encodeURIComponent(version) : url;
            fetch(ask, {cache: "no-store", credentials: "same-origin", headers: headers})
                .then(function (r) {
                    if (r.status === 304) { return null; }
                    if (!r.ok) { throw new Error("status feed: HTTP " + r.status); }
                    var tag = r.headers.get("ETag");
                    if (tag && tag === etag) { return null; }
                    return r.json().then(function (data) { etag = tag; return data; });
                })
                .then(function (data) {
                    var w = waiting;
                    waiting = null;
                    if (data) {
                        var gone = held(data);
                        w.success(data);
                        drop(gone);
                    }
                }, function (err) {
                    var w = waiting;
                    waiting = null;
                    w.error(err);
                });
        };
    }
    function attach(layer) {
        // The live layer, once made: the source takes removed points off it (Realtime's removeMissing is
        // off, since a delta names only what changed).
        if (current) { current.live = layer; }
    }
    return {hex: hex, style: style, pointToLayer: pointToLayer, popup: popup, bind: bind, update: update,
            featureId: featureId, clusterIcon: clusterIcon, batched: batched, source: source, attach: attach};
})
