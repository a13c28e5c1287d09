"""Shared fixtures: the demo warehouse at two ends, built once per session; a private COCKPIT_HOME
per test."""
from __future__ import annotations

import os
from datetime import date

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from cockpit.warehouse.demo import build_demo


def pytest_collection_modifyitems(config, items):
    """Files marked heavy(seconds) first, longest first, then the others by their number of
    tests: the parallel workers take whole files in this order (--dist loadfile), so a long file
    never starts last and leaves one worker running alone."""
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)

    def cost(tests):
        heavy = tests[0].get_closest_marker("heavy")
        return (-heavy.args[0], 0) if heavy else (0, -len(tests))

    items[:] = [item for tests in sorted(files.values(), key=cost) for item in tests]


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """A demo warehouse directory built once, ending at 2025-12; tests must only read it."""
    path = tmp_path_factory.mktemp("demo") / "wh"
    build_demo(path, end=date(2025, 12, 1))
    return path


@pytest.fixture(scope="session")
def later_demo_db(tmp_path_factory):
    """The demo as built on 2026-12-01 with the default end (2026-11); tests must only read it."""
    path = tmp_path_factory.mktemp("demo-later") / "wh"
    build_demo(path, today=date(2026, 12, 1))
    return path


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    # Never touch the user's real warehouse or settings from a test.
    monkeypatch.setenv("COCKPIT_HOME", str(tmp_path / "home"))
