"""The audit page and the admin pages (accounts, points, crew, ammunition, no-fire zones): one blueprint, `admin`,
with a module per concern; the pages call the services the API calls."""

from . import accounts, ammo, audit, crew, points, zones  # noqa: F401 (each adds its routes to the blueprint)
from .common import bp

__all__ = ["bp"]
