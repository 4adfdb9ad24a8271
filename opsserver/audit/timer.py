"""A timer in each server process that pins a quiet head: the last events before a quiet period get their
signed checkpoint without waiting for a later write.

Started lazily by the first request a process serves (threads do not survive a fork: each worker starts
its own), as database.py starts its WAL checkpointer. A daemon thread, in an app context of its own; it
ends when its app is gone, its SQLite database file is deleted or `stop` is called (a test's app before
its database is dropped). Several processes may sign the same head at once, which is harmless.
"""

import logging
import os
import threading
import time
import weakref

from flask import Flask, current_app

from ..extensions import db
from . import checkpoints

log = logging.getLogger(__name__)
_timers: dict[tuple[int, int], threading.Thread] = {}
_guard = threading.Lock()
_TICK = 0.5  # seconds


class _Timer(threading.Thread):
    """Every half interval (two reads): sign a checkpoint of the head when it is past the longest one and that is at
    least the interval old."""

    def __init__(self, app: Flask, key: tuple[int, int]):
        super().__init__(daemon=True, name="audit-checkpoint-timer")
        self.stopped = threading.Event()
        self.app, self.key = weakref.ref(app), key  # a weak reference: the thread keeps no app alive
        url = db.engine.url
        self.sqlite_file = url.database if url.get_backend_name() == "sqlite" and url.database not in (
            None, "", ":memory:") else None

    def _round(self) -> bool:
        app = self.app()
        if app is None or (self.sqlite_file and not os.path.exists(self.sqlite_file)):
            return False
        with app.app_context():
            try:
                checkpoints.sign_if_quiet()
            except checkpoints.ChainContradictsCheckpoint:
                pass  # logged where it was found; verification names what is wrong
            except Exception:
                log.exception("the audit checkpoint timer could not sign; it tries again next round")
        return True

    def run(self) -> None:
        try:
            last = time.monotonic()
            while True:
                if self.stopped.wait(_TICK):  # a short tick, so that a changed interval takes effect soon
                    return
                app = self.app()
                if app is None:
                    return
                interval = float(app.config["OPS_AUDIT_CHECKPOINT_INTERVAL_S"])
                del app
                if time.monotonic() - last < max(interval / 2, _TICK):
                    continue
                last = time.monotonic()
                if self.stopped.is_set() or not self._round():
                    return
        finally:
            with _guard:
                _timers.pop(self.key, None)


def start() -> None:
    """Start this process's timer for the current app, once (registered before every request: a dict look-up)."""
    key = (os.getpid(), id(current_app._get_current_object()))
    if key in _timers:
        return
    with _guard:
        if key not in _timers:
            _timers[key] = _Timer(current_app._get_current_object(), key)
            _timers[key].start()


def stop(app: Flask) -> None:
    """End this process's timer for `app` and wait for its round to finish (before its database goes away:
    a round still running would log a failed connection from a thread of its own)."""
    with _guard:
        timer = _timers.pop((os.getpid(), id(app)), None)
    if timer is not None:
        timer.stopped.set()
        timer.join(timeout=10)
