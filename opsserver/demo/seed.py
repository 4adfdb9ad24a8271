"""Load the Luohe demo (points, crew, accounts, tonight's shifts, no-fire zones, the season's announcement) through
the same services as the API."""

import json
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..accounts.services import create_account
from ..announcements.services import create_announcement, publish_announcement
from ..ammo.services import create_type, record_movement
from ..clock import zone_name
from ..database.utc import now_utc
from ..extensions import db
from ..registry.models import Point
from ..registry.services import create_crew, create_point, create_shift
from ..zones.services import import_zones

DATA_FILE = Path(__file__).with_name("luohe.json")
ACTOR = "seed-demo"


def load_data() -> dict:
    """The demo data file (it says itself that it is demo data)."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def tonight(at: datetime | None = None) -> tuple[datetime, datetime]:
    """Tonight's shift in local time, 18:00 to 06:00; before 06:00 that is the night still going on."""
    tz = ZoneInfo(zone_name())
    local = (at or now_utc()).astimezone(tz)
    day = local.date() - timedelta(days=1) if local.time() < time(6) else local.date()
    start = datetime.combine(day, time(18), tzinfo=tz)
    return start, start + timedelta(hours=12)


def season(at: datetime | None, days_before: int, days_after: int) -> tuple[datetime, datetime]:
    """The season announcement's period: 00:00 local, `days_before` the seed day, to 00:00 `days_after` it (so it
    covers the drill's night, which has passed, and the weeks ahead)."""
    tz = ZoneInfo(zone_name())
    day = (at or now_utc()).astimezone(tz).date()
    return (datetime.combine(day - timedelta(days=days_before), time(0), tzinfo=tz),
            datetime.combine(day + timedelta(days=days_after), time(0), tzinfo=tz))


def announce_season(data: dict, at: datetime | None = None) -> int:
    """Draft and publish the season's announcement over every demo point; its id."""
    notice = data["season_announcement"]
    start, end = season(at, notice["days_before"], notice["days_after"])
    fields = ("purpose", "issuer", "contact_unit", "contact_person", "contact_phone", "notes")
    draft = create_announcement(ACTOR, {**{k: notice[k] for k in fields}, "period_start": start, "period_end": end,
                                        "point_codes": [p["code"] for p in data["points"]]})
    return publish_announcement(ACTOR, draft.id).id


def seed_demo(at: datetime | None = None) -> dict:
    """Load everything once; a second run changes nothing and says so."""
    data = load_data()
    if db.session.execute(select(Point.id).where(Point.code == data["points"][0]["code"])).first():
        return {"loaded": False, "reason": "the demo points are loaded already"}
    today = (at or now_utc()).astimezone(ZoneInfo(zone_name())).date()
    for p in data["points"]:
        create_point(ACTOR, p)
    # invented places (source "demo"), checked like any import and stored whole or not at all; two of them lie
    # where a sector reaches (LH02's school, LH15's airfield), so the demo shows the conflict and its alert
    import_zones(ACTOR, {"type": "FeatureCollection", "features": data["zones"]}, all_or_nothing=True)
    crew_ids = []
    for c in data["crew"]:
        member = create_crew(ACTOR, {"name": c["name"], "phone": c["phone"], "certificate_no": c["certificate_no"],
                                     "certificate_expires": today + timedelta(days=c["certificate_expires_in_days"]),
                                     "home_point": c["home_point"]})
        crew_ids.append(member.id)
    for a in data["accounts"]:
        crew_id = crew_ids[a["crew_index"]] if a["crew_index"] is not None else None
        create_account(ACTOR, a["username"], a["password"], a["role"], crew_id)
    for t in data["ammo_types"]:
        create_type(ACTOR, {k: t[k] for k in ("code", "name", "agent", "agent_g_per_unit", "placeholder")})
    for p in data["points"]:
        code, qty = ("RKT-AGI", 24 * p["launchers"]) if p["equipment"] == "rocket" else ("SHELL-37", 150)
        record_movement(ACTOR, {"point_code": p["code"], "ammo_type": code, "quantity": qty, "kind": "receipt",
                                "reference": "DEMO opening stock"})
    start, end = tonight(at)
    shifts, leaders = 0, set()
    for c, crew_id in zip(data["crew"], crew_ids):
        if c["certificate_expires_in_days"] < 1:
            continue  # a plan for an expired certificate would be refused: the demo shows it as an alert instead
        position = "operator" if c["home_point"] in leaders else "leader"
        leaders.add(c["home_point"])
        create_shift(ACTOR, c["home_point"], crew_id, start, end, position)
        shifts += 1
    announcement = announce_season(data, at)
    return {"loaded": True, "points": len(data["points"]), "crew": len(crew_ids), "accounts": len(data["accounts"]),
            "ammo_types": len(data["ammo_types"]), "zones": len(data["zones"]),
            "shifts": shifts, "shift_window": [start.isoformat(), end.isoformat()], "announcement": announcement}
