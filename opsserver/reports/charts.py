"""The round report's two charts, drawn from the gathered report as inline SVG.

Imported only when an HTML report is rendered: matplotlib takes most of a second to import. The labels are in
the reader's language; the SVG keeps its text as text (not outlines), so the browser draws Chinese in its own
fonts and the text can be read, searched and checked.
"""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
from flask_babel import gettext as _
from matplotlib import rc_context
from matplotlib.figure import Figure

from .times import as_datetime


# Text kept as <text> (drawn in the page's fonts); Chinese measured with a CJK font where the default has no glyph
# (a family list: matplotlib falls back glyph by glyph along it). Texts take the family when they are made, so
# each chart is drawn inside these settings.
CHART_RC = {"svg.fonttype": "none", "font.family": ["DejaVu Sans", "Noto Sans CJK SC", "WenQuanYi Zen Hei"]}


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


@rc_context(CHART_RC)
def ammo_chart(rep: dict) -> str:
    """Ammunition fired per point: a stacked bar per type, as inline SVG."""
    codes = [p["point_code"] for p in rep["points"]]
    kinds = sorted({k for p in rep["points"] for k in p["ammo"]})
    fig = Figure(figsize=(7.0, 2.8))
    ax = fig.add_subplot()
    bottom = [0] * len(codes)
    for k in kinds:
        values = [p["ammo"].get(k, {}).get("fired", 0) for p in rep["points"]]
        ax.bar(codes, values, bottom=bottom, label=k)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel(_("units fired"))
    ax.set_title(_("Ammunition fired per point"))
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    if kinds:
        ax.legend(fontsize=7)
    fig.set_layout_engine("tight")
    return _svg(fig)


def _draw_windows(ax, windows: list[dict], row: dict[str, int]) -> None:
    """Each approved window as a bar from its approved start to its effective end; × where it was terminated."""
    day = 86400.0
    for w in windows:
        if w["approved_start"] and w["effective_end"] and w["point_code"] in row:
            start = mdates.date2num(as_datetime(w["approved_start"]))
            width = (as_datetime(w["effective_end"]) - as_datetime(w["approved_start"])).total_seconds() / day
            colour = "tab:orange" if w["status"] == "terminated" else "tab:green"
            ax.broken_barh([(start, width)], (row[w["point_code"]] - 0.35, 0.7), facecolors=colour, alpha=0.6)
            if w["terminated_at"]:
                ax.plot(mdates.date2num(as_datetime(w["terminated_at"])), row[w["point_code"]], marker="x",
                        color="tab:orange", markersize=8, zorder=4)


def _draw_firings(ax, reports: list[dict], row: dict[str, int]) -> None:
    """Each firing as a red line over its duration, a ▼ at its start (purple when flagged)."""
    xs, ys, flagged = [], [], []
    for r in reports:
        if r["point_code"] in row:
            s, e = as_datetime(r["started_at"]), as_datetime(r["ended_at"])
            ax.hlines(row[r["point_code"]], mdates.date2num(s), mdates.date2num(e), colors="tab:red", linewidth=3)
            xs.append(mdates.date2num(s))
            ys.append(row[r["point_code"]])
            flagged.append("purple" if r["flags"] else "tab:red")
    if xs:
        ax.scatter(xs, ys, c=flagged, marker="v", s=28, zorder=3)


@rc_context(CHART_RC)
def windows_chart(rep: dict) -> str:
    """Each point's approved windows (approved start → effective end) against its firings, as inline SVG."""
    tz = ZoneInfo(rep["timezone"])
    codes = [p["point_code"] for p in rep["points"]]
    row = {c: i for i, c in enumerate(codes)}
    fig = Figure(figsize=(7.0, max(2.5, 0.22 * len(codes) + 1.2)))
    ax = fig.add_subplot()
    _draw_windows(ax, rep["airspace"]["windows"], row)
    _draw_firings(ax, rep["reports"], row)
    ax.set_yticks(range(len(codes)), codes, fontsize=7)
    ax.set_ylim(-0.8, len(codes) - 0.2)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
    offset = datetime.now(tz).strftime("%z")
    ax.set_xlabel(_("local time (UTC%(offset)s); green: approved window, orange ×: terminated, ▼ firing "
                    "(purple: flagged)", offset=f"{offset[:3]}:{offset[3:]}"), fontsize=7)
    ax.set_title(_("Airspace windows against firings"))
    ax.grid(axis="x", alpha=0.3)
    fig.set_layout_engine("tight")
    return _svg(fig)
