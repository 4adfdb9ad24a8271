/*
 * OpsBase: what every map page draws around its data (maps/base.py): the offline base layer (outlines
 * and names of the region), the configured tiles once the page has loaded, and a first view that holds.
 * Every text arrives as JSON data and is shown as text.
 */
var OpsBase = (function () {
    "use strict";
    var LINE = "#5b5b66", LAND = "#fbfaf5";
    var formats = {};

    function escapeText(s) {
        var div = document.createElement("div");
        div.textContent = String(s == null ? "" : s);
        return div.innerHTML;
    }

    function outlineStyle(f) {
        var region = f.properties && f.properties.region;
        return {color: LINE, weight: region ? 2.5 : 1.2, opacity: 0.9, dashArray: region ? null : "6 4",
                fill: !region, fillColor: LAND, fillOpacity: region ? 0 : 0.85};
    }

    /* The base layer from the page data entry ``key``: outlines in options.pane, names in options.labelPane;
       answers one layer (listed in the layer control). */
    function outlines(map, key, options) {
        var data = OpsMap.data()[key] || {type: "FeatureCollection", features: []};
        var group = L.featureGroup();
        L.geoJSON(data, {pane: options.pane, interactive: false, style: outlineStyle}).addTo(group);
        (data.features || []).forEach(function (f) {
            var p = f.properties || {};
            if (!p.at || !p.name) { return; }
            var span = document.createElement("span");
            span.textContent = p.name;
            L.marker([p.at[1], p.at[0]], {
                pane: options.labelPane, interactive: false, keyboard: false,
                icon: L.divIcon({className: "ops-place " + (p.region ? "ops-place-region" : "ops-place-part"),
                                 html: span, iconSize: null})
            }).addTo(group);
        });
        if (options.attribution && map.attributionControl) {
            map.attributionControl.addAttribution(escapeText(options.attribution));
        }
        return group;
    }

    function tileUrl(t, map) {
        var o = t.options || {}, z = Math.round(map.getZoom());
        z = Math.max(o.minZoom || 0, Math.min(z, o.maxNativeZoom || o.maxZoom || 18));
        var at = map.project(map.getCenter(), z).divideBy(256).floor();
        var subs = o.subdomains || "abc";
        return L.Util.template(t.url, L.extend({}, o, {s: subs[0], x: at.x, y: at.y, z: z, r: ""}));
    }

    /* The tile setting's layers [{url, options}], added only after the page's load event and after one probe
       tile (the one under the map's centre) has loaded; otherwise the map stays on the base layer. Tiles that
       keep failing later (the network went) take the tile layers off again. */
    function tiles(map, layers, base) {
        if (!layers || !layers.length) { return; }
        var added = [];
        function drop() {
            added.forEach(function (l) { map.removeLayer(l); });
            added = [];
            if (base && base.eachLayer) {
                base.eachLayer(function (l) { if (l.setStyle) { l.setStyle(outlineStyle); } });
            }
        }
        function add() {
            var failed = 0;
            layers.forEach(function (t) {
                var layer = L.tileLayer(t.url, t.options);
                layer.on("tileload", function () { failed = 0; });
                layer.on("tileerror", function () { if (++failed >= 3) { drop(); } });
                layer.addTo(map);
                added.push(layer);
            });
            if (base && base.eachLayer) {  // the land fill would hide the tiles; the lines stay
                base.eachLayer(function (l) { if (l.setStyle) { l.setStyle({fillOpacity: 0}); } });
            }
        }
        function probe() {
            if (navigator.onLine === false) { return; }
            var img = new Image();
            img.onload = add;
            img.src = tileUrl(layers[0], map);
        }
        // After the load event has run to its end, not inside it.
        function later() { setTimeout(probe, 0); }
        if (document.readyState === "complete") { later(); } else { window.addEventListener("load", later); }
    }

    /* "2025-07-01 21:40 +08:00" (or "21:40 +08:00" with withDate false): the time ``value`` (ISO text, a Date or
       milliseconds) in the zone ``tz`` with its offset, the one format of every page; "" when it is no time. */
    function time(value, tz, withDate) {
        var d = value instanceof Date ? value : new Date(value);
        if (value == null || value === "" || isNaN(d.getTime())) { return ""; }
        var key = tz + (withDate === false ? "|clock" : "|dated");
        var options = {timeZone: tz, hourCycle: "h23", hour: "2-digit", minute: "2-digit", timeZoneName: "longOffset"};
        if (withDate !== false) { options.year = "numeric"; options.month = "2-digit"; options.day = "2-digit"; }
        formats[key] = formats[key] || new Intl.DateTimeFormat("en-GB", options);
        var parts = {};
        formats[key].formatToParts(d).forEach(function (x) { parts[x.type] = x.value; });
        var hm = parts.hour + ":" + parts.minute + " " + ((parts.timeZoneName || "").replace("GMT", "") || "+00:00");
        return withDate === false ? hm : parts.year + "-" + parts.month + "-" + parts.day + " " + hm;
    }

    /* A map fitted while its container had no size (a frame whose page was not laid out yet: an archive's
       srcdoc frames) would stay at the maximum zoom; such a fit is made again once the map has a size. */
    function keepFit(map) {
        var fit = map.fitBounds, pending = null;
        function sized() { var s = map.getSize(); return s.x > 0 && s.y > 0; }
        map.fitBounds = function (bounds, options) {
            pending = sized() ? null : [bounds, options];
            return fit.call(map, bounds, options);
        };
        function refit() {
            if (!pending || !sized()) { return; }
            var p = pending;
            pending = null;
            fit.call(map, p[0], p[1]);
        }
        map.on("resize", refit);
        window.addEventListener("load", function () { map.invalidateSize(false); refit(); });
    }

    return {outlines: outlines, tiles: tiles, time: time, keepFit: keepFit};
})();
