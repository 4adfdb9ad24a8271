"""Reasons and messages in the reader's language: one catalogue of message templates keyed by code.

The rules (rules/, pure) give each flag its code, an English reason and its values (`params`); alerts
and clearance give a key and values too. Here they are written in the language of the request
(opsserver.i18n): the codes stay as they are, the texts are translated (Flask-Babel, messages.po) with
named placeholders, times in the one format (`2026-07-18 21:05 +08:00`). Stored flags keep what they
stored; a flag stored before it carried `params` keeps its English reason.
"""

from flask_babel import gettext

from .i18n import format_time



def _l(text: str) -> str:
    """Marks a message for extraction (pybabel's `N_`-style keyword, given with `-k _l`); translated when used."""
    return text


# Message templates by key: a flag's code, or `params["text"]` where one code has several messages.
MESSAGES = {
    # firing report flags (rules/)
    "no_airspace": _l("no approved airspace window for this point in this round"),
    "outside_window.opens": _l("the window opens only at %(opens_at)s"),
    "outside_window.closed": _l("the window closed at %(end_at)s"),
    "outside_window.was_terminated": _l("the window was terminated at %(end_at)s"),
    "outside_window.started_before": _l("started %(started_at)s, %(seconds)s s before the window opened at "
                                        "%(opens_at)s"),
    "outside_window.ended_after_closed": _l("ended %(ended_at)s, %(seconds)s s after the window closed at "
                                            "%(end_at)s"),
    "outside_window.ended_after_was_terminated": _l("ended %(ended_at)s, %(seconds)s s after the window was "
                                                    "terminated at %(end_at)s"),
    "outside_window.started_after_closed": _l("started %(started_at)s, after the window closed at %(end_at)s"),
    "outside_window.started_after_was_terminated": _l("started %(started_at)s, after the window was terminated "
                                                      "at %(end_at)s"),
    "outside_sector": _l("azimuth %(azimuth)s° is outside the safe sector %(start)s° → %(end)s° (clockwise)"),
    "over_height": _l("height %(height)s m is above the point's maximum %(max)s m"),
    "over_range": _l("range %(range)s km is beyond the point's maximum %(max)s km"),
    "understaffed": _l("%(on_site)s certified crew checked in when firing began; the point needs %(min_crew)s"),
    "uncertified": _l("the reporting crew member's certificate expired on %(expires)s"),
    "insufficient_stock.type": _l("%(type)s: fired %(fired)s, the ledger held %(held)s (short %(short)s)"),
    "insufficient_stock.none": _l("the ledger shows no ammunition at this point"),
    "late_report": _l("received %(received_at)s, after the round closed at %(closed_at)s"),
    "not_ordered": _l("%(point)s was not ordered in round %(round)s"),
    "implausible_time.ends_after_receipt": _l("ends %(ended_at)s, %(minutes)s min after the server received it at "
                                              "%(received_at)s"),
    "implausible_time.too_long": _l("lasts %(hours)s h (%(started_at)s to %(ended_at)s), longer than a firing can "
                                    "(%(max_hours)s h at most)"),
    "no_fire_zone": _l("the firing line at %(azimuth)s° passes %(distance)s m from %(kind)s “%(zone)s”, within its "
                       "%(buffer)s m buffer"),
    "off_order.azimuth": _l("azimuth %(azimuth)s° is %(difference)s° from the ordered %(ordered)s° (at most "
                            "%(limit)s°)"),
    "off_order.rounds": _l("%(fired)s rounds fired, %(ordered)s ordered"),
    # check-in flags
    "outside_geofence": _l("%(kind)s reported %(distance)s m from the point, outside its %(geofence)s m geofence"),
    "off_shift": _l("no shift at this point covers the time of this check-in"),
    "clock_skew": _l("the phone's clock is %(offset)s s off the server's"),
    # clearance
    "no_active_round": _l("%(point)s is not ordered in an active round"),
    "declined": _l("%(point)s declined round %(round)s: %(reason)s"),
    "stood_down": _l("%(point)s was stood down: %(reason)s"),
    # alerts (opsserver/alerts/compute.py)
    "alert.understaffed": _l("%(point)s has %(on_site)s of %(min_crew)s certified crew on site in round "
                             "“%(round)s”"),
    "alert.flagged_report": _l("%(point)s report %(report)s: %(reasons)s"),
    "alert.checkin_outside_geofence": _l("%(name)s checked in (%(kind)s) %(distance)s m from %(point)s, outside "
                                         "its %(geofence)s m geofence"),
    "alert.clock_skew": _l("%(name)s's phone at %(point)s is %(minutes)s min off the server's clock; the times "
                           "it reports may be wrong"),
    "alert.window_ending": _l("%(point)s's airspace window (%(reference)s) ends in %(minutes)s min at %(end_at)s"),
    "alert.window_unreported": _l("%(point)s's window (%(reference)s) ended at %(end_at)s and no firing report "
                                  "has come in"),
    "alert.zone_conflict": _l("%(point)s's safe sector reaches within the %(buffer)s m buffer of %(kind)s “%(zone)s” "
                              "(%(distance)s m away, bearing %(bearing)s°)"),
    "alert.order_unacknowledged": _l("%(point)s has not acknowledged the order “%(order)s” issued at %(issued_at)s "
                                     "(%(minutes)s min ago)"),
    "alert.without_announcement": _l("round “%(round)s” was activated for %(points)s without a published "
                                     "announcement covering them: %(reason)s"),
    # orders (opsserver/operations/orders.py): the order in one line
    "order.readiness.3": _l("Readiness level 3: prepare"),
    "order.readiness.2": _l("Readiness level 2: stand by at the launcher"),
    "order.readiness.1": _l("Readiness level 1: ready to fire"),
    "order.fire": _l("Fire: azimuth %(azimuth)s°, elevation %(elevation)s°, %(rounds)s rounds"),
    "order.fire.one": _l("Fire: azimuth %(azimuth)s°, elevation %(elevation)s°, 1 round"),
    "order.cease": _l("Cease firing"),
    "alert.certificate_expired": _l("%(name)s's certificate %(certificate)s expired on %(date)s (shift at "
                                    "%(point)s from %(start_at)s)"),
    "alert.certificate_expiring": _l("%(name)s's certificate %(certificate)s expires on %(date)s (shift at "
                                     "%(point)s from %(start_at)s)"),
}

