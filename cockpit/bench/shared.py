"""`cockpit bench --warehouse ducklake:…`: the same cockpit on a DuckLake (catalog in PostgreSQL) and
on the local snapshot folder it was exported from, measured in one run as ratios (DESIGN §5: the
machine is shared and noisy, so only figures taken side by side mean anything).

Targets (issue 16): selection and indicator change within 1.5× of local, start-up likewise,
import throughput within 2×."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .harness import _launch_ms, _rest, _settle, _stats, ensure_dataset, given_db, private_copy


def _import_csv(path: Path, db: Path) -> int:
    """Every monthly township indicator of the warehouse for four years before its data: a
    long table of new facts, as a department's back-filled history arrives."""
    from ..warehouse.queries import Queries
    from ..warehouse.store import open_current

    snap = open_current(db)
    try:
        q = Queries(snap)
        first = q.months[0].year
        indicators = [i.code for i in q.indicators if i.frequency == "month" and not i.county_only]
        townships = [t.code for t in q.townships]
    finally:
        snap.close()
    lines = ["region,indicator,period,value"]
    for k, code in enumerate(townships):
        for ind in indicators:
            for year in range(first - 4, first):
                # 50–90: plausible for every indicator (rates stay under 100 %)
                lines += [f"{code},{ind},{year}-{m:02d},{50 + k % 40 + m / 10:.1f}"
                          for m in range(1, 13)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def _imports(local: Path, lake: str, csv: Path, rows: int, runs: int) -> dict:
    """Rows per second of the same import, alternating a fresh local copy and the lake."""
    from ..warehouse.lake import lake_of
    from ..warehouse.publish import import_files

    def timed(target) -> float:
        t = time.perf_counter()
        result = import_files([csv], target, replace=True)
        if not result.published:   # the bench's own file refused: say why, not an assert
            raise RuntimeError(result.report.format()[:2000])
        return time.perf_counter() - t

    local_s, lake_s = [], []
    for k in range(runs):
        local_s.append(timed(private_copy(local, local.parent / f"import-copy-{k}")))
        lake_s.append(timed(lake))
    lake_of(lake).cache.collect_garbage()
    local_rate, lake_rate = rows / float(np.median(local_s)), rows / float(np.median(lake_s))
    return {"rows": rows, "runs": runs, "local_rows_per_s": round(local_rate),
            "lake_rows_per_s": round(lake_rate), "ratio": round(local_rate / lake_rate, 2)}


def _startups(local: Path, lake: str, size, runs: int) -> dict:
    """Launch to first full paint, alternating the two warehouses (the first launch of each
    warms the OS file cache and this PC's copy of the lake's snapshot; not counted)."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               COCKPIT_TIMING="exit")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    argv = [sys.executable, "-m", "cockpit", "--size", f"{size[0]}x{size[1]}", "--db"]
    local_ms, lake_ms = [], []
    for k in range(runs + 1):
        a, b = _launch_ms(argv + [str(local)], env), _launch_ms(argv + [lake], env)
        if k:
            local_ms.append(a)
            lake_ms.append(b)
    a, b = float(np.median(local_ms)), float(np.median(lake_ms))
    return {"runs": runs, "local_ms": round(a), "lake_ms": round(b), "ratio": round(b / a, 2)}


def _interactive(local: Path, lake: str, selections: int, size, seed: int = 1) -> dict:
    """Both windows open side by side in this process; every change is made in one and then
    the other (which goes first alternates), so load that comes and goes on a shared machine
    falls on both alike. First paint is timed the same way, twice each."""
    import random

    from ..ui.app import LiveWarehouse, _application, build_window

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = _application()
    first_paint: dict[str, list[float]] = {"local": [], "lake": []}
    opened = {}
    for k in range(2):
        for name, where in (("local", local), ("lake", lake))[:: 1 if k % 2 == 0 else -1]:
            t = time.perf_counter()
            warehouse = LiveWarehouse(where)
            window = build_window(warehouse)
            window.resize(*size)
            window.show()
            _settle(app, window)
            first_paint[name].append((time.perf_counter() - t) * 1000)
            if k == 0:
                opened[name] = (warehouse, window)
            else:
                window.close()
                window.watcher.stop(wait_s=600)
                window.deleteLater()
                warehouse.close()
    for warehouse, window in opened.values():
        while window.watcher.busy:       # alert evaluation at start-up, then read-ahead
            app.processEvents()
            time.sleep(0.01)
        _rest(app, window)
    q = opened["local"][0].queries
    rng = random.Random(seed)
    townships = [t.code for t in q.townships]
    indicators = [i.code for i in opened["local"][1].ctx.visible_indicators()
                  if not i.county_only]
    months = q.months
    kinds = {"selection": lambda k: {"region": rng.choice(townships)},
             "indicator_change": lambda k: {"indicator": rng.choice(indicators)},
             "period_step": lambda k: {"period": months[k % len(months)]}}
    timings = {name: {kind: [] for kind in kinds} for name in opened}
    for kind, make in kinds.items():
        count = selections if kind == "selection" else max(10, selections // 4)
        for k in range(count + 3):
            changes = make(k)
            for name in (("local", "lake") if k % 2 == 0 else ("lake", "local")):
                window = opened[name][1]
                t = time.perf_counter()
                window.ctx.selection.update(record=False, **changes)
                _settle(app, window)
                if k >= 3:   # the first few warm what a user's first clicks would
                    timings[name][kind].append((time.perf_counter() - t) * 1000)
    for warehouse, window in opened.values():
        window.close()
        window.watcher.stop(wait_s=600)
        window.deleteLater()
        warehouse.close()
    app.processEvents()
    out = {name: {kind: _stats(v) for kind, v in by_kind.items()}
           for name, by_kind in timings.items()}
    for name, values in first_paint.items():
        out[name]["first_paint_ms"] = round(float(np.median(values)), 1)
    return out


def compare(db: Path, lake: str, selections: int = 200, size=(1920, 1080), scale=None,
            data_path: str | None = None, startup_runs: int = 3, import_runs: int = 2) -> dict:
    from ..core.settings import redact
    from ..warehouse.lake import export_folder, lake_of

    work = Path(db).parent / "lake-bench"
    work.mkdir(exist_ok=True)
    local = private_copy(db, work / f"local-{os.getpid()}")
    target = lake_of(lake)
    t = time.perf_counter()
    export_folder(local, lake, data_path=data_path or str(work / "lake-data"))
    export_s = time.perf_counter() - t
    target.open().close()   # this PC's copy of the snapshot, as a cockpit makes at first start
    out = {"scale": scale or "county", "lake": redact(lake), "export_s": round(export_s, 1),
           "load_average": [round(x, 2) for x in os.getloadavg()]}
    interactive = out["interactive"] = _interactive(local, lake, selections, size)
    out["interactive_ratio_p95"] = {
        k: round(interactive["lake"][k]["p95_ms"] / interactive["local"][k]["p95_ms"], 2)
        for k in ("selection", "indicator_change", "period_step")}
    out["first_paint_ratio"] = round(interactive["lake"]["first_paint_ms"]
                                     / interactive["local"]["first_paint_ms"], 2)
    if startup_runs:
        out["startup"] = _startups(local, lake, size, startup_runs)
    csv = work / "history.csv"
    rows = _import_csv(csv, local)
    out["import"] = _imports(local, lake, csv, rows, import_runs)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def print_table(r: dict) -> None:
    print(f"DuckLake {r['lake']} 对比本机快照目录（{r['scale']}，同一次运行；负载 {r['load_average']}"
          f" → {r['load_average_after']}）")
    for k, label in (("selection", "选择乡镇"), ("indicator_change", "切换指标"),
                     ("period_step", "切换月份")):
        lo, la = r["interactive"]["local"][k], r["interactive"]["lake"][k]
        print(f"  {label:<6} p95 本机 {lo['p95_ms']:7.1f} ms  DuckLake {la['p95_ms']:7.1f} ms"
              f"  比值 {r['interactive_ratio_p95'][k]:.2f}（目标 ≤1.5）")
    print(f"  窗口首次完整绘制 比值 {r['first_paint_ratio']:.2f}")
    if "startup" in r:
        s = r["startup"]
        print(f"  启动到首次绘制 本机 {s['local_ms']} ms  DuckLake {s['lake_ms']} ms"
              f"  比值 {s['ratio']:.2f}（目标 ≤1.5）")
    i = r["import"]
    print(f"  导入 {i['rows']:,} 行  本机 {i['local_rows_per_s']:,} 行/秒  DuckLake "
          f"{i['lake_rows_per_s']:,} 行/秒  比值 {i['ratio']:.2f}（目标 ≤2）")
    print(f"  导出快照目录到 DuckLake {r['export_s']} 秒")


def main(args) -> int:
    scale = getattr(args, "scale", None)
    db = ensure_dataset(scale, path=given_db(args)) if scale else Path(args.db)
    results = compare(db, args.warehouse, selections=args.selections, size=args.size,
                      scale=scale, data_path=getattr(args, "lake_data", None))
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2),
                                   encoding="utf-8")
    return 0
