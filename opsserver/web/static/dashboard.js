// The dashboard's table (its regions or its page of points) and its alerts follow the live state without a
// page reload. They are rendered by the server (templates/_dashboard.html, the same macros as the page, in
// the reader's language and the one time format) for the page's own query; this script only fetches them
// and swaps them in. The ETag keeps an unchanged state from being sent again (304).
(function () {
  "use strict";
  var table = document.getElementById("points") || document.getElementById("regions");
  var alertsList = document.getElementById("alerts");
  if (!table || !alertsList) { return; }
  var rowsId = table.id === "points" ? "points-rows" : "regions-rows";
  var etag = null;

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var rows = doc.getElementById(rowsId);
    var items = doc.getElementById("alerts-items");
    var generated = doc.getElementById("generated-at");
    if (!rows || !items || !generated) { return; }
    table.tBodies[0].replaceChildren.apply(table.tBodies[0], Array.from(rows.children));
    alertsList.replaceChildren.apply(alertsList, Array.from(items.children));
    document.getElementById("alert-count").textContent = items.dataset.count;
    document.getElementById("generated").textContent = generated.textContent;
    var pager = document.getElementById("pager"), fresh = doc.getElementById("pager-live");
    if (pager && fresh) { pager.replaceChildren.apply(pager, Array.from(fresh.children)); }
  }

  function poll() {
    var headers = etag ? {"If-None-Match": etag} : {};
    fetch(table.dataset.url, {headers: headers, credentials: "same-origin"}).then(function (resp) {
      if (resp.status === 200) {
        etag = resp.headers.get("ETag");
        return resp.text().then(swap);
      }
    }).catch(function () { /* the next poll tries again */ });
  }

  setInterval(poll, 5000);
}());
