"""Login attempts limited per client address and per account name (the `limits` library).

The counters live in `OPS_RATELIMIT_STORAGE_URI`: `memory://` keeps them in each process (one app
server), `redis://host:6379/0` shares them between app servers behind a load balancer. The account
lockout after repeated failures (accounts.services) is separate, counted from the audit log, and so
shared by every server already.
"""

import logging
import time

from flask import Flask, current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..errors import ProblemError

log = logging.getLogger(__name__)


class LoginLimits:
    """The two login limits of one app, with their storage."""

    def __init__(self, app: Flask):
        cfg = app.config
        self.enabled = cfg["OPS_RATELIMIT_ENABLED"]
        uri = cfg["OPS_RATELIMIT_STORAGE_URI"]
        # A Redis that stops answering must not hold a login for long (see check: it is let through).
        options = {"socket_timeout": 1, "socket_connect_timeout": 1} if uri.startswith("redis") else {}
        self.limiter = MovingWindowRateLimiter(storage_from_string(uri, **options))
        self.rules = (("address", parse(cfg["OPS_LOGIN_RATE_PER_ADDRESS"])),
                      ("account", parse(cfg["OPS_LOGIN_RATE_PER_ACCOUNT"])))

    def check(self, address: str | None, username: str) -> None:
        """Count one attempt; refuse it with 429 and Retry-After when either limit is used up."""
        if not self.enabled:
            return
        keys = {"address": address or "-", "account": username.strip().lower()}
        for scope, item in self.rules:
            try:
                allowed = self.limiter.hit(item, "login", scope, keys[scope])
                stats = None if allowed else self.limiter.get_window_stats(item, "login", scope, keys[scope])
            except Exception:  # the shared counter store (Redis) is down
                # Open, not closed: crews must still log in to report. The lockout after repeated
                # failures is counted from the audit log, so it still holds.
                log.exception("login rate limit store unavailable; attempt let through")
                return
            if not allowed:
                retry = max(1, int(stats.reset_time - time.time()) + 1)
                log.warning("login rate limit reached for %s %s", scope, keys[scope])
                raise ProblemError(429, f"Too many login attempts from this {scope}; try again in {retry} s.",
                                   type_="rate-limited", headers={"Retry-After": str(retry)})


def init_login_limits(app: Flask) -> None:
    app.extensions["ops_login_limits"] = LoginLimits(app)


def check_login_rate(address: str | None, username: str) -> None:
    """The current app's login limits (see LoginLimits.check)."""
    current_app.extensions["ops_login_limits"].check(address, username)
