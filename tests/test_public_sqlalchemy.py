"""SQLAlchemy's public API only: no module of the app reaches into its private internals.

An exact version pin once guarded code that read compiled statements' bind processors and result
processors; a new release could change those without notice. This reads every module's syntax tree
and fails on the internals named below, on any `_private` attribute of a name imported from
SQLAlchemy (or of `super()` in a subclass of one), and on any other `_private` attribute of an object
that is not the module's own, unless it is on the short list of documented exceptions.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for d in ("opsserver", "bench") for p in (ROOT / d).rglob("*.py"))
# Internals of compiled statements and types that the old prepared statements used.
INTERNALS = {"_bind_processors", "_cached_result_processor", "positiontup", "construct_params",
             "_result_columns", "_compiled_cache", "_execute_context", "_cursor_execute"}
# Underscored names that are public API: a Row's documented attributes (named so they cannot clash with
# a column's), werkzeug's LocalProxy, and attributes the app sets on its own objects (`_ops_…`).
DOCUMENTED = {"_mapping", "_asdict", "_fields", "_t", "_tuple", "_get_current_object"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _sqlalchemy_names(tree: ast.Module) -> set[str]:
    """Names a module binds to SQLAlchemy's modules or objects (Flask-SQLAlchemy's too)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names
                      if a.name.split(".")[0] in ("sqlalchemy", "flask_sqlalchemy")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("sqlalchemy",
                                                                                       "flask_sqlalchemy"):
            names |= {a.asname or a.name for a in node.names}
    return names


def offences(source: str) -> list[str]:
    """Each use of a SQLAlchemy internal in this module's source, as 'line: text'."""
    tree = ast.parse(source)
    sa = _sqlalchemy_names(tree)
    sa_classes = {node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                  and any(isinstance(b, ast.Name) and b.id in sa or isinstance(b, ast.Attribute)
                          and isinstance(b.value, ast.Name) and b.value.id in sa for b in node.bases)}
    in_sa_class = {id(n) for cls in sa_classes for n in ast.walk(cls)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner, attr = node.value, node.attr
        is_super = isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super"
        own = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
        bad = attr in INTERNALS or (_private(attr) and (
            isinstance(owner, ast.Name) and owner.id in sa  # sqlalchemy._x, Session._x
            or is_super and id(node) in in_sa_class  # a SQLAlchemy base class's private hook
            or not (own or is_super or attr in DOCUMENTED or attr.startswith("_ops_"))))
        if bad:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sqlalchemy_internals(path):
    assert offences(path.read_text()) == []


@pytest.mark.parametrize("source", [
    "x = compiled._bind_processors",
    "p = column.type._cached_result_processor(dialect, None)",
    "values = compiled.construct_params(params)",
    "from sqlalchemy import engine\nengine._private_thing()",
    "from sqlalchemy.types import TypeDecorator\nclass T(TypeDecorator):\n    def f(self):\n"
    "        return super()._cached_bind_processor(1)",
    "row = result.first()\nrow._something_internal",
])
def test_the_check_sees_an_internal(source):
    """The check itself: each of these uses of an internal is caught."""
    assert offences(source)


def test_the_check_lets_public_names_through():
    source = ("row = result.first()\nrow._mapping\nfrom flask import g\ng._ops_facts = 1\n"
              "class F(Field):\n    def d(self):\n        return super()._deserialize(1)\n")
    assert offences(source) == []
