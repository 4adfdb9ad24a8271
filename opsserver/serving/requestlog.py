"""Request ids and one JSON line per request, for logs gathered from several app servers."""

import logging
import os
import re
import sys
import time

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("opsserver.requests")
# A caller's (or the load balancer's) id is kept when it is plain; anything else gets a fresh one.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id() -> str:
    """This request's id (also sent back in `X-Request-ID`)."""
    return g.get("request_id") or "-"


def init_request_log(app: Flask) -> None:
    """Give every request an id, and log it as JSON when `OPS_REQUEST_LOG` is on."""
    enabled = app.config["OPS_REQUEST_LOG"]
    if enabled and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s", timestamp="time",
                                           rename_fields={"levelname": "level"}))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    @app.before_request
    def _start():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _ACCEPTED_ID.fullmatch(given) else os.urandom(16).hex()
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = request_id()
        if enabled:
            principal = g.get("principal")
            # The path only: query strings and bodies may carry what a log must not (SPEC: no secrets).
            log.info("request", extra={
                "request_id": request_id(), "method": request.method, "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000, 2),
                "remote_addr": request.remote_addr, "user": principal.username if principal else None})
        return response
