"""Tiny hand-made warehouses for the alert tests: a county, a few townships, a few indicators."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from cockpit.core.catalogue import CATALOGUE_BY_CODE, Indicator
from cockpit.warehouse import schema
from cockpit.warehouse.store import SnapshotStore, open_current

COUNTY = "990000"
TOWNS = {"990001": "甲镇", "990002": "乙镇", "990003": "丙乡", "990004": "丁街道"}


def indicator(code: str, **changes) -> Indicator:
    """A demo catalogue indicator, optionally changed (target, frequency, …)."""
    return replace(CATALOGUE_BY_CODE[code], **changes)


def months(first: str, last: str) -> list[date]:
    y, m = map(int, first.split("-"))
    ly, lm = map(int, last.split("-"))
    out = []
    while (y, m) <= (ly, lm):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def build_warehouse(root: Path, indicators: list[Indicator],
                    observations: list[tuple[str, date, str, float]],
                    events: list[dict] | None = None, as_of: str | None = None) -> Path:
    """Publish one snapshot with the given facts; returns the warehouse directory."""
    store = SnapshotStore(root)
    with store.writer(note="test") as con:
        schema.create_schema(con)
        con.execute("INSERT INTO regions (code, name, level, parent, sort_order)"
                    " VALUES (?, '测试县', 'county', NULL, 0)", [COUNTY])
        for k, (code, name) in enumerate(TOWNS.items(), start=1):
            con.execute("INSERT INTO regions (code, name, level, kind, parent, population,"
                        " sort_order) VALUES (?, ?, 'township', '镇', ?, 10000, ?)",
                        [code, name, COUNTY, k])
        for k, ind in enumerate(indicators):
            row = dict(ind.as_row(), sort_order=k)
            con.execute(f"INSERT INTO indicators ({', '.join(row)})"
                        f" VALUES ({', '.join('?' * len(row))})", list(row.values()))
        con.executemany("INSERT INTO staging_observations VALUES (?, ?, ?, ?)",
                        [[i, p, r, float(v)] for i, p, r, v in observations])
        schema.finalize(con)
        for k, e in enumerate(events or []):
            con.execute(
                "INSERT INTO events (id, region, source, category, summary, reported_at,"
                " deadline_at, closed_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [f"E{k:05d}", e["region"], e.get("source", "安全生产"), e["category"],
                 e.get("summary", "测试事件"), e["reported_at"], e["deadline_at"],
                 e.get("closed_at"), e.get("status", "处置中")])
        con.executemany("INSERT INTO meta VALUES (?, ?)",
                        [["county_code", COUNTY], ["county_name", "测试县"]]
                        + ([["as_of", as_of]] if as_of else []))
    return root


@pytest.fixture
def evaluate_rules(tmp_path):
    """Build a tiny warehouse, evaluate TOML rules on it, return the Evaluation."""
    from cockpit.alerts.engine import evaluate
    from cockpit.alerts.rules import parse_rules

    counter = {"n": 0}

    def run(rules_toml: str, indicators, observations, events=None, as_of=None):
        counter["n"] += 1
        root = build_warehouse(tmp_path / f"wh{counter['n']}", indicators, observations,
                               events, as_of)
        snap = open_current(root)
        try:
            return evaluate(snap, parse_rules(rules_toml))
        finally:
            snap.close()

    return run


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def tiny():
    """The helpers above, for test modules (which cannot import conftest under importlib)."""
    import types

    return types.SimpleNamespace(build=build_warehouse, indicator=indicator, months=months,
                                 at=at, COUNTY=COUNTY, TOWNS=TOWNS)
