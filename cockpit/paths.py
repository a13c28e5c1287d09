"""Where the cockpit finds its bundled files and keeps its warehouse, in a checkout, an install or a frozen build."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def bundle_root() -> Path:
    """The folder holding `assets/` and `data/`: the repository, or PyInstaller's unpack folder."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def assets_dir() -> Path:
    return bundle_root() / "assets"


def data_dir() -> Path:
    return bundle_root() / "data"


def home_dir() -> Path:
    """Per-user folder for warehouses and operational state; COCKPIT_HOME overrides it."""
    override = os.environ.get("COCKPIT_HOME")
    if override:
        return Path(override)
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "CityCockpit"
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "city-cockpit"


def default_db_dir() -> Path:
    return home_dir() / "demo"
