"""The township map: the panel, its graphics items and its overlays (see panel.py)."""
from ...core.classes import Classes, classify
from .items import ChoroplethItem, EventPointsItem, HighlightItem, TownshipLabel
from .panel import MapPanel

__all__ = ["ChoroplethItem", "Classes", "EventPointsItem", "HighlightItem", "MapPanel",
           "TownshipLabel", "classify"]
