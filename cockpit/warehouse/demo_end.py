"""Where the demo's months end, and whether a demo built with the default end has been overtaken by
the calendar: apart from the builder, so a launch checks it without importing numpy, pyarrow or
shapely (~0.4 s)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .store import SnapshotStore, open_current

PLAN_END = date(2025, 12, 1)  # the 十四五 plan's target year ends here; every demo reaches it
DEFAULT_SEED = 20251231


def last_finished_month(today: date | None = None) -> date:
    """The last month that has ended before `today` (2026-12-01 and 2026-12-31 both give 2026-11)."""
    today = today or date.today()
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def default_end(today: date | None = None) -> date:
    """The end a demo built on `today` takes: the last finished month, never before the plan's
    2025-12 (a machine whose clock is wrong still gets the plan years)."""
    return max(last_finished_month(today), PLAN_END)


def add_months(month: date, n: int) -> date:
    k = month.year * 12 + month.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def month_key(month: date) -> str:
    return month.strftime("%Y-%m")


@dataclass(frozen=True)
class DemoRefresh:
    """An automatically built demo that months have overtaken, and the end a new build takes."""
    seed: int
    end: date
    new_end: date


def stale_demo(root: Path | str, today: date | None = None) -> DemoRefresh | None:
    """The demo at `root` if a fresh build would reach further: it was built with the default end
    (not a chosen --end), holds no imported data, and ends before the last finished month.

    Only the current manifest is read unless it looks stale, so a launch pays for no DuckDB open;
    the snapshot's own meta then decides."""
    manifest = SnapshotStore(root).current()
    words = manifest.note.split() if manifest else []
    if not words or words[0] != "demo" or "fixed" in words:
        return None  # imports and scale builds publish other notes; a chosen end stays
    new_end = default_end(today)
    noted = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    if noted.get("end", "") >= month_key(new_end):
        return None
    snap = open_current(root)
    try:
        meta = snap.meta()
    finally:
        snap.close()
    if (meta.get("source") != "demo" or "last_import_at" in meta
            or meta.get("demo_end_rule") == "fixed"):
        return None
    # Demos built before the end could move carry only as_of (always 2025-12).
    year, month = (meta.get("demo_end") or meta.get("as_of") or month_key(PLAN_END)).split("-")[:2]
    end = date(int(year), int(month), 1)
    if end >= new_end:
        return None
    return DemoRefresh(int(meta.get("seed", DEFAULT_SEED)), end, new_end)
