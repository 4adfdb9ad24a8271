"""gunicorn settings shared by the app and the baseline in the benchmarks (sync workers)."""

import os

workers = int(os.environ.get("BENCH_WORKERS", "2"))
worker_class = "sync"
backlog = 2048
timeout = 60
accesslog = None
errorlog = "-"
loglevel = "warning"
control_socket_disable = True  # two servers in one run would fight over the default socket path
worker_tmp_dir = "/dev/shm"  # as in gunicorn.conf.py: the per-request heartbeat off the database's disk
