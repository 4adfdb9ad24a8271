"""Real app servers for tests and benchmarks: gunicorn with the production settings, alone or behind
the nginx front that is deployed (deploy/nginx/proxy.conf through opsserver.serving.front)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from opsserver.serving import front

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    """Wait until `base`/readyz answers 200; fail early when `proc` has died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} at {base} did not come up")
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group (graceful), SIGKILL after 30 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_gunicorn(db_url: str, port: int, workers: int = 2, args: tuple[str, ...] = (), **env) -> subprocess.Popen:
    """gunicorn -c gunicorn.conf.py (sync workers, unless `args` say otherwise) on 127.0.0.1:`port`, not yet
    waited for."""
    environ = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": "testing", "OPS_REQUEST_LOG": "0",
               "OPS_WORKERS": str(workers), "OPS_BIND": f"127.0.0.1:{port}", "OPS_LOG_LEVEL": "warning",
               "OPS_RATELIMIT_ENABLED": "0", **{k: str(v) for k, v in env.items()}}
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), *args, "wsgi:app"],
                            cwd=ROOT, env=environ, start_new_session=True)


@contextmanager
def app_server(db_url: str, workers: int = 2, args: tuple[str, ...] = (), **env):
    """The app under gunicorn alone on a free port; yields its base URL and the process (for tests that
    kill it). Ready once /readyz answers 200."""
    port = free_port()
    proc = start_gunicorn(db_url, port, workers, args, **env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, "app server")
        yield base, proc
    finally:
        stop(proc)


REDIS_SERVER = "/usr/bin/redis-server"


@contextmanager
def redis_server(directory: Path):
    """Debian's redis-server on a free port, nothing persisted; yields its URL."""
    if not os.path.exists(REDIS_SERVER):
        raise RuntimeError(f"Debian's redis-server is needed at {REDIS_SERVER} (scripts/test.sh installs it)")
    port = free_port()
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(directory)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class Served:
    """The served configuration: nginx (the front) in front of gunicorn."""
    base: str            # the front's URL: what phones and screens use
    port: int            # the front's port
    app: subprocess.Popen
    app_base: str        # gunicorn's own URL, behind the front
    front: subprocess.Popen


@contextmanager
def served(db_url: str, workers: int = 2, **env):
    """gunicorn (production settings, trusting one proxy) behind the nginx front rendered from
    deploy/nginx; yields a Served. Needs Debian's nginx at /usr/sbin/nginx."""
    if not shutil.which(front.NGINX):
        raise RuntimeError("nginx is not installed (apt-get install nginx; scripts/test.sh does)")
    app_port, front_port = free_port(), free_port()
    app = start_gunicorn(db_url, app_port, workers, OPS_TRUSTED_PROXIES=1, **env)
    run_dir = Path(tempfile.mkdtemp(prefix="ops-front-"))
    config = front.render(f"127.0.0.1:{front_port}", f"127.0.0.1:{app_port}", run_dir)
    nginx = subprocess.Popen(front.command(config), start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{app_port}", app, "app server")
        wait_ready(f"http://127.0.0.1:{front_port}", nginx, "nginx front")
        yield Served(f"http://127.0.0.1:{front_port}", front_port, app, f"http://127.0.0.1:{app_port}", nginx)
    finally:
        stop(app)
        stop(nginx)
        shutil.rmtree(run_dir, ignore_errors=True)


def http_json(method: str, url: str, body=None, token: str | None = None, timeout: float = 60,
              **headers) -> tuple[int, dict, dict]:
    """One HTTP request to a real server: (status, JSON body or {}, headers)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        **({"Content-Type": "application/json"} if data is not None else {}),
        **({"Authorization": f"Bearer {token}"} if token else {}), **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw, status, hdrs = resp.read(), resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        raw, status, hdrs = err.read(), err.code, dict(err.headers)
    return status, (json.loads(raw) if raw else {}), hdrs
