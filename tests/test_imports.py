"""Import directions, checked on the source: no circles, routes do not import other features' routes,
plumbing does not import features, the pure packages import neither Flask nor the app, and every
function-local import says why it is lazy.

The graph is built from the AST of opsserver/, maps/ and rules/ (module-level and function-local
imports alike, relative imports resolved), so an import hidden inside a function counts as much as one
at the top: hiding it does not remove the dependency, it only postpones the error.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("opsserver", "maps", "rules")

# The feature packages of the app: what plumbing must not import, and whose routes others must not import.
FEATURES = ("accounts", "ammo", "checkins", "demo", "operations", "records", "registry", "reports", "status", "web")
# Plumbing: what every feature may stand on. It imports nothing above it.
PLUMBING = ("opsserver.database", "opsserver.http", "opsserver.errors", "opsserver.idempotency", "opsserver.audit",
            "opsserver.fields", "opsserver.blueprint", "opsserver.extensions", "opsserver.pagination",
            "opsserver.clock", "opsserver.config", "opsserver.canonical")
# What the pure packages must not import (maps/ also not the database: plain data in, folium.Map out).
IMPURE = {"maps": ("flask", "flask_", "werkzeug", "opsserver", "sqlalchemy"),
          "rules": ("flask", "flask_", "werkzeug", "opsserver")}
# A function-local import carries this marker in a comment on its line or just above it, with its reason.
LAZY_MARK = "# lazy:"

# Exceptions, each with its reason. Nothing else is allowed; an entry that no longer matches fails too.
ALLOWED_PLUMBING = {
    # The audit log's HTTP face is a feature like any other: its routes need accounts' roles_required.
    ("opsserver.audit.routes", "opsserver.accounts.auth"): "audit's routes are routes, not plumbing",
}


@dataclass(frozen=True)
class Edge:
    """One import statement: from a module to a module of the three packages (or an outside name)."""

    source: str
    target: str
    line: int
    local: bool  # inside a function (or class body), not at module level


def module_name(path: Path) -> str:
    """The dotted module name of a source file under ROOT."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> dict[str, Path]:
    """Every module of the three packages, by dotted name."""
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _base(name: str, path: Path, level: int) -> str:
    """The package a relative import of this level starts from."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return package


def _local_lines(tree: ast.Module) -> set[int]:
    """Line numbers of import statements that are not at module level."""
    top = {id(node) for node in tree.body}
    for node in tree.body:  # module-level `if`/`try` blocks still run at import time
        if isinstance(node, (ast.If, ast.Try)):
            top |= {id(n) for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return {n.lineno for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in top}


def imports_of(name: str, path: Path, modules: set[str]) -> list[Edge]:
    """The imports of one module, resolved to module names (outside names are kept as written)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    local = _local_lines(tree)
    edges = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _base(name, path, node.level) if node.level else ""
            mod = ".".join(x for x in (base, node.module or "") if x)
            # `from pkg import sub` imports the module pkg.sub when there is one, else a name of pkg.
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
        else:
            continue
        for target in dict.fromkeys(targets):
            while target not in modules and "." in target and target.split(".")[0] in PACKAGES:
                target = target.rpartition(".")[0]  # `import opsserver.x.y` names a module or its package
            edges.append(Edge(name, target, node.lineno, node.lineno in local))
    return edges


def import_graph() -> tuple[dict[str, Path], list[Edge]]:
    """All modules of the three packages and every import between them or out of them."""
    files = source_files()
    names = set(files)
    return files, [e for name, path in files.items() for e in imports_of(name, path, names)]


def cycles(edges: list[Edge], modules: set[str]) -> list[tuple[list[str], set[str]]]:
    """The import circles: each strongly connected component of more than one module (or a module
    importing itself), as one concrete cycle through it (from its smallest name) and all its modules."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        if e.target in modules:
            graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        # Tarjan's algorithm; the graph is a few hundred modules, so recursion depth is no concern.
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [(_cycle_through(graph, comp), comp) for comp in components]


def _cycle_through(graph: dict[str, set[str]], comp: set[str]) -> list[str]:
    """A shortest cycle from the component's smallest module back to itself, inside the component."""
    start = min(comp)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & comp):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle through {start}")  # cannot happen for a strongly connected component


