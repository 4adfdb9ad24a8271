"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ops ...`."""

import gc

from opsserver import create_app

app = create_app()
# The 160,000 objects of the built app live as long as the process: moved out of the collector's way,
# its full collections no longer walk them (one took 75 ms, about every 4,000 check-ins).
gc.freeze()
