"""Clearance: may a point fire at a time in a direction? Yes, or no with every reason."""

from datetime import datetime

from sqlalchemy import select

import rules
from ..ammo import services as ammo
from ..clock import zone_name
from ..database.utc import now_utc
from ..extensions import db
from ..reasons import localized_flags
from ..registry.models import Point
from ..registry.services import point_by_code
from ..zones import services as zones
from . import context
from .models import Round, RoundPoint
from .rounds import round_point_of


def firing_context(r: Round, point: Point, at: datetime) -> dict:
    """The facts the firing rules judge against, for a point in a round at a time."""
    return {"windows": context.windows(r.id, point.id),
            "certified_on_site": context.certified_on_site(point.id, at),
            "stock": ammo.stock([point.id]).get(point.id, {})}


def clearance(code: str, azimuth: float, elevation: float | None, at: datetime | None) -> dict:
    """May this point fire at this time in this direction? Yes, or no with every reason."""
    at = at or now_utc()
    point = point_by_code(code, status=404)
    reasons: list[rules.Flag] = []
    rounds = db.session.execute(
        select(Round).join(RoundPoint, RoundPoint.round_id == Round.id)
        .where(RoundPoint.point_id == point.id, Round.activated_at.is_not(None), Round.activated_at <= at,
               (Round.closed_at.is_(None)) | (Round.closed_at > at))
        .order_by(Round.activated_at.desc())).scalars().all()
    r = rounds[0] if rounds else None
    window = None
    if r is None:
        reasons.append(rules.Flag("no_active_round", f"{point.code} is not ordered in an active round",
                                  {"point": point.code}))
        ctx = {"windows": [], "certified_on_site": context.certified_on_site(point.id, at),
               "stock": ammo.stock([point.id]).get(point.id, {})}
    else:
        rp = round_point_of(r, point)
        if rp.declined_at:
            reasons.append(rules.Flag("declined", f"{point.code} declined round {r.id}: {rp.declined_reason}",
                                      {"point": point.code, "round": r.id, "reason": rp.declined_reason}))
        if rp.stood_down_at:
            reasons.append(rules.Flag("stood_down", f"{point.code} was stood down: {rp.stood_down_reason}",
                                      {"point": point.code, "reason": rp.stood_down_reason}))
        ctx = firing_context(r, point, at)
        open_windows = [w for w in ctx["windows"] if w.open_at(at)]
        if open_windows:
            w = open_windows[0]
            window = {"start": w.start.isoformat(), "end": w.effective_end.isoformat(),
                      "ends_in_s": int((w.effective_end - at).total_seconds())}
    reasons += rules.firing_flags(
        started_at=at, ended_at=at, azimuth_deg=azimuth, sector_start_deg=point.sector_start_deg,
        sector_end_deg=point.sector_end_deg, height_m=None, max_height_m=point.max_height_m, range_km=None,
        max_range_km=point.max_range_km, windows=ctx["windows"], certified_on_site=ctx["certified_on_site"],
        min_crew=point.min_crew, reporter_certificate_expires=None, fired={}, stock=ctx["stock"],
        tz_name=zone_name(), instant=True)
    if empty := rules.no_stock_flag(ctx["stock"]):
        reasons.append(empty)
    if zone := zones.firing_line_flag(point.latitude, point.longitude, azimuth, point.max_range_km):
        reasons.append(zone)
    return {"cleared": not reasons, "point_code": point.code, "at": at, "round_id": r.id if r else None,
            "window": window, "reasons": localized_flags([f.as_dict() for f in reasons])}
