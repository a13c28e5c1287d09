"""`cockpit bench`: how fast the real cockpit window responds, measured in one process, offscreen.

One run measures start-up (launching `python -m cockpit` to its first full paint, against a
program that only shows a bare PySide6 + pyqtgraph window; the same comparison in-process is
reported too), a selection repainting every panel, indicator / period / domain changes, the map alone (recolour, click hit-test, hover card)
and memory; it profiles the selection so a missed budget shows where the time goes. `--scale`
runs it on the county demo or on the province / nation datasets (built once, kept under
`<COCKPIT_HOME>/bench/<scale>`); `--soak MINUTES` then leaves a window running under random
user actions while snapshots are published and drill alerts raised (see `soak`), and reports the
resident-memory slope, Qt objects, exceptions and what was shown.
"""
from __future__ import annotations

import cProfile
import gc
import json
import os
import pstats
import random
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

# DESIGN §5 budgets, by scale: selection p95, map recolour, hit-test, first-paint ratio, memory.
BUDGETS = {
    "county": {"selection_p95_ms": 16, "first_paint_ratio": 1.5, "rss_mb": 350,
               "briefing_s": 1.0, "briefings_all_s": 15.0},
    "city": {"drill_p95_ms": 100},
    "province": {"selection_p95_ms": 33},
    "nation": {"selection_p95_ms": 100, "map_recolour_p95_ms": 50, "hit_test_p95_us": 1000,
               "rss_mb": 1536, "drill_p95_ms": 300},
}


def _rss_mb() -> float:
    """Current resident memory (Linux /proc; falls back to peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        return _peak_rss_mb()


def _kept_mb() -> float:
    """Resident memory after the C allocator has given back what is free (glibc malloc_trim),
    i.e. what is still held: the RSS of a process that frees a lot (a DuckDB instance per
    snapshot) also swings with what glibc keeps for reuse, which blurs a slope."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: plain RSS
        pass
    return _rss_mb()


def _peak_rss_mb() -> float:
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def _stats(samples_ms: list[float]) -> dict:
    a = np.asarray(samples_ms, dtype=float)
    if not a.size:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {"n": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2), "max_ms": round(float(a.max()), 2)}


def _settle(app, window) -> None:
    """Run the handlers' consequences through to pixels: layout, deferred updates, painting.

    Panels schedule repaints with update(); processing the posted events paints exactly what
    changed into the backing store, which is what a user waits for. (A forced window.repaint()
    would paint everything again and measure a repaint no user triggers.)

    At scale the panels first wait for their answers from the query worker (prewarm.py): a
    user waits for those too, so the time runs until they are shown."""
    ctx = getattr(window, "ctx", None)
    if getattr(ctx, "waiting", False):
        from PySide6.QtCore import QEventLoop, QTimer

        # Blocked in the event loop, as the cockpit waits: polling would take the GIL from the
        # worker hundreds of times per answer. (The timer only bounds each wait.)
        tick = QTimer()
        tick.start(100)
        deadline = time.perf_counter() + 120
        while ctx.waiting and time.perf_counter() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        tick.stop()
    app.sendPostedEvents()
    app.processEvents()


def _quiet_qt() -> None:
    """The offscreen platform warns on every window hint; keep the table readable."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode, context, message):
        if "propagateSizeHints" in message or "does not support raise()" in message:
            return
        sys.stderr.write(message + "\n")
    qInstallMessageHandler(handler)


_BARE_PROGRAM = """
import sys
from PySide6.QtWidgets import QApplication, QMainWindow
import pyqtgraph as pg
app = QApplication(sys.argv[:1])
win = QMainWindow()
plot = pg.PlotWidget()
plot.plot([1, 3, 2, 4])
win.setCentralWidget(plot)
win.resize({w}, {h})
win.show()
app.sendPostedEvents()
app.processEvents()
print("first paint", file=sys.stderr, flush=True)
"""


def _launch_ms(argv: list[str], env: dict) -> tuple[float, dict[str, float]]:
    """Wall time from starting a program to the line it prints after its first full paint,
    and the steps the program reports on that line (ms each)."""
    import subprocess

    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace")
    elapsed, steps = None, {}
    for line in proc.stderr:
        if line.startswith("first paint"):
            elapsed = (time.perf_counter() - t0) * 1000
            # "first paint 812 ms; steps warehouse=12 qt=80 …" (the cockpit's own steps)
            for part in line.partition("steps")[2].split():
                name, _, ms = part.partition("=")
                steps[name] = float(ms)
            break
    proc.stderr.close()
    code = proc.wait(timeout=600)
    if elapsed is None:
        raise RuntimeError(f"{argv[:3]} exited with {code} before painting")
    if steps:   # what came before the first step: the interpreter and the imports
        steps = {"python_and_imports": elapsed - sum(steps.values()), **steps}
    return elapsed, steps


def startup(db: Path, size, runs: int = 3) -> dict:
    """Start-up as a user sees it: from launching the program to its first full paint, for
    the cockpit (`python -m cockpit --db …`) and for the floor, a program that only shows a
    PySide6 + pyqtgraph plot window; medians over `runs` alternating launches (the first
    launch of each is a warm-up for the OS file cache and is not counted). The ratio is the
    median of each cockpit launch over the bare launch just before it: a pair shares the
    machine's load of its moment, which on a shared machine swings from one second to the
    next more than the two programs differ."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               COCKPIT_TIMING="exit")
    # An installed program starts from compiled bytecode: let the warm-up launch write it
    # even where this shell asks Python not to.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    bare = [sys.executable, "-c", _BARE_PROGRAM.format(w=size[0], h=size[1])]
    cockpit = [sys.executable, "-m", "cockpit", "--db", str(db), "--size", f"{size[0]}x{size[1]}"]
    if getattr(sys, "frozen", False):   # the installed build: the executable is the cockpit
        cockpit = [sys.executable, "--db", str(db), "--size", f"{size[0]}x{size[1]}"]
    bare_ms, cockpit_ms, steps = [], [], []
    for k in range(runs + 1):
        b, _ = _launch_ms(bare, env)
        c, found = _launch_ms(cockpit, env)
        if k:
            bare_ms.append(b)
            cockpit_ms.append(c)
            steps.append(found)
    b, c = float(np.median(bare_ms)), float(np.median(cockpit_ms))
    ratio = float(np.median(np.asarray(cockpit_ms) / np.asarray(bare_ms)))
    return {"runs": runs, "bare_ms": round(b, 1), "cockpit_ms": round(c, 1),
            "ratio": round(ratio, 2), "bare_all_ms": [round(x) for x in bare_ms],
            "cockpit_all_ms": [round(x) for x in cockpit_ms],
            "steps_ms": {name: round(float(np.median([s.get(name, 0.0) for s in steps])), 1)
                         for name in (steps[0] if steps else {})}}


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


