"""`cockpit bench`: how fast the real cockpit window responds, measured in one process, offscreen."""
from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np


def _rss_mb() -> float:
    """Current resident memory (Linux /proc; falls back to peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        return _peak_rss_mb()


def _peak_rss_mb() -> float:
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def _stats(samples_ms: list[float]) -> dict:
    a = np.asarray(samples_ms)
    return {"n": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2), "max_ms": round(float(a.max()), 2)}


def _settle(app, window) -> None:
    """Run the handlers' consequences through to pixels: layout, deferred updates, painting.

    Panels schedule repaints with update(); processing the posted events paints exactly what
    changed into the backing store, which is what a user waits for. (A forced window.repaint()
    would paint everything again and measure a repaint no user triggers.)"""
    app.sendPostedEvents()
    app.processEvents()


def _bare_window_first_paint(app, size) -> float:
    """The floor: a bare PySide6 + pyqtgraph window with one plot, shown and painted."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QMainWindow

    t0 = time.perf_counter()
    win = QMainWindow()
    plot = pg.PlotWidget()
    plot.plot([1, 3, 2, 4])
    win.setCentralWidget(plot)
    win.resize(*size)
    win.show()
    _settle(app, win)
    elapsed = (time.perf_counter() - t0) * 1000
    win.close()
    win.deleteLater()
    app.processEvents()
    return elapsed


def run_bench(db: Path, selections: int = 200, size=(1920, 1080), seed: int = 1) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t_start = time.perf_counter()
    from .app import LiveWarehouse, _application, build_window

    app = _application()
    import_ms = (time.perf_counter() - t_start) * 1000
    bare_ms = _bare_window_first_paint(app, size)

    t0 = time.perf_counter()
    warehouse = LiveWarehouse(db)
    window = build_window(warehouse)
    window.resize(*size)
    window.show()
    _settle(app, window)
    first_paint_ms = (time.perf_counter() - t0) * 1000

    ctx, q = window.ctx, warehouse.queries
    rng = random.Random(seed)
    townships = [t.code for t in q.townships]
    indicators = [i.code for i in ctx.visible_indicators() if not i.county_only]
    months = q.months

    def timed(changes_list) -> list[float]:
        out = []
        for changes in changes_list:
            t = time.perf_counter()
            ctx.selection.update(record=False, **changes)
            _settle(app, window)
            out.append((time.perf_counter() - t) * 1000)
        return out

    # warm up caches the way a user's first clicks would
    timed([{"region": c} for c in townships[:3]])
    results = {
        "selection": _stats(timed([{"region": rng.choice(townships)}
                                   for _ in range(selections)])),
        "indicator_change": _stats(timed([{"indicator": rng.choice(indicators)}
                                          for _ in range(max(50, selections // 4))])),
        "period_step": _stats(timed([{"period": months[k % len(months)]}
                                     for k in range(max(50, selections // 4))])),
        "domain_switch": _stats(timed([{"domain": d} for d in
                                       ["overview", "economy", "market", "environment",
                                        "governance", "service", "government"] * 8])),
    }
    # hit-test and hover through the map's public surface
    index = window.map.index if hasattr(window.map, "index") else None
    if index is not None:
        pts = []
        for code in townships:
            r = q.region_by_code[code]
            pts.append(index.project(r.label_lon, r.label_lat))
        t = time.perf_counter()
        n = 0
        for _ in range(200):
            for x, y in pts:
                index.locate(float(np.asarray(x).ravel()[0]), float(np.asarray(y).ravel()[0]))
                n += 1
        results["hit_test_us"] = round((time.perf_counter() - t) / n * 1e6, 2)
    results.update({
        "scale": "county" if len(townships) < 100 else "larger",
        "townships": len(townships),
        "indicators": len(q.indicators),
        "window": f"{size[0]}x{size[1]}",
        "qt_import_ms": round(import_ms, 1),
        "bare_window_first_paint_ms": round(bare_ms, 1),
        "first_paint_ms": round(first_paint_ms, 1),
        "first_paint_ratio": round(first_paint_ms / bare_ms, 2) if bare_ms else None,
        "rss_mb": round(_rss_mb(), 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    })
    window.close()
    window.deleteLater()
    app.processEvents()
    warehouse.close()
    return results


def print_table(results: dict) -> None:
    rows = [("选择乡镇 → 全部面板重绘 selection", results["selection"]),
            ("切换指标 indicator change", results["indicator_change"]),
            ("切换月份 period step", results["period_step"]),
            ("切换领域 domain switch", results["domain_switch"])]
    print(f"{'':36} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, s in rows:
        print(f"{label:36} {s['n']:>5} {s['p50_ms']:>8.2f} {s['p95_ms']:>8.2f} {s['max_ms']:>8.2f}")
    print(f"首次完整绘制 first paint        {results['first_paint_ms']:.0f} ms"
          f"（裸窗口 bare window {results['bare_window_first_paint_ms']:.0f} ms，"
          f"比值 ratio {results['first_paint_ratio']}）")
    if "hit_test_us" in results:
        print(f"地图点选 hit-test               {results['hit_test_us']:.1f} µs")
    print(f"常驻内存 RSS                     {results['rss_mb']:.0f} MB（峰值 peak {results['peak_rss_mb']:.0f} MB）")


def main(args) -> int:
    results = run_bench(Path(args.db), selections=args.selections, size=args.size)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2),
                                   encoding="utf-8")
    return 0
