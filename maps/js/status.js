/*
 * The live and large status maps' helpers (maps/status.py): marker style, popup, cluster icon, feed
 * source. Called with the map's settings ({colours, urgency, words, tz, locale, radius}); answers the
 * helpers. The popup mirrors point_popup_html, every value escaped, and is shown through
 * OpsMap.html (maps/js/opsmap.js) like every other popup.
 */
(function (C) {
    "use strict";
    var COLOURS = C.colours, URGENCY = C.urgency, W = C.words, TZ = C.tz, LOCALE = C.locale, RADIUS = C.radius;
    var ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;", "`": "&#96;"};
    function hex(c) { return COLOURS[c] || c || COLOURS.grey; }
    function esc(v) {
        return String(v == null ? "" : v).replace(/[&<>"'`]/g, function (ch) { return ESCAPES[ch]; });
    }
    function time(iso, withDate) {
        if (!iso) { return ""; }
        var d = new Date(iso);
        if (isNaN(d.getTime())) { return esc(iso); }
        var opts = {timeZone: TZ, hour12: false, hour: "2-digit", minute: "2-digit", timeZoneName: "shortOffset"};
        if (withDate !== false) { opts.year = "numeric"; opts.month = "2-digit"; opts.day = "2-digit"; }
        try { return esc(d.toLocaleString(LOCALE, opts)); } catch (e) { return esc(d.toISOString()); }
    }
    function left(endIso) {
        var s = Math.round((new Date(endIso).getTime() - Date.now()) / 1000);
        if (!(s > 0)) { return W.ended; }
        var m = Math.ceil(s / 60), h = Math.floor(m / 60);
        m = m % 60;
        return h ? h + " h " + (m < 10 ? "0" : "") + m + " " + W.min : m + " " + W.min;
    }
    function featureId(f) { return f.id != null ? f.id : (f.properties || {}).code; }
    function style(f) {
        var p = f.properties || {};
        return {radius: RADIUS, color: "#222", weight: 1.5, opacity: 1, fillColor: hex(p.colour), fillOpacity: 0.9};
    }
    function pointToLayer(f, latlng) { return L.circleMarker(latlng, style(f)); }
    function row(k, v) {
        return "<tr><th style=\"padding-right:8px;vertical-align:top;white-space:nowrap\">" + esc(k) +
               "</th><td>" + v + "</td></tr>";
    }
    /* The popup's HTML for feature f (every value in it escaped). */
    function popup(f) {
        var p = f.properties || {}, rows = "", state = p.state || "idle";
        rows += row(W.state, "<span style=\"color:" + esc(hex(p.colour)) + "\">&#9679;</span> " +
                    esc(W["state_" + state] || state));
        if (p.equipment) {
            rows += row(W.equipment, esc(W["equipment_" + p.equipment] || p.equipment) +
                        (p.launchers ? " &times; " + esc(p.launchers) + " " + esc(W.launchers) : ""));
        }
        var on = p.crew_on_site || 0, crew = "<b>" + esc(on) + "</b>";
        if (p.min_crew != null) {
            crew += " / " + esc(p.min_crew) + " (" + esc(W.minimum) + ")";
            if (on < p.min_crew) {
                crew += " <span style=\"color:" + esc(COLOURS.red) + "\">" + esc(W.below_minimum) + "</span>";
            }
        }
        rows += row(W.crew_on_site, crew);
        var stock = p.stock || {}, keys = Object.keys(stock).sort();
        rows += row(W.stock, keys.length ? keys.map(function (k) {
            return esc(k) + ": <b>" + esc(stock[k]) + "</b>"; }).join(", ") : esc(W.none));
        if (p.round) { rows += row(W.round, esc(p.round.name || p.round.id)); }
        var win = p.open_window;
        if (win) {
            var t = time(win.start) + " &ndash; " + time(win.end);
            if (win.reference) { t += ", " + esc(W.reference) + " " + esc(win.reference); }
            t += "<br>" + esc(W.ends) + " " + time(win.end, false) + ", <b>" + esc(left(win.end)) + "</b> " +
                 esc(W.left);
            rows += row(W.window, t);
        } else {
            rows += row(W.window, esc(W.no_window));
        }
        var flags = p.flags || [];
        if (flags.length) {
            rows += row(W.flags, "<ul style=\"margin:0;padding-left:1.1em;color:" + esc(COLOURS.purple) + "\">" +
                flags.map(function (x) { return "<li><b>" + esc(x.code) + "</b>: " + esc(x.reason) + "</li>"; })
                    .join("") + "</ul>");
        }
        var alerts = p.alerts || [];
        if (alerts.length) {
            rows += row(W.alerts, alerts.map(function (a) {
                return esc(a.type) + " (" + esc(a.severity) + ")"; }).join(", "));
        }
        return "<div class=\"ops-popup\"><b>" + esc(featureId(f)) + " " + esc(p.name) + "</b>" +
               "<table style=\"margin-top:4px\">" + rows + "</table></div>";
    }
    function bind(f, layer) {
        // Functions, not strings: the content is built from the feature as it is when it opens.
        layer.bindPopup(function (l) { return OpsMap.html(popup(l.feature || f)); }, {maxWidth: 360});
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
    function source(url, initial) {
        // The first call answers with the data the page was built from; later calls ask the feed with
        // the last ETag (If-None-Match), so an unchanged feed is an empty 304 and nothing is redrawn.
        // Done by hand: browsers do not all revalidate fetches the same way.
        var etag = null;
        return function (success, error) {
            if (initial) { var d = initial; initial = null; success(d); return; }
            var headers = {"Accept": "application/geo+json, application/json"};
            if (etag) { headers["If-None-Match"] = etag; }
            fetch(url, {cache: "no-store", credentials: "same-origin", headers: headers})
                .then(function (r) {
                    if (r.status === 304) { return null; }
                    if (!r.ok) { throw new Error("status feed: HTTP " + r.status); }
                    var tag = r.headers.get("ETag");
                    if (tag && tag === etag) { return null; }
                    etag = tag;
                    return r.json();
                })
                .then(function (data) { if (data) { success(data); } })
                .catch(error);
        };
    }
    return {hex: hex, style: style, pointToLayer: pointToLayer, popup: popup, bind: bind, update: update,
            featureId: featureId, clusterIcon: clusterIcon, batched: batched, source: source};
})
