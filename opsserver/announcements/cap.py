"""An announcement as a CAP 1.2 alert (OASIS Common Alerting Protocol), for public warning channels.

One `info` in Chinese (zh-CN) and one in English (en-US), each with one `area` naming the counties and townships
and a circle of the safety radius around every point. A published announcement is `Actual`, a draft `Draft`
(CAP's own word for a message not to act on); one that supersedes another is an `Update` referencing it.
Plain data in, XML out (the standard library's writer escapes what people typed).
"""

from datetime import datetime
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from . import text

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
MIMETYPE = "application/cap+xml"
EVENT = {"zh-CN": "人工影响天气地面作业", "en-US": "Ground-based weather modification operations"}
HEADLINE = {"zh-CN": text.TITLE_ZH, "en-US": text.TITLE_EN}


def cap_time(at: datetime, tz: str) -> str:
    """CAP's date-time: seconds and a numeric offset, no `Z` (`2026-07-18T20:00:00+08:00`)."""
    return at.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def identifier(sender: str, announcement_id: int, draft: bool = False) -> str:
    """The alert's identifier: unique for the sender, without the spaces, commas, `<` and `&` CAP forbids; a
    draft's its own, so a receiver that keeps one message per identifier never takes it for the published one."""
    return f"{sender}.announcement.{announcement_id}" + (".draft" if draft else "")


def _sub(parent: ET.Element, tag: str, value: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}")
    if value is not None:
        el.text = value
    return el


def _area_desc(points: list[dict], lang: str) -> str:
    if lang == "zh-CN":
        return "、".join(dict.fromkeys(text.place_zh(p) for p in points))
    return "; ".join(f"{p['name']} ({p['code']}), {p['county']}" for p in points)


def _info(alert: ET.Element, lang: str, a: dict, points: list[dict], notice: str, tz: str) -> None:
    info = _sub(alert, "info")
    _sub(info, "language", lang)
    _sub(info, "category", "Met")
    _sub(info, "event", EVENT[lang])
    _sub(info, "responseType", "Avoid")
    _sub(info, "urgency", "Future")
    _sub(info, "severity", "Minor")
    _sub(info, "certainty", "Possible")  # the operations happen when the weather allows
    _sub(info, "onset", cap_time(a["period_start"], tz))
    _sub(info, "expires", cap_time(a["period_end"], tz))
    _sub(info, "senderName", a["issuer"])
    _sub(info, "headline", HEADLINE[lang])
    _sub(info, "description", notice)
    safety = text.SAFETY_ZH if lang == "zh-CN" else text.SAFETY_EN
    _sub(info, "instruction", ("\n" if lang == "en-US" else "").join(safety))
    contact = (f"{a['contact_unit']} {a['contact_person']} {a['contact_phone']}")
    _sub(info, "contact", contact)
    area = _sub(info, "area")
    _sub(area, "areaDesc", _area_desc(points, lang))
    radius = text.radius_text(a["safety_radius_km"])
    for p in points:
        _sub(area, "circle", f"{p['latitude']:.5f},{p['longitude']:.5f} {radius}")


def alert_xml(a: dict, points: list[dict], *, sender: str, tz: str, sent: datetime, texts: tuple[str, str],
              superseded: dict | None = None) -> str:
    """The CAP 1.2 alert of an announcement (`a`: its fields with `id` and `status`; `texts`: the Chinese and
    English notices; `superseded`: the `{id, published_at}` of the announcement this one replaces)."""
    ET.register_namespace("", NAMESPACE)
    alert = ET.Element(f"{{{NAMESPACE}}}alert")
    _sub(alert, "identifier", identifier(sender, a["id"], draft=a["status"] == "draft"))
    _sub(alert, "sender", sender)
    _sub(alert, "sent", cap_time(sent, tz))
    _sub(alert, "status", "Actual" if a["status"] != "draft" else "Draft")
    _sub(alert, "msgType", "Update" if superseded else "Alert")
    _sub(alert, "scope", "Public")
    if a.get("notes"):
        _sub(alert, "note", a["notes"])
    if superseded:
        _sub(alert, "references", f"{sender},{identifier(sender, superseded['id'])},"
                                  f"{cap_time(superseded['published_at'], tz)}")
    _info(alert, "zh-CN", a, points, texts[0], tz)
    _info(alert, "en-US", a, points, texts[1], tz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(alert, encoding="unicode")
