"""The gathered round report and activity log written out: CSV (the one formula-safe writer), JSON and HTML.

Machine formats keep UTC ISO 8601 (CSV ``*_utc`` columns); text for people shows local time with its
offset (config ``OPS_TIMEZONE``) in the reader's language (session or ``?lang=``, opsserver.i18n); the CSVs'
column names and code columns (state, kind, flags) stay stable codes, their text columns follow the language.
The HTML round report carries its charts and the round map.
"""

import io
import json

from flask import current_app, render_template
from flask_babel import gettext as _

import maps

from ..audit import csvsafe
from ..i18n import current_lang
from ..reasons import code_label
from ..registry.basemap import base_layer_for
from .times import local

POINT_COLUMNS = ["point_code", "point_name", "state", "ordered_at_utc", "manned_at_utc", "order_to_manned_s",
                 "reports", "fired_total", "duds_total", "agent_g", "ammo", "flags", "windows_asked",
                 "windows_approved", "windows_used", "windows_rejected", "windows_terminated",
                 "request_to_decision_s", "declined_reason", "stood_down_reason", "orders", "orders_unacknowledged"]
LOG_COLUMNS = ["section", "at_utc", "at_local", "kind", "who", "detail"]


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    csvsafe.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def _ammo_cell(ammo: dict) -> str:
    """``type:fired/duds`` per ammunition type, by type code."""
    return ";".join(f"{k}:{v['fired']}/{v['duds']}" for k, v in sorted(ammo.items()))


def _point_row(p: dict) -> list:
    return [p["point_code"], p["point_name"], p["state"], p["ordered_at"] or "", p["manned_at"] or "",
            "" if p["order_to_manned_s"] is None else p["order_to_manned_s"], p["reports"],
            p["fired_total"], p["duds_total"], p["agent_g"], _ammo_cell(p["ammo"]),
            ";".join(p["flags"]), p["windows_asked"], p["windows_approved"], p["windows_used"],
            p["windows_rejected"], p["windows_terminated"],
            ";".join(str(s) for s in p["request_to_decision_s"]),
            p["declined_reason"] or "", p["stood_down_reason"] or "", p["orders"], p["orders_unacknowledged"]]


def _total_row(rep: dict) -> list:
    tot, air = rep["totals"], rep["airspace"]
    return ["TOTAL", "", "", "", "", "", len(rep["reports"]), sum(t["fired"] for t in tot.values()),
            sum(t["duds"] for t in tot.values()), round(sum(t["agent_g"] for t in tot.values()), 3),
            _ammo_cell(tot), len(rep["flags"]), air["asked"], air["approved"], air["used"], air["rejected"],
            air["terminated"], "", "", "", rep["orders"]["issued"], rep["orders"]["unacknowledged"]]


def report_csv(rep: dict) -> str:
    """One row per ordered point, then a totals row."""
    return _csv([POINT_COLUMNS, *map(_point_row, rep["points"]), _total_row(rep)])


def report_json(rep: dict) -> str:
    """The report as JSON, without the data kept for the map (keys starting with ``_``)."""
    return json.dumps({k: v for k, v in rep.items() if not k.startswith("_")}, ensure_ascii=False, default=str)


def round_map_html(rep: dict) -> str:
    """The round map (maps.build_round_map), rendered to a full HTML document."""
    cfg = current_app.config
    m = maps.build_round_map(rep["_map_data"], tiles=cfg["OPS_MAP_TILES"], tiles_key=cfg.get("OPS_MAP_TILES_KEY"),
                             lang=current_lang(), tz=cfg["OPS_TIMEZONE"],
                             base_layer=base_layer_for(cfg["OPS_MAP_REGION"]))
    return m.get_root().render()


def report_html(rep: dict) -> str:
    """The printable round report: summary, totals, both charts, the map in a frame, points, flags, airspace
    windows, orders, timeline."""
    from . import charts  # lazy: matplotlib takes most of a second to import, and only this page draws

    return render_template("reports/round_report.html", rep=rep, local=local, lang=current_lang(),
                           code_label=code_label, ammo_chart=charts.ammo_chart(rep),
                           windows_chart=charts.windows_chart(rep), map_html=round_map_html(rep))


def activity_log_csv(log: dict) -> str:
    """Rows by section: the period, the crew with their positions, then the activities in time order."""
    p = log["period"]
    rows = [LOG_COLUMNS,
            ["period", p["start"], local(p["start"]), "start", log["point"]["code"], log["round"]["name"]],
            ["period", p["end"], local(p["end"]), "end" if not p["open"] else "now", log["point"]["code"], ""]]
    rows += [["crew", m["shift_start"], local(m["shift_start"]), m["position"], m["name"],
              _("certificate %(number)s (expires %(expires)s), shift to %(end)s", number=m["certificate_no"],
                expires=m["certificate_expires"], end=local(m["shift_end"]))]
             for m in log["crew"]]
    rows += [["activity", a["at"], local(a["at"]), a["kind"], a["who"], a["detail"]] for a in log["activities"]]
    return _csv(rows)


def activity_log_html(log: dict) -> str:
    """The printable ICS-214-style activity log."""
    return render_template("reports/activity_log.html", log=log, local=local, lang=current_lang())
