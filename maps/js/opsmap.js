/*
 * OpsMap: the popups and tooltips of a map, from the page's JSON data element (maps/safe.py).
 *
 * The page's scripts name an entry, never hold its text. An entry is HTML whose every value its
 * builder escaped; here it is still parsed inertly (DOMParser: nothing in it loads or runs) and
 * rebuilt from a short list of elements and attributes with its text as text nodes, so markup that
 * slipped through unescaped is shown, never run.
 */
var OpsMap = (function () {
    "use strict";
    var ELEMENTS = {B: 1, BR: 1, DIV: 1, EM: 1, I: 1, LI: 1, OL: 1, P: 1, SMALL: 1, SPAN: 1, STRONG: 1,
                    TABLE: 1, TBODY: 1, TD: 1, TH: 1, THEAD: 1, TR: 1, UL: 1};
    var ATTRIBUTES = ["class", "style"];
    var store = null;

    function data() {
        if (store === null) {
            var el = document.getElementById("ops-map-data");
            store = el ? JSON.parse(el.textContent) : {};
        }
        return store;
    }

    function copy(from, to) {
        for (var n = from.firstChild; n; n = n.nextSibling) {
            if (n.nodeType === 3) {
                to.appendChild(document.createTextNode(n.nodeValue));
            } else if (n.nodeType === 1 && ELEMENTS[n.tagName]) {
                var el = document.createElement(n.tagName.toLowerCase());
                for (var i = 0; i < ATTRIBUTES.length; i++) {
                    if (n.hasAttribute(ATTRIBUTES[i])) { el.setAttribute(ATTRIBUTES[i], n.getAttribute(ATTRIBUTES[i])); }
                }
                to.appendChild(copy(n, el));
            } else if (n.nodeType === 1 && n.textContent) {
                // Any other element (a script, an image, a link) keeps only its text.
                to.appendChild(document.createTextNode(n.textContent));
            }
        }
        return to;
    }

    /* A detached element showing the HTML ``markup`` (see above). */
    function html(markup) {
        var doc = new DOMParser().parseFromString(String(markup == null ? "" : markup), "text/html");
        return copy(doc.body, document.createElement("div"));
    }

    /* Popup or tooltip content: the entry ``key``, built each time it opens. */
    function content(key) {
        return function () { return html(data()[key]); };
    }

    function popup(layer, key, options) { layer.bindPopup(content(key), options); }

    function tooltip(layer, key, options) { layer.bindTooltip(content(key), options); }

    /* The GeoJSON entry ``key``, each feature's ``popup`` and ``tooltip`` HTML made content as above. */
    function geojson(key) {
        var collection = data()[key] || {type: "FeatureCollection", features: []};
        (collection.features || []).forEach(function (f) {
            var p = f.properties || {};
            ["popup", "tooltip"].forEach(function (k) {
                if (typeof p[k] === "string") {
                    var markup = p[k];
                    p[k] = function () { return html(markup); };
                }
            });
        });
        return collection;
    }

    return {data: data, html: html, content: content, popup: popup, tooltip: tooltip, geojson: geojson};
})();
