"""Failed logins, counted in the app's database: every worker and every server on it sees one count.

Four ceilings over the window (`OPS_LOGIN_WINDOW`), all counted from the `login_failures` rows:

- one account from one address (`OPS_LOGIN_MAX_FAILURES`, 10): that address is refused for that account;
  the account's owner elsewhere signs in as usual;
- one account from every address together (`OPS_LOGIN_MAX_FAILURES_PER_ACCOUNT`, 100): only a guess
  spread over many addresses locks the account for everyone;
- one address for every username (`OPS_LOGIN_MAX_FAILURES_PER_ADDRESS`), and one address for usernames
  that name no account (`OPS_LOGIN_MAX_UNKNOWN_PER_ADDRESS`, lower: that is someone guessing names).
  Both close the address to every username, so a refusal tells nothing about which usernames exist.
  They are per-address limits, so `OPS_RATELIMIT_ENABLED=0` turns them off with the attempt throttle.

Only failures count, never successes: seventy crews behind one carrier address signing in at shift start
use none of it. Counted in the database rather than the rate-limit store (ratelimit.py), a failure is
written in the same transaction as its audit event, and the lockout holds when Redis does not answer.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select

from ..extensions import db
from .models import LoginFailure

F = LoginFailure


@dataclass(frozen=True)
class Lockout:
    """A ceiling reached: its scope and the seconds until enough failures have left the window."""

    scope: str
    retry_after: int

    @property
    def detail(self) -> str:
        where = {"account-address": "for this account from this address", "account": "for this account"}
        return (f"Too many failed logins {where.get(self.scope, 'from this address')}; "
                f"try again in {self.retry_after} s.")


def address_key(remote_addr: str | None) -> str:
    """The client as counted by every per-address limit: an IPv4 address whole, an IPv6 address by its /64
    (one client holds a whole /64 and could rotate through it), a request without one as '-'."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return (remote_addr or "-")[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:  # an IPv4 client on a dual-stack socket
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _rules(username: str, addr: str) -> list[tuple[str, object, str]]:
    rules = [("account-address", and_(F.username == username, F.remote_addr == addr), "OPS_LOGIN_MAX_FAILURES"),
             ("account", F.username == username, "OPS_LOGIN_MAX_FAILURES_PER_ACCOUNT")]
    if current_app.config["OPS_RATELIMIT_ENABLED"]:  # the per-address limits, with the attempt throttle's switch
        rules += [("address", F.remote_addr == addr, "OPS_LOGIN_MAX_FAILURES_PER_ADDRESS"),
                  ("address", and_(F.remote_addr == addr, F.known.is_(False)), "OPS_LOGIN_MAX_UNKNOWN_PER_ADDRESS")]
    return rules


def lockout(username: str, remote_addr: str | None, now: datetime) -> Lockout | None:
    """The first ceiling this attempt is over, or None (one query while none is reached)."""
    cfg = current_app.config
    window = cfg["OPS_LOGIN_WINDOW"]
    since, addr = now - window, address_key(remote_addr)
    rules = _rules(username, addr)
    counts = db.session.execute(
        select(*[func.count().filter(condition) for _, condition, _ in rules])
        .where(F.at >= since, or_(F.username == username, F.remote_addr == addr))).one()
    for (scope, condition, setting), count in zip(rules, counts):
        ceiling = cfg[setting]
        if count >= ceiling:
            # The lock lifts when the count falls below the ceiling: when this failure leaves the window.
            lifting = db.session.execute(select(F.at).where(condition, F.at >= since).order_by(F.at)
                                         .offset(count - ceiling).limit(1)).scalar_one()
            return Lockout(scope, max(1, math.ceil((lifting + window - now).total_seconds())))
    return None


def record_failure(username: str, remote_addr: str | None, known: bool, now: datetime) -> None:
    """Count a failed login in the caller's write transaction, and drop the failures that left the window."""
    db.session.execute(delete(F).where(F.at < now - current_app.config["OPS_LOGIN_WINDOW"]))
    db.session.add(LoginFailure(username=username[:80], remote_addr=address_key(remote_addr), known=known, at=now))
