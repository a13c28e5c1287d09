"""The query module answers what each panel needs, consistently with the facts."""
from __future__ import annotations

import os
from datetime import date

import numpy as np
import pytest

from cockpit.warehouse.demo import COUNTY_CODE, TOWNSHIP_CODES
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current

TAOXI = TOWNSHIP_CODES["桃溪镇"]


@pytest.fixture(scope="module")
def q(demo_db):
    snap = open_current(demo_db)
    yield Queries(snap)
    snap.close()


def test_reference_data(q):
    assert q.county.code == COUNTY_CODE and q.county.name == "武义县"
    assert [t.name for t in q.townships][:3] == ["熟溪街道", "壶山街道", "白洋街道"]
    assert len(q.indicators) == 61
    assert q.months[0] == date(2020, 1, 1) and q.months[-1] == date(2025, 12, 1)
    assert q.as_of == date(2025, 12, 1)
    assert len(q.geometries_wkb()) == 18


def test_township_values_for_the_map_and_ranking(q):
    tv = q.township_values("env_pm25", date(2025, 8, 1))
    assert tv.period == date(2025, 8, 1)
    assert len(tv.regions) == 18 and COUNTY_CODE not in set(tv.regions)
    tongqin = tv.values[list(tv.regions).index(TOWNSHIP_CODES["桐琴镇"])]
    assert tongqin == tv.values.max()
    assert np.isfinite(tv.yoy_values).all()


def test_quarterly_and_yearly_indicators_answer_with_their_latest_period(q):
    assert q.township_values("svc_family_doctor", date(2025, 11, 1)).period == date(2025, 9, 1)
    assert q.township_values("eco_tax_per_mu", date(2025, 11, 1)).period == date(2024, 12, 1)
    assert q.effective_period("eco_tax_per_mu", date(2025, 12, 1)) == date(2025, 12, 1)


def test_missing_reports_are_absent_not_zero(q):
    tv = q.township_values("gov_hazard_fixed", date(2025, 12, 1))
    assert len(tv.regions) == 17 and TOWNSHIP_CODES["三港乡"] not in set(tv.regions)


def test_kpis_carry_previous_and_year_ago_values(q):
    k = q.kpis(TOWNSHIP_CODES["柳城畲族镇"], ["gov_events_closed", "ops_data_shared"],
               date(2025, 12, 1))
    assert k["gov_events_closed"].value == 78.2
    assert k["gov_events_closed"].prev_value == 87.3
    assert k["gov_events_closed"].yoy_value is not None
    assert k["ops_data_shared"].value is None  # county-only indicator: no township value


def test_series_and_sparklines(q):
    s = q.series(TAOXI, "eco_retail")
    assert len(s.periods) == 72 and s.periods[0] == np.datetime64("2020-01-01")
    many = q.series_many(TAOXI, ["eco_retail", "svc_family_doctor"], date(2025, 6, 1), 12)
    assert len(many["eco_retail"].values) == 12
    assert many["eco_retail"].periods[-1] == np.datetime64("2025-06-01")
    assert np.allclose(many["eco_retail"].values, s.values[54:66])
    assert len(many["svc_family_doctor"].values) == 12  # 12 quarters


@pytest.mark.parametrize("code", ["eco_retail", "env_pm25", "svc_online_rate"])
def test_county_aggregate_matches_the_stored_county_figure(q, code):
    stored = q.kpis(COUNTY_CODE, [code], date(2025, 6, 1))[code].value
    ind = q.indicator_by_code[code]
    assert q.county_aggregate(code, date(2025, 6, 1)) == pytest.approx(
        stored, abs=10 ** -ind.decimals)


def test_township_profile_ranks_by_polarity(q):
    profile = {p["indicator"]: p for p in q.township_profile(TOWNSHIP_CODES["桐琴镇"],
                                                             date(2025, 8, 1))}
    assert profile["env_pm25"]["rank"] == 18 and profile["env_pm25"]["rank_of"] == 18
    assert "ops_data_shared" not in profile
    assert profile["eco_retail"]["county_value"] is not None


