"""A real PostgreSQL for the shared-deployment tests: each test gets a database of its own.

`.ci/pg start` starts a throw-away cluster and prints COCKPIT_TEST_PG (a URL of a server where
databases may be created) and COCKPIT_TEST_PG_CTL (pg_ctl for that cluster, to stop and start
it under a running window). Without them these tests are skipped, except where
COCKPIT_REQUIRE_SHARED=1 (CI): there a skip is a failure, so CI cannot pass without running them.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import uuid

import pytest

HOW = "start one with `eval \"$(.ci/pg start)\"` (needs Debian's postgresql package)"


def unavailable(reason: str):
    if os.environ.get("COCKPIT_REQUIRE_SHARED") == "1":
        pytest.fail(f"shared-deployment tests required here but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> str:
    url = os.environ.get("COCKPIT_TEST_PG")
    if not url:
        unavailable(f"PostgreSQL tests skipped: COCKPIT_TEST_PG is not set; {HOW}")
    try:
        import psycopg
    except ImportError:
        unavailable('PostgreSQL tests skipped: psycopg missing (pip install -e ".[test,shared]")')
    try:
        with psycopg.connect(url, connect_timeout=5) as con:
            con.execute("SELECT 1")
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL at {url} unreachable: {exc}")
    return url


def _admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as con:
        con.execute(sql)


@pytest.fixture
def pg_db(pg_server):
    """A fresh database on the test server; yields a function making its URL (with a user)."""
    name = "cockpit_" + uuid.uuid4().hex[:10]
    _admin(pg_server, f"CREATE DATABASE {name}")
    base = pg_server.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    _admin(pg_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_ctl(pg_server):
    """Stop and start the test server: pg_ctl('stop') / pg_ctl('start')."""
    command = os.environ.get("COCKPIT_TEST_PG_CTL")
    if not command:
        unavailable(f"COCKPIT_TEST_PG_CTL is not set (the server cannot be restarted); {HOW}")

    def run(action: str) -> None:
        extra = {"stop": ["-m", "fast", "-w"], "start": ["-w", "-t", "30"]}[action]
        subprocess.run([*shlex.split(command), action, *extra], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return run


@pytest.fixture(scope="session")
def lake_extensions():
    """DuckDB's DuckLake and PostgreSQL extensions from their PyPI packages."""
    from cockpit.warehouse.lake import LakeUnavailable, load_extensions

    import duckdb

    try:
        load_extensions(duckdb.connect())
    except LakeUnavailable as exc:
        unavailable(f"DuckLake tests skipped: {exc}")
