"""Regulatory records mirroring 15 CFR Part 908: daily logs per point and the season summary (NOAA 17-4A)."""