def _rest(app, window, limit_s: float = 120.0) -> float:
    """Leave the cockpit alone until its idle read-ahead (prewarm.py) has finished, as a user
    pausing between looks would; returns how long that took (ms)."""
    prewarmer = getattr(window, "prewarmer", None)
    t0 = time.perf_counter()
    while prewarmer is not None and not prewarmer.done and time.perf_counter() - t0 < limit_s:
        app.processEvents()
        time.sleep(0.005)
    return (time.perf_counter() - t0) * 1000


_PAINTS = ("paintEvent", "paint")


def _profile(run, runs: int, top: int = 14) -> dict:
    """cProfile a callable; attribute the time to each panel (its selection handler and its
    painting, inclusive of the queries and Qt calls they make) and list the costliest calls."""
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    panels: dict[str, dict[str, float]] = {}
    queries_ms = 0.0
    rows = []
    for (path, line, func), (_, calls, tottime, cumtime, _) in stats.stats.items():
        if "cockpit" not in path:
            continue
        module = path[path.rfind("cockpit"):].replace(os.sep, "/")
        short = module.rsplit("/", 1)[-1].removesuffix(".py")
        if module.endswith("warehouse/queries.py") and func == "wrapper":
            queries_ms += cumtime * 1000
        if "/ui/" in module and short not in ("bench", "context", "app"):
            entry = panels.setdefault(short, {"handlers_ms": 0.0, "paint_ms": 0.0})
            if func in ("_on_selection_change", "on_selection"):
                entry["handlers_ms"] += cumtime * 1000
            elif func in _PAINTS:
                entry["paint_ms"] += cumtime * 1000
        if short not in ("bench", "selection", "context"):
            rows.append((cumtime, f"{module}:{line}({func})", calls, tottime))
    rows.sort(reverse=True)
    by_panel = {k: {kk: round(vv, 1) for kk, vv in v.items()}
                for k, v in sorted(panels.items(), key=lambda kv: -sum(kv[1].values()))
                if sum(v.values()) > 0}
    return {
        "runs": runs,
        "total_ms": round(stats.total_tt * 1000, 1),
        "queries_ms": round(queries_ms, 1),
        "by_panel": by_panel,
        "top_cumulative": [{"function": name, "calls": calls, "cum_ms": round(cum * 1000, 1),
                            "self_ms": round(tt * 1000, 1)} for cum, name, calls, tt in rows[:top]],
    }


def _qt_object_count(window) -> int:
    from PySide6.QtCore import QObject

    count = len(window.findChildren(QObject))
    scene = getattr(window.map, "_scene", None)
    if scene is not None:
        count += len(scene.items())
    return count


def _map_measurements(app, window, q, rng: random.Random, n: int) -> dict:
    """The map on its own: recolour (cold query, and warm), click hit-test, hover card."""
    from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
    from PySide6.QtGui import QMouseEvent

    from ..core.selection import Selection
    from ..ui.context import CockpitContext
    from ..ui.map import MapPanel

    ctx = CockpitContext(q, Selection(window.ctx.state))
    panel = MapPanel(ctx)
    panel.resize(window.map.size())
    panel.show()
    _settle(app, panel)
    indicators = [i.code for i in q.indicators if not i.county_only]
    months = q.months
    choro = panel.choropleth

    def recolour(pairs) -> tuple[list[float], list[float]]:
        out, compose = [], []
        for indicator, month in pairs:
            t = time.perf_counter()
            ctx.selection.update(record=False, indicator=indicator, period=month)
            panel.map_widget.repaint()
            out.append((time.perf_counter() - t) * 1000)
            compose.append(choro.compose_ms)
        return out, compose

    pairs = [(rng.choice(indicators), rng.choice(months)) for _ in range(n)]
    cold, compose = recolour(pairs)
    warm, _ = recolour(pairs)   # every answer is memoised now: classes, LUT and paint only

    # Clicks: random points over the map view (townships, gaps and sea), through the panel's
    # own mapping and the index, as a click is handled.
    view = panel.map_widget
    points = [view.mapTo(panel, QPoint(rng.randrange(view.width()), rng.randrange(view.height())))
              for _ in range(2000)]
    hits = []
    t_all = time.perf_counter()
    for p in points:
        t = time.perf_counter()
        panel.region_at(p)
        hits.append((time.perf_counter() - t) * 1e6)
    hit_total_us = (time.perf_counter() - t_all) * 1e6 / len(points)

    # Hover: mouse moves onto the label points of the regions drawn (a city's counties, a
    # county's townships); the card text, the outline and the repaint they cause.
    shown = list(panel.colors)
    hovers = []
    for code in rng.sample(shown, min(200, len(shown))):
        pos = view.mapFrom(panel, panel.widget_pos_of(code))
        event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(view.mapToGlobal(pos)),
                            Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
        t = time.perf_counter()
        app.sendEvent(view, event)
        _settle(app, panel)
        hovers.append((time.perf_counter() - t) * 1000)
    hit_us = np.asarray(hits)
    out = {
        "map_townships": len(choro.codes),
        "map_mode": "id raster" if choro.raster else "vector paths",
        "map_size": f"{view.width()}x{view.height()}",
        "map_bake_ms": round(choro.bake_ms, 1),
        "map_recolour": _stats(cold),
        "map_recolour_warm": _stats(warm),
        "map_lut_compose": _stats(compose),
        "hit_test_us": round(hit_total_us, 2),
        "hit_test": {"n": len(hits), "p50_us": round(float(np.percentile(hit_us, 50)), 2),
                     "p95_us": round(float(np.percentile(hit_us, 95)), 2),
                     "max_us": round(float(hit_us.max()), 2)},
        "hover": _stats(hovers),
    }
    panel.close()
    panel.deleteLater()
    ctx.close()
    app.processEvents()
    return out


