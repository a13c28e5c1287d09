"""Checking event records (基层治理四平台, 12345 …): township, source, category, times in order and
not in the future, status, coordinates inside the county, one record per event number.
"""
from __future__ import annotations

import hashlib
import unicodedata
from datetime import date, datetime

from ... import schema
from ..problems import MAX_DETAILS, ImportBatch, Problem, Report, SourceSummary

EVENT_STATUSES = {
    "已办结": "已办结", "办结": "已办结", "已完成": "已办结", "完成": "已办结", "已处置": "已办结",
    "已结案": "已办结", "处置中": "处置中", "办理中": "处置中", "处理中": "处置中", "在办": "处置中",
    "待处置": "处置中", "已受理": "处置中", "已超期": "已超期", "超期": "已超期", "逾期": "已超期",
}
EVENT_SOURCES = {"基层治理四平台": "基层治理四平台", "四平台": "基层治理四平台", "12345": "12345",
                 "12345热线": "12345", "统一咨询平台": "12345", "安全生产": "安全生产"}


# --- events ------------------------------------------------------------------------------
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S",
                 "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M",
                 "%Y年%m月%d日%H:%M", "%Y年%m月%d日", "%Y-%m-%dT%H:%M:%S", "%Y%m%d %H:%M",
                 "%Y.%m.%d %H:%M", "%Y.%m.%d")


