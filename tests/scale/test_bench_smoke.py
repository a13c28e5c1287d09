"""CI smoke run of `cockpit bench --scale county`: it runs end to end and reports every figure
(no timing assertions: the budgets are judged on real runs, not in CI)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.heavy(60)


def test_bench_at_county_scale_writes_every_figure_to_json(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COCKPIT_HOME=str(tmp_path / "home"))
    run = subprocess.run(
        [sys.executable, "-m", "cockpit", "bench", "--scale", "county", "--selections", "4",
         "--soak", "0.03", "--startup-runs", "1", "--json", str(out),
         "--db", str(tmp_path / "county")],
        capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "selection" in run.stdout and "hit-test" in run.stdout
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["scale"] == "county" and results["townships"] == 18
    for key in ("selection", "indicator_change", "period_step", "domain_switch",
                "map_recolour", "map_recolour_warm", "hover"):
        assert set(results[key]) == {"n", "p50_ms", "p95_ms", "max_ms"}, key
        assert results[key]["n"] > 0
    assert results["selection"]["n"] == 4
    # split into first visits and repeats (four random townships of 18: at least one first)
    assert results["selection_first"]["n"] + results["selection_repeat"]["n"] == 4
    assert results["selection_first"]["n"] >= 1 and "first visit" in run.stdout
    # The floor and the peer, interleaved with the selections, and the selection's anatomy.
    assert results["floor"]["n"] == 4 and results["selection_over_floor"]["p95"] > 0
    assert 0 < results["selection_handlers"]["p50_ms"] <= results["selection"]["p50_ms"]
    assert results["paint_passes"]["mean"] >= 1 and results["paint_events"] >= 1
    assert "selection/floor" in run.stdout and "passes" in run.stdout
    # an indicator change and a period step against the selection (DESIGN §5: at most 2×)
    ratios = results["changes_over_selection"]
    assert ratios["indicator_change"] == round(
        results["indicator_change"]["p95_ms"] / results["selection"]["p95_ms"], 2)
    assert ratios["period_step"] > 0 and "change/selection" in run.stdout
    if importlib.util.find_spec("matplotlib") is None:
        # the `bench` extra is missing: one line says the peer was skipped
        assert "matplotlib" in run.stderr and "Traceback" not in run.stderr
    else:
        assert results["peer_blit"]["n"] == 4 and results["peer_naive"]["n"] == 4
        assert results["peer_over_selection"]["peer_blit"]["p50"] > 0
    for key in ("first_paint_ms", "bare_window_first_paint_ms", "first_paint_ratio",
                "first_paint_rss_mb", "alerts_evaluated_after_ms", "rss_mb", "peak_rss_mb",
                "hit_test_us"):
        assert results[key] > 0, key
    assert results["hit_test"]["n"] > 0 and results["hit_test"]["p95_us"] > 0
    start = results["startup"]   # launched as a user would: python -m cockpit, and the floor
    assert start["cockpit_ms"] > 0 and start["bare_ms"] > 0 and len(start["cockpit_all_ms"]) == 1
    assert results["budgets"]["first_paint_ratio"]["value"] == start["ratio"]
    assert "start-up" in run.stdout
    soak = results["soak"]
    assert set(soak) >= {"rss_slope_mb_per_hour", "kept_slope_mb_per_hour", "qt_objects_start",
                         "qt_objects_end", "exceptions", "steps", "pages", "snapshots_published",
                         "reloads", "drill_alerts_raised", "red_alerts_announced"}
    assert soak["actions"] > 0 and soak["exceptions"] == 0, soak["exception_samples"]
    assert "长时运行 soak" in run.stdout
    assert set(results["budgets"]) == {"selection_p95_ms", "first_paint_ratio", "rss_mb",
                                       "briefing_s", "briefings_all_s"}
    brief = results["briefing"]
    assert brief["one_s"] > 0 and brief["all_s"] > 0 and brief["townships"] == 18
    assert "briefing" in run.stdout and "load" in run.stdout
    assert results["profile_selection"]["by_panel"]
    # --db is where the scale's dataset is built and read, not <COCKPIT_HOME>/bench/<scale>
    assert (tmp_path / "county" / "manifests").is_dir()
    assert not (tmp_path / "home" / "bench").exists()
    assert results["warehouse"] == str((tmp_path / "county").resolve())


def test_the_soak_takes_its_steps_from_a_list_publishes_raises_drills_and_counts_exceptions(
        demo_db, qapp):
    import random

    from cockpit.bench import harness as bench
    from cockpit.warehouse.store import SnapshotStore

    versions = SnapshotStore(demo_db).versions()
    calls = []

    def carousel(window, rng):   # a wall step with a bug the first time: counted, soak goes on
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("carousel step failed")
        window.ctx.select(region=rng.choice(window.ctx.queries.townships).code)

    result = bench.soak(qapp, demo_db, 0.08, random.Random(1), size=(1280, 720),
                        steps=[carousel], sample_s=1.0, min_actions=4)
    assert result["steps"] == {"carousel": result["actions"]} and result["actions"] >= 2
    assert result["exceptions"] == 1 and "carousel step failed" in result["exception_samples"][0]
    assert result["snapshots_published"] >= 1 and result["reloads"] >= 1
    assert result["drill_alerts_raised"] >= 1 and result["red_alerts_announced"] >= 1
    assert result["pages"] == {"cockpit": result["actions"]}
    assert SnapshotStore(demo_db).versions() == versions   # published into a private copy


def test_a_wall_soak_turns_the_carousel_through_every_page_of_its_playlist(demo_db, qapp,
                                                                            tmp_path):
    import random

    from cockpit.bench import harness as bench
    from cockpit.ui.wall import read_playlist
    from cockpit.warehouse.queries import Queries
    from cockpit.warehouse.store import open_current

    path = tmp_path / "soak.toml"
    path.write_text('[playlist]\ndwell = 30\n\n[[page]]\nkind = "domain"\ndomain = "总览"\n\n'
                    '[[page]]\nkind = "townships"\ncount = 2\n\n[[page]]\nkind = "alerts"\n',
                    encoding="utf-8")
    snap = open_current(demo_db)
    try:
        playlist = read_playlist(path, Queries(snap), public=False)
    finally:
        snap.close()
    result = bench.soak(qapp, demo_db, 0.05, random.Random(2), size=(1280, 720),
                        sample_s=1.0, wall=playlist, min_actions=12)
    assert result["steps"] == {"wall_turn": result["actions"]}
    assert result["exceptions"] == 0, result["exception_samples"]
    pages = result["pages"]
    assert set(pages) <= {"1·domain", "2·townships", "3·alerts", "alert"}
    # A townships page of two townships is two turns for one turn of each other page.
    assert pages["1·domain"] >= 2 and pages["3·alerts"] >= 2
    assert pages["2·townships"] >= 2 * pages["3·alerts"] - 2
