"""One rule, one place: a safety rule written again outside the rules package fails here.

The rules live in rules/ (Python, with the SQL expression beside each predicate a query needs) and in
opsserver/web/static/rules.js (the browser's sector, geofence and minimum-crew checks, run against the
same vectors). This test reads the code of opsserver/ and maps/ (Python by its syntax tree, scripts and
templates by pattern) and lists every place that decides one of those rules itself: a comparison
against a minimum crew, a sector width worked out with `% 360`, the on-shift or overlap interval written
on shift columns, the check-in clock-skew limit or the report's "no flags" JSON compared by hand, a flag
of the rules' own codes made outside them, the zero-width sector refused in words of its own.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("opsserver", "maps")
RULES_JS = ROOT / "opsserver" / "web" / "static" / "rules.js"
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def python_files() -> list[Path]:
    return sorted(p for top in SOURCES for p in (ROOT / top).rglob("*.py"))


def script_files() -> list[Path]:
    """The browser's scripts and the page templates (rules.js itself excepted)."""
    found = []
    for top in SOURCES:
        for pattern in ("*.js", "*.html"):
            found += [p for p in (ROOT / top).rglob(pattern) if p != RULES_JS and "node_modules" not in p.parts]
    return sorted(found)


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:100]}"


def mentions(node: ast.AST, name: str) -> bool:
    """The expression reads `name` (a variable, an attribute or a subscripted one)."""
    return any(isinstance(n, ast.Name) and n.id == name or isinstance(n, ast.Attribute) and n.attr == name
               for n in ast.walk(node))


def attr_name(node: ast.AST) -> str | None:
    return node.attr if isinstance(node, ast.Attribute) else None


def rule_names() -> set[str]:
    """The public names of the rules package: defining one of them elsewhere is a second definition."""
    tree = parsed(ROOT / "rules" / "__init__.py")
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return {elt.value for elt in node.value.elts}
    raise AssertionError("rules/__init__.py has no __all__")


def rule_flag_codes() -> set[str]:
    """Every flag code the rules package makes (`Flag("code", ...)`)."""
    codes = set()
    for path in (ROOT / "rules").glob("*.py"):
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Flag" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                codes.add(node.args[0].value)
    return codes


# --- Python ----------------------------------------------------------------------------------------

def minimum_crew_comparisons() -> list[str]:
    found = []
    for path in python_files():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Compare) and any(isinstance(op, ORDERING) for op in node.ops) \
                    and any(mentions(x, "min_crew") for x in [node.left, *node.comparators]):
                found.append(where(path, node))
    return found


def sector_width_computations() -> list[str]:
    """`(end - start) % 360`: the clockwise width of a sector, which is rules.sector_width's job."""
    found = []
    for path in python_files():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.BinOp) \
                    and isinstance(node.left.op, ast.Sub) and isinstance(node.right, ast.Constant) \
                    and node.right.value in (360, 360.0) and "start" in ast.unparse(node.left):
                found.append(where(path, node))
    return found


def _interval_pair(compares: list[ast.Compare]) -> bool:
    """A start compared before something and an end after it, together: [starts_at, ends_at) written out."""
    starts = any(attr_name(c.left) == "starts_at" and isinstance(c.ops[0], (ast.Lt, ast.LtE)) for c in compares)
    ends = any(attr_name(c.left) == "ends_at" and isinstance(c.ops[0], (ast.Gt, ast.GtE)) for c in compares)
    return starts and ends


def shift_interval_comparisons() -> list[str]:
    """On shift (`starts_at <= at`, `ends_at > at`) or overlapping (`starts_at < end`, `ends_at > start`) by hand."""
    found = []
    for path in python_files():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Call):
                args = [a for a in node.args if isinstance(a, ast.Compare)]
                if _interval_pair(args):
                    found.append(where(path, node))
            elif isinstance(node, ast.BoolOp):
                if _interval_pair([v for v in node.values if isinstance(v, ast.Compare)]):
                    found.append(where(path, node))
            elif isinstance(node, ast.Compare) and len(node.ops) > 1:  # starts_at <= at < ends_at
                names = [attr_name(x) for x in [node.left, *node.comparators]]
                if "starts_at" in names and "ends_at" in names:
                    found.append(where(path, node))
    return found


def flagged_by_hand() -> list[str]:
    """The check-in's clock-skew limit or a report's empty flags JSON used outside the rules."""
    found = []
    for path in python_files():
        for node in ast.walk(parsed(path)):
            if isinstance(node, (ast.Name, ast.Attribute)) and (getattr(node, "id", None) or node.attr) \
                    == "CLOCK_SKEW_LIMIT_S":
                found.append(where(path, node))
            elif isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and c.value == "[]"
                                                       for c in [node.left, *node.comparators]):
                found.append(where(path, node))
    return found


def rule_flags_made_elsewhere() -> list[str]:
    """`Flag("insufficient_stock", ...)` and the like: the rules make their own flags, with their reasons."""
    codes, found = rule_flag_codes(), []
    for path in python_files():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Call) and (getattr(node.func, "id", None) or attr_name(node.func)) == "Flag" \
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in codes:
                found.append(where(path, node))
    return found


