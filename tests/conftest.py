"""Shared fixtures: the demo warehouse at two ends, built once per session; a private COCKPIT_HOME
per test."""
from __future__ import annotations

import os
from datetime import date

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from cockpit.warehouse.demo import build_demo


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
