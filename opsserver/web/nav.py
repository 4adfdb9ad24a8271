"""The command centre's navigation bar: its entries with the roles that see each, and what every page's
layout needs (who is signed in, the sign-out form, the language switch that keeps the page)."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from ..i18n import current_lang

from .auth import PAGE_ROLES, CsrfForm, page_principal, safe_next

AUDIT_ROLES = ("auditor", "admin")
ADMIN = ("admin",)


@dataclass(frozen=True)
class NavEntry:
    """One link of the bar: the endpoint it opens, its label, and the roles that see it."""

    endpoint: str
    label: object  # a lazy translation, read in the reader's language when the bar is drawn
    roles: tuple[str, ...]
    section: str | None = None  # a blueprint whose every page is under this entry (a round's pages under Rounds)

    def current(self) -> bool:
        """Whether the page being drawn is this entry's (or one of its section's)."""
        return request.endpoint == self.endpoint or (self.section is not None and request.blueprint == self.section)


NAV = (
    NavEntry("web.index", _l("Dashboard"), PAGE_ROLES),
    NavEntry("rounds.index", _l("Rounds"), PAGE_ROLES, section="rounds"),
    NavEntry("web.status_map", _l("Live map"), PAGE_ROLES),
    NavEntry("web.alerts_page", _l("Alerts"), PAGE_ROLES),
    NavEntry("announcement_pages.index", _l("Announcements"), PAGE_ROLES, section="announcement_pages"),
    NavEntry("admin.audit", _l("Audit log"), AUDIT_ROLES),
    NavEntry("admin.accounts", _l("Accounts"), ADMIN),
    NavEntry("admin.points", _l("Points"), ADMIN),
    NavEntry("admin.crew", _l("Crew"), ADMIN),
    NavEntry("admin.zones", _l("No-fire zones"), ADMIN),
    NavEntry("admin.ammo", _l("Ammunition"), PAGE_ROLES),  # a commander records movements there
)


def nav_for(role: str | None) -> list[NavEntry]:
    """The entries this role sees, leaving out any whose page the app does not serve (yet)."""
    if role not in PAGE_ROLES:
        return []
    views = current_app.view_functions
    return [entry for entry in NAV if role in entry.roles and entry.endpoint in views]


def lang_url(lang: str) -> str:
    """This page again with `?lang=` set (its other query parameters kept)."""
    if not request.endpoint:  # an error page for an unknown address: the same address again
        return f"?lang={lang}"
    path_args = request.view_args or {}
    # A query parameter named like a path part or one of url_for's own (_external…) is dropped, not a 500.
    args = {k: v for k, v in request.args.to_dict(flat=False).items() if k not in path_args and not k.startswith("_")}
    args["lang"] = [lang]
    url = url_for(request.endpoint, **path_args, **args)
    if request.method == "GET" or _answers_get(url.split("?", 1)[0]):
        return url
    # A refused form's answer at a POST-only address: the page the form was on, else the dashboard.
    back = urlsplit(request.referrer or "")
    page = safe_next(back.path) if back.netloc == request.host else None
    return f"{page or url_for('web.index')}?lang={lang}"


def _answers_get(path: str) -> bool:
    try:
        current_app.url_map.bind(request.host).match(path, method="GET")
    except HTTPException:  # 405 (POST only) or 404
        return False
    return True


def layout_context() -> dict:
    """What base.html draws the bar from (a context processor of the pages' blueprint)."""
    if not has_request_context():  # documents rendered by the CLI (archives) have no reader
        return {}
    who = page_principal()
    # The sign-out form only for someone signed in: its CSRF token would put a cookie on public pages.
    return {"page_who": who, "nav_entries": nav_for(who.role if who else None),
            "logout_form": CsrfForm() if who else None, "lang_url": lang_url, "page_lang": current_lang()}
