"""Folium maps of the field operations, built from plain data: no Flask, no database.

Routes fetch the data (the status feed, a round's points, reports, airspace requests and events, and
the region's outlines for ``base_layer``), call a builder and render ``m.get_root().render()``; the map
reads the same with no tiles and no internet (``maps.base``). Every script and stylesheet the maps load is
served by the app from npm packages (see ``maps.assets``), never from a CDN. Text from the data
(names, references, reasons) reaches the page's scripts only as script-safe JSON, and popups and
tooltips are built from it as text in the browser (see ``maps.safe``).
"""

from .assets import OfflineMap, UnlocalizedAssetError, localize, npm_packages
from .geometry import range_ring, sector_polygon
from .regions import build_region_map
from .rounds import build_replay_map, build_round_map
from .status import build_status_map

__all__ = [
    "OfflineMap",
    "UnlocalizedAssetError",
    "build_region_map",
    "build_replay_map",
    "build_round_map",
    "build_status_map",
    "localize",
    "npm_packages",
    "range_ring",
    "sector_polygon",
]
