"""Shared test plumbing: real servers (gunicorn alone, or behind the nginx front) and slow clients."""