DATABASE_HANDLES = {"conn", "connection", "session", "on"}


def rules_defined_again() -> list[str]:
    """A function of plain values named like a rule (a query taking a connection may share the name: it asks the
    database, through the rule's SQL expression), or the zero-width sector refused in words of its own."""
    names, found = {n for n in rule_names() if n.islower()}, []
    for path in python_files():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.FunctionDef) and node.name in names \
                    and not DATABASE_HANDLES & {a.arg for a in node.args.args + node.args.kwonlyargs}:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: def {node.name}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and "sector has no width" in node.value:
                found.append(where(path, node))
    return found


# --- scripts and templates ---------------------------------------------------------------------------

# `x < p.min_crew`, `p.min_crew >= n` (not `=>` arrows, not `-->`); `% 360` (not `% 3600`); a geodesic Inverse.
SCRIPT_PATTERNS = {
    "minimum crew": re.compile(r"(?<![=\-])[<>]=?\s*[\w.\[\]'\"]*min_crew\b|\bmin_crew\b[\w.\]'\"]*\s*[<>](?!\w)"),
    "sector width": re.compile(r"%\s*360(?!\d)"),
    "geodesic distance": re.compile(r"\.Inverse\("),
}


def script_rules() -> list[str]:
    found = []
    for path in script_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for rule, pattern in SCRIPT_PATTERNS.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {rule}: {line.strip()[:100]}")
    # Scripts written inside Python strings (folium templates) count too.
    for path in sorted((ROOT / "maps").rglob("*.py")):
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for rule, pattern in SCRIPT_PATTERNS.items():
                    if rule == "minimum crew" and pattern.search(node.value):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {rule} in a string")
    return found


CHECKS = {
    "a minimum-crew comparison (use rules.understaffed)": minimum_crew_comparisons,
    "a sector width computed with % 360 (use rules.sector_width)": sector_width_computations,
    "an on-shift or overlap interval on shift columns (use rules.on_shift_sql / overlaps_sql)":
        shift_interval_comparisons,
    "a flagged check-in or report decided by hand (use rules.checkin_flagged_sql / report_flagged_sql)":
        flagged_by_hand,
    "a rule's flag made outside the rules (use its *_flag function)": rule_flags_made_elsewhere,
    "a rule defined again (import it from rules)": rules_defined_again,
    "a rule in a page script or template (use OpsRules from rules.js)": script_rules,
}


@pytest.mark.parametrize("what", CHECKS)
def test_no_second_definition(what):
    found = CHECKS[what]()
    assert not found, f"{what}:\n  " + "\n  ".join(found)


def imports_from_rules(path: Path) -> set[str]:
    """The names a module takes from the rules package: `from rules import x` or `rules.x` after `import rules`."""
    tree, names = parsed(path), set()
    imported = False
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "rules" and node.level == 0:
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.Import) and any(a.name == "rules" and a.asname is None for a in node.names):
            imported = True
    if imported:
        names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                  and isinstance(n.value, ast.Name) and n.value.id == "rules"}
    return names


# Where the issue found each rule written again: those modules now take it from the rules package.
USERS = {
    "maps/geometry.py": {"sector_width"},
    "opsserver/alerts/compute.py": {"understaffed", "overlaps_sql"},
    "opsserver/operations/state.py": {"understaffed"},
    "opsserver/operations/context.py": {"on_shift_sql"},
    "opsserver/operations/reports.py": {"firing_flags", "late_report_flag", "not_ordered_flag"},
    "opsserver/operations/clearance.py": {"firing_flags", "no_stock_flag"},
    "opsserver/operations/routes.py": {"report_flagged_sql"},
    "opsserver/checkins/services.py": {"on_shift_sql", "on_site_sql"},
    "opsserver/checkins/routes.py": {"checkin_flagged_sql"},
    "opsserver/registry/routes.py": {"on_shift_sql", "certificate_status_sql"},
    "opsserver/registry/services.py": {"overlaps_sql", "sector_has_width", "sector_width"},
    "opsserver/registry/schemas.py": {"sector_has_width"},
}


@pytest.mark.parametrize("module", USERS)
def test_the_rule_comes_from_the_rules_package(module):
    missing = USERS[module] - imports_from_rules(ROOT / module)
    assert not missing, f"{module} does not take {sorted(missing)} from the rules package"


def test_the_rules_package_is_pure():
    """rules/ imports neither Flask, a database library nor the app: the standard library and the geometry
    libraries only (geographiclib; shapely, pyproj and numpy for the no-fire zones); the SQL twins take their
    columns as arguments and use the operators those carry."""
    allowed = {"dataclasses", "datetime", "zoneinfo", "math", "functools", "geographiclib", "shapely", "pyproj",
               "numpy"}
    for path in (ROOT / "rules").glob("*.py"):
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Import):
                tops = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = {node.module.split(".")[0]}
            else:
                continue
            assert tops <= allowed, f"{path.relative_to(ROOT)} imports {tops - allowed}"