# Short names of the codes (flags, alert kinds, check-in kinds), for tables, lists and popups.
LABELS = {
    "no_airspace": _l("no airspace"), "outside_window": _l("outside the window"),
    "outside_sector": _l("outside the sector"), "over_height": _l("over height"), "over_range": _l("over range"),
    "understaffed": _l("understaffed"), "uncertified": _l("uncertified"),
    "insufficient_stock": _l("insufficient stock"), "late_report": _l("late report"),
    "not_ordered": _l("not ordered"), "implausible_time": _l("implausible time"),
    "outside_geofence": _l("outside the geofence"), "off_shift": _l("off shift"), "clock_skew": _l("clock skew"),
    "no_active_round": _l("no active round"), "declined": _l("declined"), "stood_down": _l("stood down"),
    "flagged_report": _l("flagged report"), "checkin_outside_geofence": _l("check-in outside the geofence"),
    "window_ending": _l("window ending"), "window_unreported": _l("window unreported"),
    "certificate_expiring": _l("certificate expiring"),
    "arrive": _l("arrival"), "depart": _l("departure"),
    "no_fire_zone": _l("no-fire zone"), "zone_conflict": _l("sector reaches a no-fire zone"),
    "off_order": _l("off the order"), "order_unacknowledged": _l("order not acknowledged"),
    "without_announcement": _l("activated without announcement"),
    # order kinds (opsserver.operations.models.ORDER_KINDS)
    "readiness": _l("readiness"), "fire": _l("fire"), "cease": _l("cease"),
    # no-fire zone kinds (rules.zones.KINDS)
    "school": _l("school"), "town": _l("town"), "village": _l("village"), "hospital": _l("hospital"),
    "airport": _l("airport clearance zone"), "oil_depot": _l("oil depot"), "power_facility": _l("power facility"),
    "highway": _l("highway"), "railway": _l("railway"), "heritage_site": _l("heritage site"), "other": _l("other"),
}

SEPARATOR = _l("; ")


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _values(params: dict) -> dict:
    """The parameters as they are written: times (`*_at`) in the one format, numbers short, kinds named."""
    out = {}
    for key, value in params.items():
        if key == "text":
            continue
        if key.endswith("_at"):
            out[key] = format_time(value)
        elif key in ("distance", "geofence"):
            out[key] = f"{value:.0f}"
        elif key == "offset":
            out[key] = f"{value:+.0f}"
        elif key == "kind":
            out[key] = code_label(value)
        else:
            out[key] = _number(value)
    return out


def message(key: str, params: dict | None = None) -> str:
    """The message of this key with these values, in the reader's language."""
    return gettext(MESSAGES[key], **_values(params or {}))


def code_label(code: str) -> str:
    """A code's short name in the reader's language (an unknown code is shown as it is)."""
    return gettext(LABELS[code]) if code in LABELS else code


def flag_text(flag: dict) -> str:
    """A flag's reason in the reader's language: from its `params`, else (stored before params) as stored."""
    params = flag.get("params")
    if params is None:
        # A reason with no values (off_shift) is stored without params: its message needs none. Any other is
        # as stored (before params), or already in the reader's words (a served flag passed on).
        if flag["code"] in MESSAGES and "%(" not in str(MESSAGES[flag["code"]]):
            return message(flag["code"])
        return flag.get("reason") or code_label(flag["code"])
    parts = params.get("parts")
    if parts is not None:
        return join_texts(message(p["text"], p) for p in parts if p.get("text") in MESSAGES) \
            or flag.get("reason", "")
    key = params.get("text", flag["code"])
    return message(key, params) if key in MESSAGES else flag.get("reason", "")


def join_texts(texts) -> str:
    """Several reasons in one line, with the reader's language's separator."""
    return gettext(SEPARATOR).join(texts)


def localized_flags(flags: list[dict]) -> list[dict]:
    """Flags as served: `{code, reason, label}`, the reason and the code's short name (`label`) in the reader's
    language; the code stays (what scripts and filters key on)."""
    return [{"code": f["code"], "reason": flag_text(f), "label": code_label(f["code"])} for f in flags]
