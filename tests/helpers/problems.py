"""What a refused request answers: an RFC 9457 problem (application/problem+json), checked one way everywhere."""

from collections.abc import Callable, Iterable

PROBLEM = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}
ERROR_KEYS = {"field", "location", "detail"}


def names(entry_field: str, field: str) -> bool:
    """Whether an error entry's field is `field` or lies inside it (`ammo.0.fired` is inside `ammo`)."""
    return entry_field == field or entry_field.startswith(field + ".")


def assert_problem(resp, status: int, field: str | None = None, *, fields: Iterable[str] | None = None,
                   says: str | None = None, location: str | None = None) -> dict:
    """`resp` is a problem+json answer with this `status`, a title, a detail and well-formed `errors`; returns
    its body.

    field:    some error entry names this field, or a field inside it (others may be named too)
    fields:   the error entries name exactly these fields (in any order, each as often as given)
    says:     the detail contains this text (case-insensitive)
    location: every error entry was carried there ("json", "query", "path" or "headers")
    """
    assert field is None or isinstance(field, str), "field is one name; use fields=[...] for the exact list"
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM, resp.mimetype
    body = resp.get_json()
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status, body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert isinstance(body["errors"], list), body
    assert all(ERROR_KEYS <= set(e) and e["detail"] for e in body["errors"]), body
    named = [e["field"] for e in body["errors"]]
    if field is not None:
        assert any(names(f, field) for f in named), body
    if fields is not None:
        assert sorted(named) == sorted(fields), body
    if says is not None:
        assert says.lower() in body["detail"].lower(), body["detail"]
    if location is not None:
        assert all(e["location"] == location for e in body["errors"]), body
    return body


def assert_refused(rows: Callable[[], dict], call: Callable, status: int, says: str | None = None,
                   field: str | None = None):
    """`call()` is refused with a problem of this status and writes nothing at all (`rows`: the rows fixture)."""
    before = rows()
    resp = call()
    assert_problem(resp, status, field, says=says)
    assert rows() == before
    return resp
