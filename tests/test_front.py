"""The served front's own answers: whatever nginx or gunicorn refuse before the app is problem+json too.

gunicorn answers its own refusals in HTML, so its limits sit above the front's (gunicorn.conf.py): every
over-long or over-many request meets nginx's or the app's problem+json first.
"""

import json
import socket

import pytest

from .helpers.database import fresh_database
from .helpers.servers import served


def raw_request(port: int, head: bytes) -> tuple[int, dict, bytes]:
    """Send one raw HTTP/1.1 request; (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head_part, _, body = data.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture(scope="module")
def front(tmp_path_factory, template_db):
    with fresh_database(template_db, tmp_path_factory.mktemp("front") / "ops.sqlite3") as url, served(url) as s:
        yield s


def get(headers: bytes = b"", target: bytes = b"/healthz") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: ops\r\n" + headers + b"Connection: close\r\n\r\n"


@pytest.mark.parametrize("request_bytes, status", [
    (get(target=b"/" + b"a" * 8300), 414),                        # nginx: the line is past its buffer
    (get(target=b"/" + b"a" * 8170), 414),                        # just under gunicorn's line limit: the app's
    (get(b"X-Long: " + b"a" * 8181 + b"\r\n"), 431),              # one header line at gunicorn's old limit
    (get(b"X-Long: " + b"a" * 8300 + b"\r\n"), 431),              # past nginx's buffer (its 494)
    (get(b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(4000))), 431),   # 4,000 headers: past its 4 buffers
])
def test_refusals_before_the_app_are_problems(front, request_bytes, status):
    got, headers, body = raw_request(front.port, request_bytes)
    assert got == status
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == status


def test_many_small_headers_reach_the_app(front):
    """150 headers (gunicorn refused more than 100 in HTML) are an ordinary request."""
    got, headers, body = raw_request(front.port, get(b"".join(b"X-%d: 1\r\n" % i for i in range(150))))
    assert (got, json.loads(body)) == (200, {"status": "ok"})


def test_a_body_over_the_limit_is_refused_by_the_front(front):
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    got, headers, answer = raw_request(front.port, b"POST /api/v1/auth/token HTTP/1.1\r\nHost: ops\r\n"
                                       b"Content-Type: application/json\r\nContent-Length: %d\r\n"
                                       b"Connection: close\r\n\r\n" % len(body) + body)
    assert got == 413 and headers["content-type"] == "application/problem+json"
    assert json.loads(answer)["errors"][0]["field"] == "(body)"


@pytest.mark.parametrize("size, status", [(3 * 1024 * 1024, 401), (17 * 1024 * 1024, 413)])
def test_a_zone_file_may_be_larger_up_to_its_own_limit(front, size, status):
    """A no-fire zone import passes the front up to OPS_ZONE_IMPORT_MAX_BYTES (16 MB; here it reaches the app,
    which asks for a token), and beyond it is refused there, as problem+json."""
    body = b"{" + b" " * size + b"}"
    got, headers, answer = raw_request(front.port, b"POST /api/v1/zones/import HTTP/1.1\r\nHost: ops\r\n"
                                       b"Content-Type: application/json\r\nContent-Length: %d\r\n"
                                       b"Connection: close\r\n\r\n" % len(body) + body)
    assert got == status and headers["content-type"] == "application/problem+json"
