"""The safe firing sector: its clockwise width, whether an azimuth lies in it, and that it has a width."""

from .flags import Flag

FULL_CIRCLE_DEG = 360.0
NO_WIDTH_REASON = "The sector has no width; use 0 and 360 for every direction."


def sector_width(start_deg: float, end_deg: float) -> float:
    """Clockwise width from start to end; 0 → 360 is the full circle, 300 → 40 crosses north (100°)."""
    if end_deg == start_deg:
        return 0.0
    width = (end_deg - start_deg) % FULL_CIRCLE_DEG
    return FULL_CIRCLE_DEG if width == 0 else width


def sector_has_width(start_deg: float, end_deg: float) -> bool:
    """A point's sector must have a width: equal ends are refused (0 and 360 say every direction)."""
    return sector_width(start_deg, end_deg) > 0


def in_sector(azimuth_deg: float, start_deg: float, end_deg: float) -> bool:
    """True when the azimuth lies in the clockwise sector from start to end, edges included."""
    width = sector_width(start_deg, end_deg)
    if width >= FULL_CIRCLE_DEG:
        return True
    return (azimuth_deg - start_deg) % FULL_CIRCLE_DEG <= width


def sector_flag(azimuth_deg: float, start_deg: float, end_deg: float) -> Flag | None:
    """`outside_sector` when the azimuth leaves the safe sector, else None."""
    if in_sector(azimuth_deg, start_deg, end_deg):
        return None
    return Flag("outside_sector", f"azimuth {azimuth_deg:g}° is outside the safe sector "
                                  f"{start_deg:g}° → {end_deg:g}° (clockwise)",
                {"azimuth": azimuth_deg, "start": start_deg, "end": end_deg})
