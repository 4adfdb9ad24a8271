"""The notice's two texts: the Chinese announcement (the one the public is given, DB41/T 1977-2020's elements in its
order) and its English rendering. Plain data in, text out: no database, no request; both are written whatever the
reader's language (an announcement is published in Chinese; the English is a rendering of it), so they are here
rather than in the message catalogue.

`notice` takes the announcement's fields and its points as plain dicts (`code, name, county, county_zh, township,
latitude, longitude, equipment, launchers`), the day it is dated and the time zone its period is written in.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

TITLE_ZH = "人工影响天气地面作业公告"
TITLE_EN = "Public notice of ground-based weather modification operations"
LEGAL_BASIS_ZH = "《中华人民共和国气象法》《人工影响天气管理条例》和河南省人工影响天气管理有关规定"
LEGAL_BASIS_EN = ("the Meteorology Law of the People's Republic of China, the Regulations on the Administration of "
                  "Weather Modification and Henan Province's provisions on weather modification")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")  # not strftime's %B, which follows the process's locale
# What each kind of equipment is called in a notice, and its counting word.
EQUIPMENT_ZH = {"rocket": ("火箭发射装置", "具"), "gun": ("37毫米高炮", "门"), "burner": ("地面烟炉", "台")}
EQUIPMENT_EN = {"rocket": "rocket launchers", "gun": "anti-aircraft guns (37 mm)", "burner": "ground-based generators"}
SAFETY_ZH = (
    "作业期间，请公众远离作业点及其安全影响区域，不要围观作业，不要靠近发射装置；",
    "作业时会有火箭发射或高炮射击的声响，属正常现象，请勿惊慌；",
    "发现未爆炸的火箭弹、炮弹或其残骸、碎片，请勿拾捡、敲击、拆卸或私藏，"
    "请保护现场并立即报告当地政府、公安机关或下列联系人；",
    "作业期间，请勿在安全影响区域内放飞无人机、风筝、气球或开展其他空中活动；请看护好儿童和牲畜。",
)
SAFETY_EN = (
    "While operations are under way, keep away from the operating points and their safety-affected areas; do not "
    "gather to watch or go near a launcher.",
    "Rocket launches and gunfire will be heard during operations; this is normal, there is no need for alarm.",
    "If you find an unexploded rocket or shell, or any part or fragment of one, do not pick it up, strike, take "
    "apart or keep it: leave it where it is and report it at once to the local government, the police or the "
    "contact below.",
    "Do not fly drones, kites or balloons, nor carry out any other activity in the air, inside the safety-affected "
    "areas while operations are under way; look after children and livestock.",
)
NUMERALS_ZH = "一二三四五六七八九十"
NUMBERED_ZH = ("（一）", "（二）", "（三）", "（四）", "（五）", "（六）")


def _local(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz))


def _hour_zh(t: datetime) -> str:
    return f"{t.hour:02d}时" + (f"{t.minute:02d}分" if t.minute else "")


def period_zh(start: datetime, end: datetime, tz: str) -> str:
    """`2026年7月18日20时至7月19日06时` in 24-hour local time (the end's year only when it differs)."""
    s, e = _local(start, tz), _local(end, tz)
    head = f"{s.year}年{s.month}月{s.day}日{_hour_zh(s)}"
    tail = (f"{e.year}年" if e.year != s.year else "") + f"{e.month}月{e.day}日{_hour_zh(e)}"
    return f"{head}至{tail}"


def period_en(start: datetime, end: datetime, tz: str) -> str:
    """`18 July 2026 20:00 to 19 July 2026 06:00` in 24-hour local time."""
    s, e = _local(start, tz), _local(end, tz)
    return f"{date_en(s.date())} {s:%H:%M} to {date_en(e.date())} {e:%H:%M}"


def _zone_note_zh(tz: str) -> str:
    return "（北京时间）" if tz == "Asia/Shanghai" else f"（{tz}时间）"


def _zone_note_en(tz: str) -> str:
    return " (Beijing time)" if tz == "Asia/Shanghai" else f" ({tz} time)"


def date_zh(day: date) -> str:
    """`2026年7月18日`."""
    return f"{day.year}年{day.month}月{day.day}日"


def date_en(day: date) -> str:
    """`18 July 2026`."""
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def radius_text(value: float) -> str:
    return f"{value:g}"


def place_zh(p: dict) -> str:
    """Where a point is, as the notice names it: county, township, then the point's name."""
    return "".join(part for part in (p.get("county_zh") or p["county"], p.get("township") or "") if part) \
        + f" {p['name']}"


def point_line_zh(p: dict) -> str:
    """One point of the notice: its place and name, code, equipment and position."""
    kind, unit = EQUIPMENT_ZH.get(p["equipment"], (p["equipment"], "套"))
    return (f"{place_zh(p)}（{p['code']}，{kind}{p['launchers']}{unit}，"
            f"北纬{p['latitude']:.4f}°、东经{p['longitude']:.4f}°）")


def point_line_en(p: dict) -> str:
    """One point of the English rendering."""
    township = f", {p['township']}" if p.get("township") else ""
    kind = EQUIPMENT_EN.get(p["equipment"], p["equipment"])
    return (f"{p['name']} ({p['code']}){township}, {p['county']}; {kind}: {p['launchers']}; "
            f"{p['latitude']:.4f}° N, {p['longitude']:.4f}° E")


def equipment_zh(points: list[dict]) -> str:
    """The equipment of all the points, by kind: `火箭发射装置12具、37毫米高炮8门`."""
    totals: dict[str, int] = {}
    for p in points:
        totals[p["equipment"]] = totals.get(p["equipment"], 0) + p["launchers"]
    parts = []
    for kind in EQUIPMENT_ZH:
        if kind in totals:
            name, unit = EQUIPMENT_ZH[kind]
            sites = sum(1 for p in points if p["equipment"] == kind)
            parts.append(f"{name}{totals[kind]}{unit}（{sites}个作业点）")
    return "、".join(parts)


def equipment_en(points: list[dict]) -> str:
    """The equipment of all the points, by kind: `rocket launchers: 12 at 9 points`."""
    parts = []
    for kind, name in EQUIPMENT_EN.items():
        count = sum(p["launchers"] for p in points if p["equipment"] == kind)
        sites = sum(1 for p in points if p["equipment"] == kind)
        if sites:
            parts.append(f"{name}: {count} at {sites} point{'' if sites == 1 else 's'}")
    return "; ".join(parts)


def notice_zh(a: dict, points: list[dict], dated: date, tz: str) -> str:
    """The Chinese announcement, every element in its section: title, legal basis and purpose, period, points
    (county, township, name), safety-affected area, equipment, safety notes, contact, 特此公告, issuer and date."""
    period = period_zh(a["period_start"], a["period_end"], tz) + _zone_note_zh(tz)
    sections = [
        ("作业时间", period + "，视天气条件适时作业。"),
        ("作业地点", "\n".join(f"        {i}. {point_line_zh(p)}" for i, p in enumerate(points, 1))),
        ("安全影响区域", f"以上各作业点周围{radius_text(a['safety_radius_km'])}公里范围内。"),
        ("作业装备", equipment_zh(points) + "。"),
        ("安全注意事项", "\n".join(f"        {NUMBERED_ZH[i]}{line}" for i, line in enumerate(SAFETY_ZH))),
    ]
    if a.get("notes"):
        sections.append(("其他事项", a["notes"]))
    sections.append(("联系方式", f"联系单位：{a['contact_unit']}；联系人：{a['contact_person']}；"
                                f"联系电话：{a['contact_phone']}。"))
    lines = [TITLE_ZH, "",
             f"    根据{LEGAL_BASIS_ZH}，为{a['purpose']}，{a['issuer']}定于"
             f"{period_zh(a['period_start'], a['period_end'], tz)}在下列作业点开展人工影响天气地面作业。"
             "现将有关事项公告如下：", ""]
    for i, (head, body) in enumerate(sections):
        if "\n" in body:
            lines += [f"    {NUMERALS_ZH[i]}、{head}：", body]
        else:
            lines.append(f"    {NUMERALS_ZH[i]}、{head}：{body}")
    lines += ["", "    特此公告。", "", f"{a['issuer']}", date_zh(dated)]
    return "\n".join(lines)


def notice_en(a: dict, points: list[dict], dated: date, tz: str) -> str:
    """The English rendering of the announcement, section for section."""
    sections = [
        ("Period", period_en(a["period_start"], a["period_end"], tz) + _zone_note_en(tz)
         + ", operating when the weather allows."),
        ("Operating points", "\n".join(f"        {i}. {point_line_en(p)}" for i, p in enumerate(points, 1))),
        ("Safety-affected area", f"within {radius_text(a['safety_radius_km'])} km of each of the points above."),
        ("Equipment", equipment_en(points) + "."),
        ("Safety notes for the public", "\n".join(f"        ({i}) {line}" for i, line in enumerate(SAFETY_EN, 1))),
    ]
    if a.get("notes"):
        sections.append(("Other matters", a["notes"]))
    sections.append(("Contact", f"{a['contact_unit']}; contact person: {a['contact_person']}; "
                                f"telephone: {a['contact_phone']}."))
    lines = [TITLE_EN, "",
             f"    Under {LEGAL_BASIS_EN}, {a['issuer']} will carry out ground-based weather modification operations "
             f"({a['purpose']}) at the points below from {period_en(a['period_start'], a['period_end'], tz)}. "
             "The public is hereby notified as follows:", ""]
    for i, (head, body) in enumerate(sections, 1):
        if "\n" in body:
            lines += [f"    {i}. {head}:", body]
        else:
            lines.append(f"    {i}. {head}: {body}")
    lines += ["", "    Hereby announced.", "", f"{a['issuer']}", date_en(dated)]
    return "\n".join(lines)