def drill_timings(app, window, rng: random.Random, rounds: int = 40) -> dict:
    """Drilling from the top level into one of its regions (a city's county: its townships on
    the map, its cards, its ranking) and back up, each to the first paint of the new level:
    DESIGN §5's drill budget. The first visit of each region (its outlines, its queries) is
    timed with the rest and also reported alone. Empty for a warehouse of one level."""
    ctx = window.ctx
    hierarchy = ctx.hierarchy
    if not hierarchy.multi_level:
        return {}
    root = hierarchy.root
    regions = [c for c in hierarchy.children(root) if hierarchy.has_children(c)]
    ctx.selection.update(record=False, region=root)
    _settle(app, window)
    first, down, up = [], [], []
    for k in range(max(rounds, len(regions))):
        region = regions[k] if k < len(regions) else rng.choice(regions)
        t = time.perf_counter()
        ctx.selection.update(record=False, region=region)
        _settle(app, window)
        (first if k < len(regions) else down).append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        ctx.selection.update(record=False, region=root)
        _settle(app, window)
        up.append((time.perf_counter() - t) * 1000)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"drill": _stats(first + down + up), "drill_down_first": _stats(first),
            "drill_down": _stats(down), "drill_up": _stats(up),
            "drill_load_avg": [round(x, 2) for x in load]}


def briefing_timings(snapshot, alerts, month) -> dict:
    """Briefing PDFs as a leader asks for them: one township's (a fresh question: nothing
    memoised yet), every township's in one go (as `cockpit brief --all`), and the county's."""
    import tempfile

    from ..warehouse.queries import Queries
    from ..ui.briefing import BriefingBuilder, write_pdf

    def timed(make) -> float:
        t0 = time.perf_counter()
        make()
        return time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as folder:
        out = Path(folder)
        q = Queries(snapshot)
        first = q.townships[len(q.townships) // 3]
        one = timed(lambda: write_pdf(BriefingBuilder(q, alerts).build(first.code, month), q,
                                      out / "one.pdf"))
        q = Queries(snapshot)

        def every() -> None:
            builder = BriefingBuilder(q, alerts)
            for k, town in enumerate(q.townships):
                write_pdf(builder.build(town.code, month), q, out / f"{k}.pdf")
        every_s = timed(every)
        q = Queries(snapshot)
        county = timed(lambda: write_pdf(BriefingBuilder(q, alerts).build(q.county.code, month),
                                         q, out / "county.pdf"))
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"one_s": round(one, 3), "all_s": round(every_s, 2), "townships": len(q.townships),
            "county_s": round(county, 3), "load_avg": [round(x, 2) for x in load],
            "cpus": os.cpu_count()}


