"""The login attempt throttle: attempts per client address, counted once for every worker (`limits`).

It guards the server's time (each attempt is a slow Argon2 check), not the accounts: the lockouts after
failed logins are lockout.py's, in the app's database. The counters live in `OPS_RATELIMIT_STORAGE_URI`:
`database://` (the default) in the app's own database, so every worker and every server on it shares
them; `redis://host:6379/0` in a Redis, which spares the database a write per attempt; `memory://`
counts in each process alone (one worker only, e.g. a test).
"""

import logging
import time

from flask import Flask, current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from ..errors import ProblemError
from ..extensions import db
from .dbstorage import DatabaseStorage
from .lockout import address_key

log = logging.getLogger(__name__)


def _storage(app: Flask, uri: str):
    if uri.split(":", 1)[0] in DatabaseStorage.STORAGE_SCHEME:
        with app.app_context():
            return storage_from_string(uri, engine=db.engine)
    # A Redis that stops answering must not hold a login for long (see check: it is let through).
    options = {"socket_timeout": 1, "socket_connect_timeout": 1} if uri.startswith("redis") else {}
    return storage_from_string(uri, **options)


class LoginLimits:
    """One app's login throttle, with its storage."""

    def __init__(self, app: Flask):
        cfg = app.config
        self.enabled = cfg["OPS_RATELIMIT_ENABLED"]
        # Fixed windows: the one strategy every storage here supports (database, Redis, memory).
        self.limiter = FixedWindowRateLimiter(_storage(app, cfg["OPS_RATELIMIT_STORAGE_URI"]))
        self.per_address = parse(cfg["OPS_LOGIN_RATE_PER_ADDRESS"])

    def check(self, address: str | None) -> None:
        """Count one attempt from this address; refuse it with 429 and Retry-After beyond the limit."""
        if not self.enabled:
            return
        key = address_key(address)
        try:
            allowed = self.limiter.hit(self.per_address, "login", "address", key)
            stats = None if allowed else self.limiter.get_window_stats(self.per_address, "login", "address", key)
        except Exception:  # the counter store (Redis) does not answer
            # Open, not closed: crews must still log in to report. The lockouts after failed logins are
            # counted in the app's database, so they still hold.
            log.exception("login rate limit store unavailable; attempt let through")
            return
        if not allowed:
            retry = max(1, int(stats.reset_time - time.time()) + 1)
            log.warning("login rate limit reached for address %s", key)
            raise ProblemError(429, f"Too many login attempts from this address; try again in {retry} s.",
                               type_="rate-limited", headers={"Retry-After": str(retry)})


def init_login_limits(app: Flask) -> None:
    app.extensions["ops_login_limits"] = LoginLimits(app)


def check_login_rate(address: str | None) -> None:
    """The current app's login throttle (see LoginLimits.check)."""
    current_app.extensions["ops_login_limits"].check(address)