def test_events_filtered_newest_first(q):
    ev = q.events(TAOXI, date(2025, 12, 1), date(2026, 1, 1), limit=500)
    assert ev and all(e["region"] == TAOXI for e in ev)
    times = [e["reported_at"] for e in ev]
    assert times == sorted(times, reverse=True)
    everywhere = q.events(COUNTY_CODE, date(2025, 12, 1), date(2026, 1, 1), limit=5000)
    assert len({e["region"] for e in everywhere}) > 10
    counts = q.event_counts(TAOXI, date(2025, 12, 1), date(2026, 1, 1))
    assert sum(counts.values()) == len(ev)


def test_a_large_warehouse_finds_a_places_events_through_its_index_with_the_same_answers(q):
    """A province's or the country's events are found through an index read once (each
    query on their table scanned it); the answers are those the database gives."""
    indexed = Queries(q.snapshot)
    indexed.EVENT_INDEX_MIN = 0   # the demo's few thousand events count as many
    indexed.prepare()
    reads = indexed.reads
    windows = [(date(2025, 12, 1), date(2026, 1, 1)), (date(2025, 11, 3), date(2025, 12, 3)),
               (None, date(2025, 11, 15)), (date(2023, 1, 1), date(2023, 2, 1))]
    for region in [*TOWNSHIP_CODES.values(), COUNTY_CODE]:
        for start, end in windows:
            for limit in (1, 7, 500):
                assert indexed.events(region, start, end, limit=limit) == \
                    q.events(region, start, end, limit=limit)
            if start is not None:
                assert indexed.event_counts(region, start, end) == \
                    q.event_counts(region, start, end)
    # Counting a township's events in a month asks the database nothing more.
    before = indexed.reads
    assert indexed.event_counts(TAOXI, date(2025, 10, 1), date(2025, 11, 1))
    assert indexed.reads == before > reads


def test_a_month_with_too_many_events_to_read_at_once_answers_the_same(q):
    """The country's month holds ~70,000 events: too many to read at once, it is counted and
    each place asks the database, with the answers of a month read at once."""
    crowded = Queries(q.snapshot)
    crowded.WINDOW_EVENTS_MAX = 10   # the demo's few hundred a month count as too many
    december = (date(2025, 12, 1), date(2026, 1, 1))
    for region in (TAOXI, COUNTY_CODE):
        assert crowded.events(region, *december, limit=200) == q.events(region, *december,
                                                                       limit=200)
        assert crowded.event_counts(region, *december) == q.event_counts(region, *december)


_MEMORY_PROBE = """
import ctypes, gc, sys
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current

def resident_mb():
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)   # what is free goes back: only kept memory counts
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

q = Queries(open_current(sys.argv[1]))
q.MEMO_SIZE = 64       # a small memo evicts as a wall's would, with fewer visits
codes = [i.code for i in q.indicators if i.headline][:8]
visits = [(t.code, m) for t in q.townships for m in q.months[-6:]]   # 2 x 108 > the memo

def visit_all():
    for region, month in visits:
        q.kpis(region, codes, month)
        q.series_many(region, codes, month, 24)

visit_all()
resident = []
for _ in range(12):    # every answer was evicted since: 216 queries a round
    visit_all()
    resident.append(resident_mb())
# A leak grows memory by the same amount every round; the allocator's noise (about 1 MB up or
# down in a round) does not. The fitted slope separates them: a 2 KB/query leak reads 2.0-2.4
# here, none reads 0.0-0.7 (DuckDB 2.0.1 and 1.5.5).
rounds = range(len(resident))
mean_x, mean_y = sum(rounds) / len(resident), sum(resident) / len(resident)
slope = (sum((x - mean_x) * (y - mean_y) for x, y in zip(rounds, resident))
         / sum((x - mean_x) ** 2 for x in rounds))
print(slope * 1024 / (2 * len(visits)))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="resident memory via /proc")
def test_kpi_and_sparkline_queries_keep_no_memory_per_query(demo_db):
    # A wall asks these for every selection, for months: memory must not grow with them.
    # Measured in a process of its own: other tests' threads would move this one's memory.
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(demo_db)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    kept_kb_per_query = float(run.stdout.strip())
    # DuckDB 2.0.1 kept 2–4 KB for every query with a list of values (see queries._one_of)
    assert kept_kb_per_query < 1.2
