"""The safety rules as pure functions, at their boundaries."""

from datetime import UTC, date, datetime

import pytest
from geopy.distance import geodesic

import rules


@pytest.mark.parametrize("az,inside", [(300, True), (0, True), (360, True), (40, True), (20, True),
                                       (299.9, False), (40.1, False), (180, False)])
def test_sector_across_north(az, inside):
    """300 → 40 clockwise contains north and both edges, nothing outside them."""
    assert rules.in_sector(az, 300, 40) is inside


@pytest.mark.parametrize("az,inside", [(90, True), (180, True), (135, True), (89.99, False), (180.01, False),
                                       (0, False)])
def test_plain_sector(az, inside):
    """90 → 180 contains its edges only."""
    assert rules.in_sector(az, 90, 180) is inside


def test_sector_widths():
    """Widths run clockwise; 0 → 360 is every direction."""
    assert rules.sector_width(300, 40) == 100
    assert rules.sector_width(40, 300) == 260
    assert rules.sector_width(0, 360) == 360
    assert all(rules.in_sector(a, 0, 360) for a in range(0, 361, 15))


def test_geofence_edges():
    """499 m is inside a 500 m geofence and 501 m is not, measured geodesically."""
    origin = (33.58, 114.02)
    for metres, inside in [(499, True), (501, False)]:
        p = geodesic(meters=metres).destination(origin, 73)
        d = rules.distance_m(p.latitude, p.longitude, *origin)
        assert d == pytest.approx(metres, abs=0.01)
        assert rules.within_geofence(d, 500) is inside


def test_certificate_valid_through_its_local_expiry_day():
    """Valid until local midnight after the expiry date (Asia/Shanghai is UTC+8)."""
    expires = date(2026, 12, 1)
    tz = "Asia/Shanghai"
    assert rules.certificate_valid_at(expires, datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC), tz)
    assert not rules.certificate_valid_at(expires, datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC), tz)
    assert rules.certificate_problem(expires, datetime(2026, 12, 1, 2, tzinfo=UTC),
                                     datetime(2026, 12, 1, 14, tzinfo=UTC), tz) is None
    assert "inside the shift" in rules.certificate_problem(expires, datetime(2026, 12, 1, 10, tzinfo=UTC),
                                                           datetime(2026, 12, 1, 22, tzinfo=UTC), tz)
    assert "expired" in rules.certificate_problem(expires, datetime(2026, 12, 2, 10, tzinfo=UTC),
                                                  datetime(2026, 12, 2, 22, tzinfo=UTC), tz)


def test_certificate_status():
    """Expired before today, expiring within 30 days, else valid."""
    today = date(2026, 11, 29)
    assert rules.certificate_status(date(2026, 11, 28), today) == "expired"
    assert rules.certificate_status(today, today) == "expiring"
    assert rules.certificate_status(date(2026, 12, 29), today) == "expiring"
    assert rules.certificate_status(date(2026, 12, 30), today) == "valid"


def test_checkin_flags():
    """Outside the geofence, off shift and a skewed clock each raise one flag with a reason."""
    assert rules.checkin_flags(kind="arrive", distance=10, geofence_m=500, on_shift=True, clock_offset_s=30) == []
    flags = rules.checkin_flags(kind="arrive", distance=501, geofence_m=500, on_shift=False, clock_offset_s=-601)
    assert [f.code for f in flags] == ["outside_geofence", "off_shift", "clock_skew"]
    assert "501 m" in flags[0].reason
    assert not rules.clock_skewed(600) and rules.clock_skewed(600.5)
