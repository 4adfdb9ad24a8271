"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ops ...`."""

from opsserver import create_app

app = create_app()
