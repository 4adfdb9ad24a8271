"""The role contract (roles.toml beside this file): reading it, naming the app's routes the way it does,
and rendering the README's role table from it. Run as `python -m tests.helpers.roles` to print that table."""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

CONTRACT_FILE = Path(__file__).with_name("roles.toml")
ROLES = ("crew", "commander", "auditor", "admin")
PUBLIC = "public"
# The README's table sits between these two lines.
BEGIN = "<!-- role table: generated from tests/helpers/roles.toml (python -m tests.helpers.roles) -->"
END = "<!-- end of role table -->"


@dataclass(frozen=True)
class Route:
    """One row of the contract: who may call METHOD /path."""

    method: str
    path: str
    group: str
    roles: tuple[str, ...]  # empty when public
    public: bool

    def allows(self, role: str | None) -> bool:
        """Whether `role` (None: no token at all) may call it."""
        return self.public or role in self.roles


def load(path: Path = CONTRACT_FILE) -> dict[tuple[str, str], Route]:
    """The contract, keyed by (method, path); refuses unknown roles and routes listed twice."""
    contract: dict[tuple[str, str], Route] = {}
    for group, rows in tomllib.loads(path.read_text()).items():
        for key, who in rows.items():
            method, _, route_path = key.partition(" ")
            public = who == PUBLIC
            roles = () if public else tuple(who)
            if not public and (not roles or set(roles) - set(ROLES)):
                raise ValueError(f"{path.name}: {key} = {who!r}: give roles out of {ROLES} or {PUBLIC!r}")
            if (method, route_path) in contract:
                raise ValueError(f"{path.name}: {key} is listed twice")
            contract[(method, route_path)] = Route(method, route_path, group, roles, public)
    return contract


def openapi_path(rule: str) -> str:
    """A Flask rule written as OpenAPI writes paths: /rounds/<int:round_id> is /rounds/{round_id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def app_routes(app) -> dict[tuple[str, str], object]:
    """Every (method, path) the app serves, with its werkzeug rule (HEAD and OPTIONS come with GET)."""
    return {(method, openapi_path(rule.rule)): rule for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})}


def _cell(routes: list[Route], role: str | None) -> str:
    parts = []
    for kind, mine in (("read", [r for r in routes if r.method == "GET"]),
                       ("write", [r for r in routes if r.method != "GET"])):
        allowed = [r for r in mine if r.allows(role)]
        if allowed:
            parts.append(kind if len(allowed) == len(mine) else f"some {kind}s")
    return ", ".join(parts) or "—"


def role_table(contract: dict[tuple[str, str], Route] | None = None) -> str:
    """The README's table: per group of routes, what each role (and a caller without a token) may do."""
    contract = load() if contract is None else contract
    groups: dict[str, list[Route]] = {}
    for route in contract.values():
        groups.setdefault(route.group, []).append(route)
    lines = ["| routes | no token | " + " | ".join(ROLES) + " |", "| --- " * (len(ROLES) + 2) + "|"]
    for group, routes in groups.items():
        lines.append(f"| {group} | " + " | ".join(_cell(routes, role) for role in (None, *ROLES)) + " |")
    return "\n".join([BEGIN, *lines, END])


def readme_table(text: str) -> str | None:
    """The role table as the README has it (None when its markers are missing)."""
    start, end = text.find(BEGIN), text.find(END)
    return text[start:end + len(END)] if 0 <= start < end else None


if __name__ == "__main__":
    print(role_table())
