"""Signing in to the command-centre pages the way a browser does: the login form with its CSRF token."""

import re

PAGE_URLS = ["/", "/maps/status", "/maps/status.geojson", "/maps/alerts.json"]  # behind a page session


def csrf_token(client, url="/login") -> str:
    """The CSRF token of the form on the page at `url`."""
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def sign_in(client, username="commander", password="password-commander"):
    """Post the login form (a page session in the client's cookies); the answer."""
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})
