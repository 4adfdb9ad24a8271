// The dashboard's table and alerts follow the status feed without a page reload; the ETag keeps an
// unchanged feed from being sent again (304).
(function () {
  "use strict";
  var table = document.getElementById("points");
  var alertsList = document.getElementById("alerts");
  if (!table) { return; }
  var states = JSON.parse(table.dataset.states);
  var etag = null;

  function localTime(iso, withDate) {
    if (!iso) { return "—"; }
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    // The server's time zone is shown by the server's own rendering; here the browser's is used.
    var off = -d.getTimezoneOffset();
    var sign = off >= 0 ? "+" : "-";
    off = Math.abs(off);
    var text = pad(d.getHours()) + ":" + pad(d.getMinutes());
    if (withDate) { text = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + text; }
    return text + " " + sign + pad(Math.floor(off / 60)) + ":" + pad(off % 60);
  }

  function cell(row, cls) { return row.querySelector("td." + cls); }

  function update(feed) {
    feed.features.forEach(function (f) {
      var p = f.properties;
      var row = table.querySelector('tr[data-code="' + CSS.escape(p.code) + '"]');
      if (!row) { return; }
      row.querySelector(".dot").className = "dot " + p.colour;
      row.querySelector(".state").textContent = states[p.state] || p.state;
      var crew = cell(row, "crew");
      crew.textContent = p.crew_on_site + " / " + p.min_crew;
      crew.classList.toggle("short", p.below_min_crew);  // the rules' verdict, carried by the feed
      var stock = Object.keys(p.stock).map(function (t) { return t + " " + p.stock[t]; }).join(" ");
      cell(row, "stock").textContent = stock || "—";
      cell(row, "window").textContent = p.open_window ? localTime(p.open_window.end, false) : "—";
      cell(row, "checkin").textContent = p.last_checkin ? localTime(p.last_checkin.recorded_at, true) : "—";
      cell(row, "flags").textContent = p.flags.map(function (x) { return x.code; }).join(", ") || "—";
    });
    document.getElementById("generated").textContent = localTime(feed.generated_at, true);
  }

  function pollStatus() {
    var headers = etag ? {"If-None-Match": etag} : {};
    fetch(table.dataset.url, {headers: headers, credentials: "same-origin"}).then(function (resp) {
      if (resp.status === 200) {
        etag = resp.headers.get("ETag");
        return resp.json().then(update);
      }
    }).catch(function () { /* the next poll tries again */ });
  }

  function pollAlerts() {
    fetch(alertsList.dataset.url, {credentials: "same-origin"}).then(function (resp) {
      return resp.ok ? resp.json() : null;
    }).then(function (body) {
      if (!body) { return; }
      alertsList.textContent = "";
      body.items.forEach(function (a) {
        var li = document.createElement("li");
        li.className = "sev-" + a.severity;
        var b = document.createElement("b");
        b.textContent = (a.point_code || "") + " ";
        li.appendChild(b);
        li.appendChild(document.createTextNode(a.message));
        var t = document.createElement("time");
        t.textContent = localTime(a.since, true);
        li.appendChild(t);
        alertsList.appendChild(li);
      });
      if (!body.items.length) {
        var empty = document.createElement("li");
        empty.className = "none";
        empty.textContent = alertsList.dataset.empty;
        alertsList.appendChild(empty);
      }
      document.getElementById("alert-count").textContent = body.items.length;
    }).catch(function () { /* the next poll tries again */ });
  }

  setInterval(pollStatus, 5000);
  setInterval(pollAlerts, 10000);
}());