def parse_time(value) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        return None
    text = " ".join(text.split())
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def check_events(report: Report, batch: ImportBatch, sources, queries, regions,
                 today: date) -> None:
    import shapely

    now = datetime.combine(today, datetime.max.time())
    county_geom = None
    wkb = queries.geometries_wkb("county").get(queries.county.code)
    if wkb:
        county_geom = shapely.from_wkb(wkb).buffer(0.05)
    labels = {r.code: (r.label_lon, r.label_lat) for r in queries.regions}
    columns: dict[str, list] = {k: [] for k in (
        "id", "region", "source", "category", "summary", "reported_at", "deadline_at",
        "closed_at", "status", "lon", "lat")}
    seen_ids: dict[str, tuple] = {}
    problems = report.problems
    counts: dict[tuple, int] = {}

    for s in sources:
        def add(check, record, role, message, value, expected, severity="error"):
            key = (s.file, s.sheet, check)
            counts[key] = counts.get(key, 0) + 1
            if counts[key] <= MAX_DETAILS:
                problems.append(Problem(severity, check, s.file, s.sheet, record["_row"],
                                        s.labels.get(role), value, expected, message))
        first_period = last_period = None
        for record in s.rows:
            ok = True
            raw_region = record.get("region") or ""
            m = regions.resolve(raw_region)
            if m.code is None:
                hint = f"，是否为“{m.suggestion}”？" if m.suggestion else ""
                add("unknown_region", record, "region",
                    f"“{raw_region}”不是{queries.county.name}的乡镇（街道）{hint}" if raw_region
                    else "乡镇（街道）为空", raw_region, "本县乡镇（街道）名称或区划代码")
                ok = False
            source = EVENT_SOURCES.get(str(record.get("source") or "").strip(),
                                       str(record.get("source") or "").strip())
            if not source:
                add("missing_value", record, "source", "来源为空", "", "基层治理四平台、12345 或 安全生产")
                ok = False
            elif source not in EVENT_SOURCES.values():
                add("unknown_source", record, "source", f"来源“{source}”不是已知的平台，将按原样导入",
                    source, "基层治理四平台、12345 或 安全生产", severity="warning")
            for role in ("category", "summary"):
                if not str(record.get(role) or "").strip():
                    add("missing_value", record, role, f"{'类别' if role == 'category' else '摘要'}为空",
                        "", "非空文字")
                    ok = False
            times = {}
            for role, name in (("reported_at", "上报时间"), ("deadline_at", "办理期限"),
                               ("closed_at", "办结时间")):
                raw = record.get(role)
                if raw is None or (isinstance(raw, str) and not raw.strip()):
                    times[role] = None
                    if role == "reported_at":
                        add("bad_time", record, role, "上报时间为空", "", "日期时间，如 2025-12-01 09:30")
                        ok = False
                    continue
                t = parse_time(raw)
                if t is None:
                    add("bad_time", record, role, f"{name}“{raw}”无法识别", str(raw),
                        "日期时间，如 2025-12-01 09:30")
                    ok = False
                times[role] = t
            reported = times.get("reported_at")
            if reported is not None and reported > now:
                add("future_period", record, "reported_at", "上报时间在今天之后",
                    str(record.get("reported_at")), f"不晚于 {today.isoformat()} 的时间")
                ok = False
            for role, name in (("closed_at", "办结时间"), ("deadline_at", "办理期限")):
                t = times.get(role)
                if t is not None and reported is not None and t < reported:
                    add("bad_time", record, role, f"{name}早于上报时间（{reported:%Y-%m-%d %H:%M}）",
                        str(record.get(role)), f"不早于上报时间的{name}")
                    ok = False
            raw_status = str(record.get("status") or "").strip()
            status = EVENT_STATUSES.get(raw_status)
            if raw_status and status is None:
                add("bad_status", record, "status", f"状态“{raw_status}”无法识别", raw_status,
                    "已办结、处置中 或 已超期（可留空，按时间推算）")
                ok = False
            if status is None and ok:
                deadline = times.get("deadline_at")
                if times.get("closed_at") is not None:
                    status = "已办结"
                elif deadline is not None and deadline < datetime.now():
                    status = "已超期"
                else:
                    status = "处置中"
            lon = lat = None
            raw_lon, raw_lat = str(record.get("lon") or "").strip(), str(record.get("lat") or "").strip()
            if raw_lon or raw_lat:
                try:
                    lon, lat = float(raw_lon), float(raw_lat)
                except ValueError:
                    add("bad_coordinate", record, "lon", "经纬度不是数值", f"{raw_lon}, {raw_lat}",
                        "经度、纬度两个数值（WGS84/CGCS2000），如 119.82, 28.89")
                    ok = False
                if lon is not None and county_geom is not None and \
                        not county_geom.contains(shapely.Point(lon, lat)):
                    add("bad_coordinate", record, "lon", f"坐标不在{queries.county.name}范围内",
                        f"{raw_lon}, {raw_lat}", f"{queries.county.name}境内的经纬度")
                    ok = False
            elif m.code is not None:
                lon, lat = labels.get(m.code, (None, None))
            if not ok:
                continue
            event_id = str(record.get("id") or "").strip()
            content = (m.code, source, record.get("category"), record.get("summary"), reported)
            if not event_id:
                digest = hashlib.sha1(repr(content).encode("utf-8")).hexdigest()[:12].upper()
                event_id = f"IMP{digest}"
            if event_id in seen_ids:
                if seen_ids[event_id] != content:
                    add("duplicate_conflict", record, "id",
                        f"编号“{event_id}”重复，且两条记录内容不同", event_id, "每条事件一个唯一编号")
                else:
                    add("duplicate", record, "id", f"编号“{event_id}”的记录重复，只导入一次",
                        event_id, None, severity="warning")
                continue
            seen_ids[event_id] = content
            for key, value in (("id", event_id), ("region", m.code), ("source", source),
                               ("category", str(record["category"]).strip()),
                               ("summary", str(record["summary"]).strip()),
                               ("reported_at", reported), ("deadline_at", times.get("deadline_at")),
                               ("closed_at", times.get("closed_at")), ("status", status),
                               ("lon", lon), ("lat", lat)):
                columns[key].append(value)
            month = date(reported.year, reported.month, 1)
            first_period = min(first_period or month, month)
            last_period = max(last_period or month, month)
        report.sources.append(SourceSummary(s.file, s.sheet, "事件", len(s.rows),
                                            first_period=first_period, last_period=last_period))
        batch.log.append({"file": s.file, "sheet": s.sheet, "kind": "events", "indicator": None,
                          "department": None, "rows": len(s.rows), "first_period": first_period,
                          "last_period": last_period})
    for (file, sheet, check), n in counts.items():
        if n > MAX_DETAILS:
            severity = "warning" if check in ("unknown_source", "duplicate") else "error"
            problems.append(Problem(severity, check, file, sheet, None, None, None, None,
                                    f"同类问题另有 {n - MAX_DETAILS:,} 处（上面只列出前 {MAX_DETAILS} 处）",
                                    count=n - MAX_DETAILS))
    if columns["id"]:
        batch.events = schema.events_table(columns)