def _feature(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "opsserver" and parts[1] in FEATURES else None


def _is_plumbing(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in PLUMBING)


def _where(files: dict[str, Path], e: Edge) -> str:
    return f"{files[e.source].relative_to(ROOT)}:{e.line} imports {e.target}{' (in a function)' if e.local else ''}"


def test_the_graph_sees_local_and_relative_imports():
    """The checker itself: a function-local relative import is an edge, resolved to its module."""
    files, edges = import_graph()
    assert "opsserver.operations.rounds" in files and "rules" in files and "maps.status" in files
    init = {(e.target, e.local) for e in edges if e.source == "opsserver"}
    assert ("opsserver.extensions", False) in init, init
    assert any(e.source == "opsserver.cli" and e.target == "opsserver.demo.drill" for e in edges)


def test_no_import_circles():
    """No circle anywhere, counting imports inside functions."""
    files, edges = import_graph()
    found = cycles(edges, set(files))
    assert not found, "import circles (one cycle of each knot, then all its modules):\n" + "\n".join(
        f"{' -> '.join(cycle)}   [{', '.join(sorted(knot))}]" for cycle, knot in found)


def test_features_do_not_import_each_others_routes():
    """A feature's routes (or anything else of it) never import another feature's routes: what routes
    share lives in opsserver.http, what a page needs of a feature in that feature's services."""
    files, edges = import_graph()
    bad = [_where(files, e) for e in edges if e.target.endswith(".routes") and _feature(e.target)
           and _feature(e.source) != _feature(e.target) and e.source != "opsserver"]
    assert not bad, "\n".join(bad)


def test_only_the_factory_and_the_cli_import_the_pages():
    """web/ (pages, their data and templates) is the top of the app: no feature builds on it."""
    files, edges = import_graph()
    bad = [_where(files, e) for e in edges if _feature(e.target) == "web"
           and _feature(e.source) != "web" and e.source not in ("opsserver", "opsserver.cli")]
    assert not bad, "\n".join(bad)


def test_plumbing_does_not_import_features():
    """database, http, errors, idempotency, audit, fields, blueprint, extensions (and the small helpers
    pagination, clock, config) import no feature package."""
    files, edges = import_graph()
    bad = [_where(files, e) for e in edges if _is_plumbing(e.source) and _feature(e.target)
           and (e.source, e.target) not in ALLOWED_PLUMBING]
    assert not bad, "\n".join(bad)
    stale = set(ALLOWED_PLUMBING) - {(e.source, e.target) for e in edges}
    assert not stale, f"allowed exceptions that no longer occur (remove them): {stale}"


def test_maps_and_rules_are_pure():
    """maps/ and rules/ import neither Flask nor the app (maps not the database either)."""
    files, edges = import_graph()
    bad = [_where(files, e) for e in edges
           for pkg, banned in IMPURE.items() if e.source.split(".")[0] == pkg
           and any(e.target == b or e.target.startswith(b if b.endswith("_") else b + ".") for b in banned)]
    assert not bad, "\n".join(bad)


def test_every_lazy_import_says_why():
    """An import inside a function is allowed only with a reason other than a circle (start-up time of a
    heavy library, say), written beside it as `# lazy: <reason>`; otherwise it belongs at the top."""
    files, edges = import_graph()
    lines = {name: path.read_text(encoding="utf-8").splitlines() for name, path in files.items()}
    bad = []
    for e in edges:
        if not e.local:
            continue
        text = lines[e.source]
        i = e.line - 1
        above = i
        while above > 0 and text[above - 1].lstrip().startswith(("from ", "import ", "#")):
            above -= 1  # the marker may head a block of lazy imports
        if not any(LAZY_MARK in line for line in text[above:i + 1]):
            bad.append(_where(files, e))
    assert not bad, f"function-local imports without a '{LAZY_MARK} <reason>' comment:\n" + "\n".join(sorted(set(bad)))
