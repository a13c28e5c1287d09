"""Fixtures for import tests: private copies of the demo warehouse and a fingerprint of its facts."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import shapely

from cockpit.warehouse.store import SnapshotStore, open_current


def copy_warehouse(demo_db, target):
    """A private, writable copy of the demo warehouse (its current snapshot only)."""
    store = SnapshotStore(demo_db)
    current = store.current()
    for folder in ("snapshots", "manifests"):
        (target / folder).mkdir(parents=True)
    shutil.copy2(store.snapshot_path(current), target / "snapshots" / current.file)
    shutil.copy2(store.manifests / f"{current.label}.json", target / "manifests")
    return target


def warehouse_fingerprint(db) -> tuple:
    """The current version and a digest of every fact, region and event: equal means unchanged."""
    snap = open_current(db)
    try:
        cur = snap.cursor()
        obs = cur.execute(
            "SELECT count(*), sum(hash(indicator, period, region, value, prev_value, yoy_value))"
            " FROM observations").fetchone()
        regions = cur.execute(
            "SELECT sum(hash(code, geometry, schematic)) FROM regions").fetchone()
        events = cur.execute("SELECT count(*), sum(hash(id, status)) FROM events").fetchone()
        meta = cur.execute("SELECT sum(hash(key, value)) FROM meta").fetchone()
        return (snap.version, obs, regions, events, meta)
    finally:
        snap.close()


@pytest.fixture
def wh(demo_db, tmp_path):
    """A writable warehouse for one test."""
    return copy_warehouse(demo_db, tmp_path / "wh")


@pytest.fixture(scope="module")
def module_wh(demo_db, tmp_path_factory):
    """A writable warehouse shared by one module's tests (which must leave it unchanged)."""
    return copy_warehouse(demo_db, tmp_path_factory.mktemp("import") / "wh")


@pytest.fixture
def fingerprint():
    return warehouse_fingerprint


@pytest.fixture
def make_warehouse(demo_db):
    """Makes more private warehouses: make_warehouse(path) → path."""
    return lambda target: copy_warehouse(demo_db, target)


def write_layer(path, geometries, properties: dict, *, crs="EPSG:4326", layer=None, driver=None,
                encoding=None, append=False, layer_options=None):
    """Polygons and their attributes as GDAL writes them (Shapefile, GeoPackage, KML, MapInfo …)."""
    import pyogrio

    wkb = np.array([shapely.to_wkb(g) for g in geometries], dtype=object)
    with warnings.catch_warnings():  # "crs was not provided" when a test means it
        warnings.simplefilter("ignore", UserWarning)
        pyogrio.raw.write(str(path), wkb, [np.array(v, dtype=object) for v in properties.values()],
                          list(properties), layer=layer, driver=driver, crs=crs,
                          encoding=encoding, append=append, layer_options=layer_options,
                          geometry_type="MultiPolygon" if any(
                              g.geom_type == "MultiPolygon" for g in geometries) else "Polygon")
    return path


@pytest.fixture
def layer_writer():
    return write_layer
