"""The `cockpit` command: launch the cockpit, build the demo, inspect a warehouse, render snapshots."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import __version__
from .paths import default_db_dir


class UsageError(Exception):
    """A user's mistake: reported in one line, exit status 2, never a traceback."""


def _progress(total: int):
    """A one-line progress bar on stderr for long CLI work."""
    state = {"done": 0, "start": time.monotonic()}

    def step(label: str) -> None:
        state["done"] += 1
        done = min(state["done"], total)
        bar = "█" * (20 * done // total) + "░" * (20 - 20 * done // total)
        sys.stderr.write(f"\r  [{bar}] {done}/{total} {label:<16}")
        if done == total:
            sys.stderr.write(f"  {time.monotonic() - state['start']:.1f} 秒\n")
        sys.stderr.flush()
    return step


def ensure_demo(db: Path, quiet: bool = False) -> None:
    """Build the demo warehouse on first run (offline, deterministic)."""
    from .warehouse.store import SnapshotStore

    if SnapshotStore(db).exists():
        return
    from .warehouse.demo import build_demo

    if not quiet:
        print(f"首次运行：正在生成武义县演示数据仓库 → {db}", file=sys.stderr)
    build_demo(db, progress=(lambda step: None) if quiet else _progress(4))


def cmd_demo_build(args) -> int:
    from .warehouse.demo import build_demo

    out = Path(args.out)
    print(f"生成演示数据仓库（种子 {args.seed}）→ {out}", file=sys.stderr)
    manifest = build_demo(out, seed=args.seed, progress=_progress(4))
    print(f"已发布快照 {manifest.label}：{out / 'snapshots' / manifest.file}")
    return 0


def cmd_info(args) -> int:
    from .warehouse.queries import Queries
    from .warehouse.store import open_current

    snap = open_current(args.db)
    try:
        q = Queries(snap)
        info = {
            "warehouse": str(Path(args.db).resolve()),
            "snapshot": snap.manifest.label,
            "snapshot_created_at": snap.manifest.created_at,
            "county": q.meta.get("county_name"),
            "as_of": q.meta.get("as_of"),
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
    print(f"地区        {info['county']}，数据截至 {info['as_of']}")
    print("行政区划    " + "，".join(
        f"{level_names.get(k, k)} {v} 个" for k, v in info["regions_by_level"].items()))
    print(f"指标        {info['indicators']} 项：" + "，".join(
        f"{DOMAINS.get(k, (k,))[0]} {v}" for k, v in info["indicators_by_domain"].items()))
    print(f"观测值      {info['observations']:,} 条，{info['first_period']} 至 {info['last_period']}")
    print(f"事件        {info['events']:,} 条")
    return 0


def cmd_gui(args) -> int:
    db = Path(args.db)
    if args.db == str(default_db_dir()):
        ensure_demo(db)
    from .ui.app import run_gui

    return run_gui(args)


def cmd_snapshot(args) -> int:
    db = Path(args.db)
    if args.db == str(default_db_dir()):
        ensure_demo(db, quiet=True)
    from .ui.app import render_snapshot

    return render_snapshot(args)


def cmd_bench(args) -> int:
    db = Path(args.db)
    if args.db == str(default_db_dir()):
        ensure_demo(db, quiet=True)
    from .ui.bench import main as bench_main

    return bench_main(args)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        size = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"尺寸应写成 宽x高，例如 1920x1080，而不是 “{text}”")
    if min(size) < 200 or max(size) > 16384:
        raise argparse.ArgumentTypeError(f"尺寸 {text} 超出范围（每边 200–16384 像素）")
    return size


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
    parser.set_defaults(func=cmd_gui)
    sub = parser.add_subparsers(dest="command", metavar="命令")

    demo = sub.add_parser("demo", help="演示数据仓库")
    demo_sub = demo.add_subparsers(dest="demo_command", metavar="子命令", required=True)
    build = demo_sub.add_parser("build", help="生成武义县演示数据仓库（确定性，离线）")
    build.add_argument("--out", default=db_default, help="输出的数据仓库目录")
    build.add_argument("--seed", type=int, default=None, help="随机种子（默认固定）")
    build.set_defaults(func=cmd_demo_build)

    info = sub.add_parser("info", help="查看数据仓库概况")
    info.add_argument("--db", default=db_default, help="数据仓库目录")
    info.add_argument("--json", action="store_true", help="以 JSON 输出")
    info.set_defaults(func=cmd_info)

    snap = sub.add_parser("snapshot", help="离屏渲染整个驾驶舱为 PNG")
    snap.add_argument("--db", default=db_default, help="数据仓库目录")
    snap.add_argument("--out", required=True, help="输出 PNG 文件")
    snap.add_argument("--size", type=_size, default=(1920, 1080), help="尺寸，如 1920x1080")
    snap.add_argument("--township", default=None, help="选中的乡镇（街道）名称")
    snap.add_argument("--indicator", default=None, help="当前指标代码")
    snap.add_argument("--period", default=None, help="月份，如 2025-06")
    snap.add_argument("--domain", default=None, help="领域，如 生态环境")
    snap.add_argument("--lang", choices=("zh_CN", "en"), default=None, help="界面语言")
    snap.set_defaults(func=cmd_snapshot)

    bench = sub.add_parser("bench", help="性能基准：启动、选择联动、内存（离屏）")
    bench.add_argument("--db", default=db_default, help="数据仓库目录")
    bench.add_argument("--selections", type=int, default=200, help="随机选择次数")
    bench.add_argument("--size", type=_size, default=(1920, 1080), help="窗口尺寸")
    bench.add_argument("--json", default=None, help="同时写出 JSON 结果到该文件")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "seed", "absent") is None:
        from .warehouse.demo import DEFAULT_SEED

        args.seed = DEFAULT_SEED
    from .warehouse.store import WarehouseError

    try:
        return args.func(args)
    except (WarehouseError, UsageError) as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
