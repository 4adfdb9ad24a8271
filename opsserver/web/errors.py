"""HTML error pages for the site's pages (the API keeps its problem documents): in the reader's language,
with the navigation bar when someone is signed in."""

import logging

from flask import g, render_template, request
from flask_babel import gettext as _

log = logging.getLogger(__name__)

# Paths answered for scripts, not people: they keep problem+json (the API, the files pages load, the probes).
SCRIPT_PREFIXES = ("/api/", "/static/", "/vendor/", "/healthz", "/readyz")
SCRIPT_SUFFIXES = (".json", ".geojson")
# A request too large to read is refused as the front (nginx) refuses it, whatever its path: a problem document.
TOO_LARGE = (413, 414, 431)


def is_page_request() -> bool:
    """Whether the request is for a page a person reads (not the API, a feed the pages poll, or a probe)."""
    path = request.path
    return not (path == "/api" or path.startswith(SCRIPT_PREFIXES) or path.endswith(SCRIPT_SUFFIXES))


def _texts(status: int) -> tuple[str, str]:
    texts = {
        400: (_("Bad request"), _("The address or the form was not understood.")),
        401: (_("Sign-in needed"), _("This page needs you to sign in, or the token sent is not valid.")),
        403: (_("Not allowed"), _("Your account may not open this page.")),
        404: (_("Page not found"), _("There is no page at this address.")),
        405: (_("Method not allowed"), _("This page does not take this kind of request.")),
        500: (_("Server error"), _("Something went wrong on the server; it has been logged.")),
    }
    return texts.get(status, (_("Error"), _("The request could not be answered.")))


def page_error(status: int, headers: dict | None = None):
    """The HTML answer for an error on a page, or None for a script's path (the caller answers a problem)."""
    if status in TOO_LARGE or not is_page_request():
        return None
    if status >= 500:
        # Whatever broke may have been the database: draw the bar only from a sign-in already looked up.
        g.setdefault("page_principal", None)
    heading, message = _texts(status)
    try:
        body = render_template("error.html", status=status, heading=heading, message=message)
    except Exception:  # an error page that fails must not hide the first error: answer the problem
        log.exception("the error page could not be drawn")
        return None
    kept = {k: v for k, v in (headers or {}).items() if k.lower() not in ("content-type", "content-length")}
    return body, status, kept