def run_bench(db: Path, selections: int = 200, size=(1920, 1080), seed: int = 1,
              scale: str | None = None, soak_minutes: float = 0.0,
              profile: bool = True, startup_runs: int = 3,
              soak_steps: list[Step] | None = None, soak_wall=None) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t_start = time.perf_counter()
    from ..ui.app import LiveWarehouse, _application, build_window

    app = _application()
    _quiet_qt()
    import_ms = (time.perf_counter() - t_start) * 1000
    bare_ms = _bare_window_first_paint(app, size)

    t0 = time.perf_counter()
    warehouse = LiveWarehouse(db)
    # Laid out for its size and evaluated after the first paint, as `cockpit` does.
    window = build_window(warehouse, evaluate=False, size=size)
    window.show()
    _settle(app, window)
    first_paint_ms = (time.perf_counter() - t0) * 1000
    first_paint_rss = _rss_mb()
    window.watcher.request()
    # The alert rules are evaluated in the background from start-up on; the timings below are
    # for a settled window, so wait for that evaluation (and report it on its own).
    watcher = getattr(window, "watcher", None)
    while watcher is not None and watcher.busy and time.perf_counter() - t0 < 1800:
        app.processEvents()
        time.sleep(0.01)
    _settle(app, window)
    alerts_ms = (time.perf_counter() - t0) * 1000
    # The window rescales its type shortly after showing (a debounce timer): let that layout
    # happen now rather than inside the first timed changes.
    settle_until = time.perf_counter() + 0.3
    while time.perf_counter() < settle_until:
        app.processEvents()
        time.sleep(0.01)
    prewarm_ms = _rest(app, window)

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

    others = max(10, selections // 4)
    domains = ["overview", "economy", "market", "environment", "governance", "service",
               "government"]
    # warm up caches the way a user's first clicks would
    timed([{"region": c} for c in townships[:3]])
    results = selection_against_floor_and_peer(
        app, window, q, [rng.choice(townships) for _ in range(selections)], size,
        indicators=indicators)
    results.update(paint_passes(app, window, [rng.choice(townships)
                                               for _ in range(min(30, selections))]))
    if profile:   # in the same state as the selections just timed
        picks = [{"region": rng.choice(townships)} for _ in range(min(30, selections))]
        results["profile_selection"] = _profile(lambda: timed(picks), len(picks))
    results.update({
        "indicator_change": _stats(timed([{"indicator": rng.choice(indicators)}
                                          for _ in range(others)])),
        "period_step": _stats(timed([{"period": months[k % len(months)]}
                                     for k in range(others)])),
        "domain_switch": _stats(timed([{"domain": d} for d in
                                       domains * max(1, selections // 25)])),
    })
    # DESIGN §5: an indicator change and a period step cost at most twice a selection (p95).
    results["changes_over_selection"] = {
        name: round(results[name]["p95_ms"] / results["selection"]["p95_ms"], 2)
        for name in ("indicator_change", "period_step")}
    # The cockpit's own memory, before the benchmark adds a second map panel of its own, and
    # less what the matplotlib peer left behind.
    peer_mb = results["peer_rss_mb"]
    rss_mb = _rss_mb() - peer_mb
    peak_mb = max(results["peak_rss_before_peer_mb"], _peak_rss_mb() - peer_mb)
    _rest(app, window)
    results.update(drill_timings(app, window, rng, max(10, selections // 5)))
    results.update(_map_measurements(app, window, q, rng, max(10, selections // 4)))
    if len(townships) < 100:   # a briefing is a county's or a township's, not a nation's
        results["briefing"] = briefing_timings(warehouse.snapshot, ctx.alerts, ctx.state.period)
    counts = q.summary()
    results.update({
        "scale": scale or ("county" if len(townships) < 100 else
                           "city" if q.county.level == "city" else
                           "province" if len(townships) < 10000 else "nation"),
        "warehouse": str(Path(db).resolve()),
        "townships": len(townships),
        "regions": len(q.regions),
        "indicators": len(q.indicators),
        "observations": counts["observations"],
        "events": counts["events"],
        "window": f"{size[0]}x{size[1]}",
        "qt_import_ms": round(import_ms, 1),
        "bare_window_first_paint_ms": round(bare_ms, 1),
        "first_paint_ms": round(first_paint_ms, 1),
        "first_paint_ratio": round(first_paint_ms / bare_ms, 2) if bare_ms else None,
        "first_paint_rss_mb": round(first_paint_rss, 1),
        "alerts_evaluated_after_ms": round(alerts_ms, 1),
        "prewarm_ms": round(prewarm_ms, 1),
        "rss_mb": round(rss_mb, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "peak_rss_with_bench_map_mb": round(_peak_rss_mb(), 1),
    })
    window.close()
    window.watcher.stop(wait_s=600)
    window.deleteLater()
    app.processEvents()
    warehouse.close()
    if soak_minutes > 0:
        results["soak"] = soak(app, db, soak_minutes, rng, size, steps=soak_steps,
                               wall=soak_wall)
    if startup_runs and results["scale"] == "county":   # DESIGN §5 sets it for the demo
        results["startup"] = startup(db, size, runs=startup_runs)
    results["budgets"] = check_budgets(results)
    return results


def _load_avg() -> list[float]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return [round(x, 2) for x in load]


def selection_against_floor_and_peer(app, window, q, codes: list[str], size,
                                     indicators: list[str]) -> dict:
    """Township selections interleaved, one by one, with a full repaint of the floor and the
    matplotlib peer's naive and blitting redraws of the same township: whatever the machine's
    load does to one, it does to the others, so the ratios hold where absolute figures do not.
    A selection is also split into its handlers (the selection model's signal through every
    panel's slot), the layouts and views' redraws run before the window paints (context.py),
    and the rest (painting)."""
    from . import peer as peer_module
    from .floor import Floor

    ctx = window.ctx
    floor = Floor(app, size, _settle)
    rss_before, peak_before = _rss_mb(), _peak_rss_mb()
    peer = None
    if len(q.townships) <= 2000:   # a matplotlib choropleth of a nation is no one's peer
        if peer_module.available():
            peer = peer_module.Peer(app, q, ctx.state.indicator, ctx.state.period, size,
                                    _settle, indicators)
        else:
            print(peer_module.MISSING, file=sys.stderr)
    load_before = _load_avg()
    # The layouts and the views' queued redraws run at the end of the selection's signal
    # (context.py, so the window paints once): timed apart from the panels' own handlers.
    settle = getattr(ctx, "_settle_layouts", None)
    settling = [0.0]

    def timed_settle() -> None:
        t = time.perf_counter()
        settle()
        settling[0] += time.perf_counter() - t
    if settle is not None:
        ctx._settle_layouts = timed_settle
    # The panels' handlers run when the change is shown: at once at a county's size, when the
    # query worker's answers are in at a province's (the request itself returns at once).
    show = getattr(ctx, "_show", None)
    showing = [0.0]

    def timed_show(*args) -> None:
        t = time.perf_counter()
        show(*args)
        showing[0] += time.perf_counter() - t
    if show is not None:
        ctx._show = timed_show
    sel, handlers, layout, floor_ms, naive, blit = [], [], [], [], [], []
    # A township's first selection draws what a repeat copies (the events' rows, the trend's
    # chart, the ranking's rows): the two are told apart, since the p95 is the first visits.
    seen, first, repeat = {ctx.state.region}, [], []
    for code in codes:
        if peer is not None:
            peer.prepare(code)
        settling[0] = showing[0] = 0.0
        t = time.perf_counter()
        ctx.selection.update(record=False, region=code)
        t1 = time.perf_counter()
        _settle(app, window)
        t2 = time.perf_counter()
        sel.append((t2 - t) * 1000)
        (repeat if code in seen else first).append(sel[-1])
        seen.add(code)
        handlers.append(((showing[0] if show is not None else t1 - t) - settling[0]) * 1000)
        layout.append(settling[0] * 1000)
        floor_ms.append(floor.repaint_ms())
        if peer is not None:
            blit.append(peer.blit_ms(code))
            naive.append(peer.naive_ms(code))
    if settle is not None:
        del ctx._settle_layouts
    if show is not None:
        del ctx._show
    floor.close()
    if peer is not None:
        peer.close()
    app.processEvents()
    gc.collect()
    out = {"selection": _stats(sel), "selection_first": _stats(first),
           "selection_repeat": _stats(repeat), "selection_handlers": _stats(handlers),
           "selection_layout": _stats(layout),
           # what the peer left in this process (matplotlib): not the cockpit's memory
           "peer_rss_mb": round(max(0.0, _rss_mb() - rss_before), 1) if peer else 0.0,
           "peak_rss_before_peer_mb": round(peak_before, 1),
           "floor": _stats(floor_ms), "selection_load_avg": [load_before, _load_avg()]}
    s, f = out["selection"], out["floor"]
    out["selection_over_floor"] = {"p50": round(s["p50_ms"] / f["p50_ms"], 2),
                                   "p95": round(s["p95_ms"] / f["p95_ms"], 2)}
    if peer is not None:
        out["peer_naive"], out["peer_blit"] = _stats(naive), _stats(blit)
        # How many times faster the cockpit is than the peer (target ≥ 4 against blitting).
        out["peer_over_selection"] = {
            name: {"p50": round(out[name]["p50_ms"] / s["p50_ms"], 2),
                   "p95": round(out[name]["p95_ms"] / s["p95_ms"], 2)}
            for name in ("peer_naive", "peer_blit")}
    return out


def paint_passes(app, window, codes: list[str]) -> dict:
    """Backing-store passes, paint events and painted area (in window areas) per selection,
    counted on selections of their own (the counting filter sees every event: it would
    slow the timed ones)."""
    from .floor import PaintCounter

    ctx = window.ctx
    passes, paints, area = [], [], []
    with PaintCounter(app, window) as counter:
        for code in codes:
            counter.reset()
            ctx.selection.update(record=False, region=code)
            _settle(app, window)
            passes.append(counter.passes)
            paints.append(counter.paints)
            area.append(counter.area)
    return {"paint_passes": {"n": len(codes), "mean": round(float(np.mean(passes)), 2),
                             "max": int(max(passes))},
            "paint_events": round(float(np.mean(paints)), 1),
            "painted_window_areas": round(float(np.mean(area)), 2)}


# -- the soak: a window left running with a user (or a wall) acting on it --------------------------
Step = Callable[[object, random.Random], None]


def _page_of(window) -> str:
    return window.page_name


def _wall_steps(window, playlist) -> tuple[list[Step], Callable[[object], str]]:
    """The one step of a wall soak (turn the carousel) and what counts as a page there."""
    from ..ui.wall import WallController

    clock = [time.monotonic()]
    controller = WallController(window, playlist, clock=lambda: clock[0], kiosk=False)
    controller.pause_rotation()   # the soak's clock turns it, not the wall's timer

    def wall_turn(window, rng: random.Random) -> None:
        clock[0] += controller.carousel.remaining(clock[0]) + 0.001
        controller.tick()
        if controller.last_error:
            message, controller.last_error = controller.last_error, None
            raise RuntimeError(message)

    def page(window) -> str:
        step = controller.carousel.current
        return "alert" if step.alert_id else f"{step.page_index + 1}·{step.kind}"
    return [wall_turn], page


def _township(window, rng: random.Random) -> None:
    q = window.ctx.queries
    codes = [t.code for t in q.townships]
    window.ctx.select(region=rng.choice(codes) if rng.random() < 0.9 else q.county.code)


def _month(window, rng: random.Random) -> None:
    window.ctx.select(period=rng.choice(window.ctx.queries.months))


def _indicator(window, rng: random.Random) -> None:
    shown = window.ctx.domain_indicators(window.ctx.state.domain)
    if shown:
        window.ctx.select(indicator=rng.choice(shown).code)


def _domain_tab(window, rng: random.Random) -> None:
    window.header.tabs.setCurrentIndex(rng.randrange(window.header.tabs.count()))


def _back(window, rng: random.Random) -> None:
    window.ctx.selection.back()


def _detail_page(window, rng: random.Random) -> None:
    codes = [t.code for t in window.ctx.queries.townships]
    window.ctx.detail_requested.emit(rng.choice(codes))


def _quality_page(window, rng: random.Random) -> None:
    window.show_quality()


def _cockpit_page(window, rng: random.Random) -> None:
    window.show_cockpit()


def _alert_history(window, rng: random.Random) -> None:
    panel = window.alerts
    ids = panel.alert_ids()
    if ids:
        panel.select_alert(rng.choice(ids))
        panel.request("history")
        if panel.history_dialog is not None:
            panel.history_dialog.close()


def _import_dialog(window, rng: random.Random) -> None:
    window.open_import().close()


def default_steps() -> list[Step]:
    """What people do to a cockpit, one step each, weighted by repetition: townships and months
    most, then indicators, domain tabs, back, the detail and data-quality pages and back to the
    cockpit, the alert history and the import dialog."""
    return ([_township] * 6 + [_month] * 3 + [_indicator] * 2
            + [_domain_tab, _back, _detail_page, _cockpit_page, _cockpit_page, _quality_page,
               _alert_history, _import_dialog])


class _ExceptionRecorder:
    """Counts exceptions that reach sys.excepthook (Qt slots and overrides) or
    threading.excepthook (worker threads) while installed, and what they were."""

    def __init__(self):
        self.seen: list[str] = []

    def record(self, exc: BaseException) -> None:
        import traceback

        self.seen.append("".join(traceback.format_exception(type(exc), exc,
                                                            exc.__traceback__))[-1500:])

    def install(self) -> None:
        import threading

        self._previous = sys.excepthook, threading.excepthook
        sys.excepthook = lambda kind, exc, tb: self.record(exc.with_traceback(tb))
        threading.excepthook = lambda args: self.record(
            args.exc_value.with_traceback(args.exc_traceback))

    def uninstall(self) -> None:
        import threading

        sys.excepthook, threading.excepthook = self._previous


def private_copy(db: Path, into: Path) -> Path:
    """The current snapshot of `db` as the only snapshot of a new warehouse at `into`: the soak
    publishes and raises drills there, never in the warehouse it measures."""
    from ..warehouse.store import SnapshotStore

    source = SnapshotStore(db)
    path = source.snapshot_path(source.current())
    with SnapshotStore(into).writer(note="soak copy") as con:
        name = con.execute("SELECT current_database()").fetchone()[0]
        con.execute("ATTACH '" + str(path).replace("'", "''") + "' AS source (READ_ONLY)")
        con.execute('COPY FROM DATABASE source TO "' + name.replace('"', '""') + '"')
        con.execute("DETACH source")
    return into


def inject_red_alert(service, queries, k: int) -> str:
    """A drill: one 红 alert in township k (mod their number), raised in the operations store
    as another window's evaluation would; the previous drill alert clears. Returns its id."""
    from datetime import date

    from ..alerts.engine import Alert, Evaluation, alert_id
    from ..core.formatting import month_label

    township = queries.townships[k % len(queries.townships)]
    period = queries.as_of or queries.months[-1]   # (reference data: read once, then cached)
    alert = Alert(id=alert_id("soak_drill", township.code, "drill", period), rule_id="soak_drill",
                  rule_name="演练：红色预警", kind="events", severity="红", region=township.code,
                  region_name=township.name, indicator=None, indicator_name=None,
                  category="演练", period=period, period_label=month_label(period),
                  observed=None, expected=None, limit=None, measure=None, unit="",
                  message=f"【演练】{township.name} 红色预警（第 {k} 次）")
    service.store.sync(Evaluation(snapshot_version=k, scope=queries.county.code, as_of=period,
                                  alerts=[alert],
                                  coverage={"soak_drill": {"events": date(1900, 1, 1)}}),
                       warehouse="soak-drill")
    return alert.id


class _Background:
    """Publishes the warehouse again (in a process of its own, as an import job or the inbox
    watcher does; a thread in the frozen build) and raises drill alerts from a worker thread,
    each every so often and one at a time."""

    def __init__(self, root: Path, state_path: Path, queries, publish_every_s: float,
                 alert_every_s: float):
        from ..alerts.store import AlertService

        self.root = root
        self.service = AlertService(root, state_path=state_path, scope=queries.county.code)
        self.queries = queries   # what the drills need of it is cached: its snapshot may close
        queries.as_of, queries.townships, queries.months
        self.every = {"publish": publish_every_s, "alert": alert_every_s}
        self.due = {"publish": time.monotonic() + publish_every_s,
                    "alert": time.monotonic() + alert_every_s / 2}
        self.done = {"publish": 0, "alert": 0}
        self.threads: dict[str, object] = {}

    def tick(self) -> None:
        import threading

        now = time.monotonic()
        for job in ("publish", "alert"):
            running = self.threads.get(job)
            if now < self.due[job] or (running is not None and running.is_alive()):
                continue
            self.due[job] = now + self.every[job]
            self.threads[job] = threading.Thread(target=self._run, args=(job,),
                                                 name=f"soak-{job}", daemon=True)
            self.threads[job].start()

    def _run(self, job: str) -> None:
        import subprocess

        from ..warehouse.publish import republish

        if job == "publish" and getattr(sys, "frozen", False):
            republish(self.root, note="soak")
        elif job == "publish":
            subprocess.run([sys.executable, "-c", "import sys; from cockpit.warehouse.publish "
                            "import republish; republish(sys.argv[1], note='soak')",
                            str(self.root)], check=True, capture_output=True, timeout=600)
        else:
            inject_red_alert(self.service, self.queries, self.done["alert"] + 1)
        self.done[job] += 1

    def stop(self) -> None:
        for thread in self.threads.values():
            thread.join(600)


def soak(app, db: Path, minutes: float, rng: random.Random, size=(1920, 1080),
         steps: list[Step] | None = None, sample_s: float = 5.0, wall=None,
         min_actions: int = 0) -> dict:
    """A window left running for `minutes` while steps act on it as fast as it answers, new
    snapshots are published now and then and drill 红 alerts raised now and then. Reports the
    resident memory slope over the second half (MB/h; raw, and after the allocator gave back
    what is free, see `_kept_mb`), Qt objects at the start and the end of that half, every
    exception caught (sys.excepthook, threading.excepthook, a step raising; target 0) and how
    often each step ran and each page was shown.

    It runs on a private copy of the warehouse's current snapshot and a private operations
    store (in a temporary folder, removed afterwards): nothing it publishes or raises reaches
    the warehouse measured or the operators' alerts.

    `steps` is the action source: a list of callables `step(window, rng)`, one chosen at random
    (uniformly: repeat a step to weight it) per turn, counted under its __name__; an exception
    it raises is counted and the soak goes on. The default is `default_steps()`.

    `wall` (a Playlist) soaks the window as a wall runs it instead: a WallController drives it
    on a clock of the soak's own, and every step moves that clock to the end of the page's
    dwell, so the carousel turns through every page (each township of a townships page, the
    red-alert interrupts the drills raise) as fast as the window answers; `pages` then counts
    the playlist's pages (`3·townships`, `alert` for an interrupt). With the rate printed
    (turns per minute), size `minutes` so that every page is shown at least 1,000 times.
    `min_actions`: go on past `minutes` until that many steps ran (a slow machine still sees
    every page of a short playlist).
    """
    import shutil
    import tempfile
    from collections import Counter

    from ..ui.app import LiveWarehouse, _watch, build_window

    steps = list(steps or default_steps())
    work = Path(tempfile.mkdtemp(prefix="cockpit-soak-"))
    state = work / "state" / "operations.sqlite"
    recorder = _ExceptionRecorder()
    recorder.install()
    warehouse = LiveWarehouse(private_copy(db, work / "warehouse"))
    window = build_window(warehouse, state_path=state)
    window.resize(*size)
    window.show()
    _settle(app, window)
    _watch(window, warehouse)
    page_of = _page_of
    if wall is not None:
        steps, page_of = _wall_steps(window, wall)
    reloads, announced, problems = [0], [0], Counter()
    window.ctx.reloaded.connect(lambda: reloads.__setitem__(0, reloads[0] + 1))
    window.ctx.problem_reported.connect(lambda key, text: problems.update([key]))
    announce = window.ticker.announce

    def counting_announce(alerts) -> None:
        announced[0] += sum(1 for a in alerts if a.severity == "红")
        announce(alerts)
    window.ticker.announce = counting_announce
    span = minutes * 60
    background = _Background(warehouse.root, state, warehouse.queries,
                             publish_every_s=min(60.0, max(1.0, span / 6)),
                             alert_every_s=min(45.0, max(1.0, span / 8)))

    ran, pages = Counter(), Counter()
    by_step: dict[str, list[float]] = {}
    half_objects: int | None = None
    durations: list[float] = []
    samples: list[tuple[float, float, float, int]] = []   # seconds, RSS, kept MB, objects
    start = time.monotonic()
    end, next_sample = start + span, start
    while time.monotonic() < end or len(durations) < min_actions:
        step = rng.choice(steps)
        t = time.perf_counter()
        try:
            step(window, rng)
        except Exception as exc:  # noqa: BLE001 - counted and reported: the soak goes on
            recorder.record(exc)
        _settle(app, window)
        durations.append((time.perf_counter() - t) * 1000)
        name = getattr(step, "__name__", repr(step)).lstrip("_")
        ran[name] += 1
        by_step.setdefault(name, []).append(durations[-1])
        pages[page_of(window)] += 1
        background.tick()
        now = time.monotonic()
        if now >= next_sample:
            gc.collect()
            samples.append((now - start, _rss_mb(), _kept_mb(), len(gc.get_objects())))
            next_sample = now + sample_s
        if half_objects is None and now - start >= span / 2:
            # Counted twice only: findChildren wraps every C++ child in Python, and PySide
            # keeps wrappers of transient ones (text frames of rich-text labels) — counted
            # every few seconds, the counting itself grew the Python heap.
            half_objects = _qt_object_count(window)
    background.stop()
    for _ in range(3):   # the last publication and drill reach the window
        app.processEvents()
        time.sleep(0.5)
    _settle(app, window)
    gc.collect()
    samples.append((time.monotonic() - start, _rss_mb(), _kept_mb(), len(gc.get_objects())))
    end_objects = _qt_object_count(window)
    window.close()
    window.watcher.stop(wait_s=600)
    window.deleteLater()
    app.processEvents()
    warehouse.close()
    recorder.uninstall()
    shutil.rmtree(work, ignore_errors=True)

    t = np.array([s[0] for s in samples])
    rss = np.array([s[1] for s in samples])
    kept = np.array([s[2] for s in samples])
    half = t >= t[-1] * 0.5

    def slope_of(values, error: bool = False) -> float:
        """MB/h over the second half (least squares), or its standard error: a 10-minute
        soak whose samples swing by ±5 MB cannot tell 0 from 50 MB/h; the error says so."""
        if half.sum() >= 4 and np.ptp(t[half]) > 0:
            fit, cov = np.polyfit(t[half] / 3600.0, values[half], 1, cov=True)
            return float(np.sqrt(cov[0, 0]) if error else fit[0])
        return float("nan")
    first = int(np.argmax(half))
    return {
        "minutes": round(minutes, 2),
        "actions": len(durations),
        "actions_per_minute": round(len(durations) / max(span / 60, 1e-9), 1),
        "action": _stats(durations),
        "steps": dict(ran.most_common()),
        "step_ms": {name: _stats(values) for name, values in by_step.items()},
        "pages": dict(pages.most_common()),
        "snapshots_published": background.done["publish"],
        "reloads": reloads[0],
        "drill_alerts_raised": background.done["alert"],
        "red_alerts_announced": announced[0],
        "banner_problems": dict(problems),
        "exceptions": len(recorder.seen),
        "exception_samples": recorder.seen[:5],
        "samples": len(samples),
        "rss_start_mb": round(float(rss[0]), 1),
        "rss_end_mb": round(float(rss[-1]), 1),
        "rss_slope_mb_per_hour": round(slope_of(rss), 1),
        "kept_start_mb": round(float(kept[first]), 1),
        "kept_end_mb": round(float(kept[-1]), 1),
        "kept_slope_mb_per_hour": round(slope_of(kept), 1),
        "kept_slope_error_mb_per_hour": round(slope_of(kept, error=True), 1),
        "qt_objects_start": half_objects if half_objects is not None else end_objects,
        "qt_objects_end": end_objects,
        "qt_object_growth": end_objects - (half_objects if half_objects is not None
                                           else end_objects),
        "python_objects_start": samples[first][3],
        "python_objects_end": samples[-1][3],
        "rss_samples": [[round(s[0], 1), round(s[1], 1), round(s[2], 1)] for s in samples],
    }


def check_budgets(results: dict) -> dict:
    """Each DESIGN §5 budget of this scale: the figure, the budget and whether it is met."""
    scale = results.get("scale", "county")
    figures = {
        "selection_p95_ms": results["selection"]["p95_ms"],
        "first_paint_ratio": (results.get("startup") or {}).get("ratio"),
        "rss_mb": results.get("peak_rss_mb"),
        "map_recolour_p95_ms": results.get("map_recolour", {}).get("p95_ms"),
        "hit_test_p95_us": results.get("hit_test", {}).get("p95_us"),
        "briefing_s": (results.get("briefing") or {}).get("one_s"),
        "briefings_all_s": (results.get("briefing") or {}).get("all_s"),
        "drill_p95_ms": (results.get("drill") or {}).get("p95_ms"),
    }
    out = {}
    for key, budget in BUDGETS.get(scale, {}).items():
        value = figures.get(key)
        out[key] = {"value": value, "budget": budget,
                    "met": None if value is None else bool(value <= budget)}
    return out


def print_table(results: dict) -> None:
    rows = [("选择乡镇 → 全部面板重绘 selection", results["selection"]),
            ("  首次选中 first visit", results.get("selection_first", _stats([]))),
            ("  再次选中 repeat", results.get("selection_repeat", _stats([]))),
            ("  其中处理函数 handlers", results["selection_handlers"]),
            ("  其中布局与视图刷新 layout", results["selection_layout"]),
            ("  底线：整窗重绘 floor", results["floor"])]
    if "peer_blit" in results:
        rows += [("  matplotlib 对照 blit", results["peer_blit"]),
                 ("  matplotlib 对照 draw()", results["peer_naive"])]
    rows += [("切换指标 indicator change", results["indicator_change"]),
             ("切换月份 period step", results["period_step"]),
             ("切换领域 domain switch", results["domain_switch"])]
    if "drill" in results:
        rows += [("逐级下钻并返回 drill down & up", results["drill"]),
                 ("  首次进入 first visit", results["drill_down_first"])]
    if "map_recolour" in results:
        rows += [("地图重新着色 map recolour", results["map_recolour"]),
                 ("  （查询已缓存 memoised）", results["map_recolour_warm"]),
                 ("地图悬停卡片 hover card", results["hover"])]
    print(f"规模 scale: {results.get('scale')}，乡镇 {results.get('townships'):,} 个，"
          f"观测值 {results.get('observations', 0):,} 条，窗口 {results.get('window')}")
    print(f"{'':36} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, s in rows:
        if not s["n"]:
            continue
        print(f"{label:36} {s['n']:>5} {s['p50_ms']:>8.2f} {s['p95_ms']:>8.2f} {s['max_ms']:>8.2f}")
    f, load = results["selection_over_floor"], results["selection_load_avg"]
    line = (f"选择 / 底线 selection/floor      p50 {f['p50']}×，p95 {f['p95']}×")
    if "peer_over_selection" in results:
        b, n = results["peer_over_selection"]["peer_blit"], results["peer_over_selection"]["peer_naive"]
        line += (f"；对照 / 选择 peer/selection blit p50 {b['p50']}×，p95 {b['p95']}×，"
                 f"draw() p50 {n['p50']}×，p95 {n['p95']}×")
    print(line + f"（负载 load {'/'.join(f'{x:.2f}' for x in load[0])} → "
          f"{'/'.join(f'{x:.2f}' for x in load[1])}）")
    c = results.get("changes_over_selection")
    if c:
        print(f"切换 / 选择 change/selection p95  指标 indicator {c['indicator_change']}×，"
              f"月份 period {c['period_step']}×（目标 target ≤ 2×）")
    p = results["paint_passes"]
    print(f"每次选择的绘制 paint per selection  {p['mean']} 遍 passes（最多 {p['max']}），"
          f"{results['paint_events']} 个 paint 事件，绘制面积 {results['painted_window_areas']} 个窗口")
    start = results.get("startup")
    if start:
        print(f"启动到首次完整绘制 start-up     {start['cockpit_ms']:.0f} ms"
              f"（裸 PySide6 + pyqtgraph 程序 bare program {start['bare_ms']:.0f} ms，"
              f"各 {start['runs']} 次取中位数；比值 ratio {start['ratio']}，逐对取中位数 "
              f"median of paired launches）")
        if start.get("steps_ms"):
            print("  各步骤 steps ms                " + "，".join(
                f"{k} {v:.0f}" for k, v in start["steps_ms"].items()))
    print(f"  进程内建窗并绘制 in-process   {results['first_paint_ms']:.0f} ms"
          f"（裸窗口 bare window {results['bare_window_first_paint_ms']:.0f} ms，"
          f"比值 ratio {results['first_paint_ratio']}）")
    if "hit_test" in results:
        h = results["hit_test"]
        print(f"地图点选 hit-test               p50 {h['p50_us']:.1f} µs，p95 {h['p95_us']:.1f} µs"
              f"（{results.get('map_mode')}，{results.get('map_townships', 0):,} 个乡镇，"
              f"烘焙 bake {results.get('map_bake_ms', 0):.0f} ms）")
    print(f"常驻内存 RSS                     {results['rss_mb']:.0f} MB"
          f"（峰值 peak {results['peak_rss_mb']:.0f} MB；首次绘制后 "
          f"{results['first_paint_rss_mb']:.0f} MB；后台预警评估于启动后 "
          f"{results['alerts_evaluated_after_ms'] / 1000:.1f} 秒完成）")
    if "briefing" in results:
        b = results["briefing"]
        mark = {True: "✓", False: "✗"}
        load = "/".join(f"{x:.2f}" for x in b["load_avg"])
        print(f"简报 PDF briefing               一份 one {b['one_s']:.2f} 秒"
              f"（≤ {BUDGETS['county']['briefing_s']:g} 秒 {mark[b['one_s'] <= 1.0]}），"
              f"全部 {b['townships']} 个乡镇 all {b['all_s']:.1f} 秒"
              f"（≤ {BUDGETS['county']['briefings_all_s']:g} 秒 {mark[b['all_s'] <= 15.0]}），"
              f"全县 county {b['county_s']:.2f} 秒；负载 load {load}（{b['cpus']} 核）")
    if "soak" in results:
        s = results["soak"]
        print(f"长时运行 soak                   {s['minutes']} 分钟，{s['actions']} 次操作"
              f"（每分钟 {s['actions_per_minute']} 次），发布快照 {s['snapshots_published']} 次"
              f"（窗口重载 {s['reloads']} 次），演练红色预警 {s['drill_alerts_raised']} 次"
              f"（滚动提示 {s['red_alerts_announced']} 条）")
        print(f"  后半程内存斜率 {s['rss_slope_mb_per_hour']} MB/小时"
              f"（{s['rss_start_mb']:.0f} → {s['rss_end_mb']:.0f} MB；归还空闲后 "
              f"{s['kept_slope_mb_per_hour']} ± {s['kept_slope_error_mb_per_hour']} MB/小时，"
              f"{s['kept_start_mb']:.0f} → {s['kept_end_mb']:.0f} MB），"
              f"Qt 对象 {s['qt_objects_start']} → {s['qt_objects_end']}，"
              f"异常 {s['exceptions']} 个；页面 {s['pages']}")
        print(f"  各操作次数 {s['steps']}")
        for sample in s["exception_samples"][:2]:
            print("  " + sample.strip().splitlines()[-1])
    prof = results.get("profile_selection")
    if prof:
        panels = "，".join(f"{k} {v['handlers_ms'] + v['paint_ms']:.0f}"
                           for k, v in list(prof["by_panel"].items())[:6])
        print(f"选择耗时分布 profile            {prof['runs']} 次选择共 {prof['total_ms']:.0f} ms"
              f"（其中查询 {prof['queries_ms']:.0f} ms）：{panels}")
    budgets = results.get("budgets") or {}
    if budgets:
        parts = []
        for key, b in budgets.items():
            mark = "✓" if b["met"] else ("?" if b["met"] is None else "✗")
            parts.append(f"{key} {b['value']} / {b['budget']} {mark}")
        print("预算 budgets (DESIGN §5)         " + "；".join(parts))


def ensure_dataset(scale: str, quiet: bool = False, path: Path | None = None) -> Path:
    """The dataset of a scale at `path` (default <COCKPIT_HOME>/bench/<scale>), built there
    on first use."""
    from ..warehouse.scale import build_scale, scale_db_dir, step_count
    from ..warehouse.store import SnapshotStore

    path = Path(path) if path is not None else scale_db_dir(scale)
    if SnapshotStore(path).exists():
        return path
    progress = (lambda step: None)
    if not quiet:
        from ..progress import steps as _progress

        print(f"首次运行：正在生成{_SCALE_NAMES.get(scale, scale)}规模数据集 → {path}",
              file=sys.stderr)
        progress = _progress(step_count(scale))
    build_scale(path, scale, progress=progress)
    return path


def given_db(args) -> Path | None:
    """`--db DIR` when the user gave one (with `--scale`: where that scale's dataset is, or is
    built), None for the default."""
    from ..paths import default_db_dir

    db = getattr(args, "db", None)
    return None if db is None or db == str(default_db_dir()) else Path(db)


def _soak_playlist(db: Path, which: str):
    """The playlist a wall soak turns through ("default": the one the wall ships with)."""
    from ..core.playlist import PlaylistError
    from ..errors import UsageError
    from ..ui.wall import read_playlist
    from ..warehouse.queries import Queries
    from ..warehouse.store import open_current

    snap = open_current(db)
    try:
        return read_playlist(None if which == "default" else which, Queries(snap), public=False)
    except PlaylistError as exc:
        raise UsageError(str(exc)) from None
    finally:
        snap.close()


_SCALE_NAMES = {"county": "县级", "city": "市级", "province": "省级", "nation": "全国"}


def main(args) -> int:
    scale = getattr(args, "scale", None)
    db = ensure_dataset(scale, path=given_db(args)) if scale else Path(args.db)
    wall = None
    if getattr(args, "wall", None):
        wall = _soak_playlist(db, args.wall)
    results = run_bench(db, selections=args.selections, size=args.size, scale=scale,
                        soak_minutes=getattr(args, "soak", None) or 0.0, soak_wall=wall,
                        startup_runs=getattr(args, "startup_runs", 3))
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2),
                                   encoding="utf-8")
    return 0
