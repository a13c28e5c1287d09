"""Shared fixtures: one demo warehouse per test session, and a private COCKPIT_HOME per test."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from cockpit.warehouse.demo import build_demo


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """A demo warehouse directory built once; tests must only read it."""
    path = tmp_path_factory.mktemp("demo") / "wh"
    build_demo(path)
    return path


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    # Never touch the user's real warehouse or settings from a test.
    monkeypatch.setenv("COCKPIT_HOME", str(tmp_path / "home"))
