"""Production gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app` (every value from the environment).

Sync workers: each request holds one worker, so a slow phone upload cannot starve the others of CPU,
and a crash loses at most the request in flight (the client retries with its Idempotency-Key).
On one SQLite file keep OPS_WORKERS at 2 (writers share one lock; more workers queue longer, see
docs/performance.md); on PostgreSQL use about two per core, and more app servers behind the balancer.
"""

import os

bind = os.environ.get("OPS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("OPS_WORKERS", "2"))
worker_class = "sync"
timeout = int(os.environ.get("OPS_WORKER_TIMEOUT", "30"))  # a worker silent this long is killed and replaced
graceful_timeout = 30  # on SIGTERM, requests in flight get this long to finish
keepalive = 2
max_requests = 20000  # recycle workers now and then, with jitter so they do not all restart at once
max_requests_jitter = 2000
backlog = 2048
worker_tmp_dir = "/dev/shm"  # heartbeat file in memory, not on the database's disk
# Behind the nginx front (deploy/nginx/proxy.conf), whose 8 KB header buffers refuse longer lines first,
# with problem+json; gunicorn's own refusals are HTML, so its limits sit above nginx's. The app refuses a
# target over 4,000 bytes (414) and headers over 8,000 / 16,384 bytes (431) itself.
limit_request_line = 8190
limit_request_fields = 32768  # nginx bounds the headers' total (4 × 8 KB buffers)
limit_request_field_size = 16384
# Trust X-Forwarded-* only from the load balancer's address.
forwarded_allow_ips = os.environ.get("OPS_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None  # the app writes one JSON line per request, with its request id (OPS_REQUEST_LOG)
errorlog = "-"
loglevel = os.environ.get("OPS_LOG_LEVEL", "info")
# No gunicornc control socket: its one default path in $HOME clashes between app servers on one host.
control_socket_disable = True
