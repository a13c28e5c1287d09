"""The wall's playlist: which pages a video wall shows in turn, for how long, read from TOML.

A playlist is data, never code. It is checked field by field like the alert rules, and every mistake
is one line naming the file, the line and the field, for example::

    wall.toml 第 12 行：第 3 页的字段 township “桃溪” 不是本数据仓库的乡镇（街道）；相近：桃溪镇

Pages (``[[page]]`` tables, shown in file order, then from the top again):

========== ==========================================================================================
kind        what the wall shows
========== ==========================================================================================
domain      the cockpit on one domain (``domain``: 总览 / 经济运行 / … ; optional ``indicator``,
            ``township``)
township    the cockpit on one township (``township``; optional ``domain``, ``indicator``)
townships   every township in turn (``order = "rank"``: best first by ``indicator``, or ``"list"``),
            ``dwell`` seconds each; optional ``count`` (the first N)
alerts      the alert centre, full screen
detail      a township's detail page (``township``; without it, whatever the wall shows now)
plan        the plan-target page (规划目标)
========== ==========================================================================================

Every page may have ``dwell`` (seconds) and ``title``. The optional ``[playlist]`` table sets
``name``, ``dwell`` (the default), ``resume_after`` (seconds without a touch before the rotation
resumes), ``alert_focus`` (seconds a new red alert holds the wall) and ``alert_cooldown`` (seconds
before another red alert may interrupt).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .catalogue import DOMAINS, Indicator
from .tomlfile import loads, read_text, show

PAGE_KINDS = ("domain", "township", "townships", "alerts", "detail", "plan")
KIND_LABELS = {"domain": "领域", "township": "乡镇", "townships": "乡镇轮播",
               "alerts": "预警中心", "detail": "乡镇详情", "plan": "规划目标"}
OVERVIEW = "overview"
_OVERVIEW_NAMES = ("总览", "overview", "Overview")

_COMMON = ("kind", "dwell", "title")
_KIND_FIELDS = {
    "domain": ("domain", "indicator", "township"),
    "township": ("township", "domain", "indicator"),
    "townships": ("order", "indicator", "domain", "count"),
    "alerts": (),
    "detail": ("township",),
    "plan": ("indicator",),
}
_SETTINGS = ("name", "dwell", "resume_after", "alert_focus", "alert_cooldown")
MIN_DWELL, MAX_DWELL = 2.0, 3600.0


class PlaylistError(ValueError):
    """A playlist cannot be used; the message is one line for the operator."""

    def __init__(self, message: str, *, file: str = "", line: int | None = None,
                 page: int | None = None, field: str | None = None):
        self.file, self.line, self.page, self.field = file, line, page, field
        where = file + (f" 第 {line} 行" if line is not None else "")
        super().__init__(f"{where}：{message}" if where else message)


@dataclass(frozen=True)
class Page:
    kind: str
    dwell: float                       # seconds (per township for kind "townships")
    title: str = ""
    domain: str | None = None          # a domain code or "overview"
    indicator: str | None = None       # an indicator code
    region: str | None = None          # a region code (the county or a township)
    order: str = "rank"                # townships: "rank" or "list"
    count: int | None = None           # townships: only the first N
    line: int | None = None            # where it is written, for messages


@dataclass(frozen=True)
class Playlist:
    pages: tuple[Page, ...]
    name: str = ""
    resume_after: float = 60.0
    alert_focus: float = 45.0
    alert_cooldown: float = 300.0
    source: str = ""


@dataclass(frozen=True)
class Catalogue:
    """What a playlist is checked against: the warehouse's regions and indicators."""
    county: str                              # the county's code
    regions: Mapping[str, str]               # every name, English name and code → region code
    township_codes: tuple[str, ...]
    indicators: Mapping[str, Indicator]      # code → indicator
    public: bool = False                     # public profile: internal indicators are unknown
    # A code, name or path (金华市/武义县/桃溪镇) → region code; LookupError says why not.
    find: Callable[[str], str] | None = None

    def indicator_code(self, text: str) -> str | None:
        visible = {c: i for c, i in self.indicators.items()
                   if not (self.public and i.sensitivity == "internal")}
        if text in visible:
            return text
        found = [c for c, i in visible.items() if text in (i.name, i.name_en)]
        return found[0] if found else None


def _near(text: str, names) -> str:
    """Up to three names that share characters with `text`, as a hint."""
    chars = set(text)
    scored = sorted(((len(chars & set(n)), n) for n in names if n), reverse=True)
    best = [n for score, n in scored if score >= max(1, len(chars) // 2)][:3]
    return f"；相近：{'、'.join(best)}" if best else ""


def _block_lines(text: str) -> tuple[list[str], list[int]]:
    lines = text.splitlines()
    starts = [k for k, line in enumerate(lines) if re.match(r"^\s*\[\[\s*page\s*\]\]", line)]
    return lines, starts


def _locate(lines: list[str], starts: list[int], index: int | None, fld: str | None
            ) -> int | None:
    """The line (1-based) of page `index` (1-based), or of one of its fields; None for the file."""
    if index is None:
        if fld:
            head = next((k for k, line in enumerate(lines)
                         if re.match(r"^\s*\[\s*playlist\s*\]", line)), None)
            if head is not None:
                for k in range(head, min([s for s in starts if s > head], default=len(lines))):
                    if re.match(r"^\s*" + re.escape(fld) + r"\s*=", lines[k]):
                        return k + 1
                return head + 1
        return None
    if not 1 <= index <= len(starts):
        return None
    block = starts[index - 1]
    end = starts[index] if index < len(starts) else len(lines)
    if fld:
        for k in range(block, end):
            if re.match(r"^\s*" + re.escape(fld) + r"\s*=", lines[k]):
                return k + 1
    return block + 1


class _Checker:
    def __init__(self, table: dict, index: int | None, file: str, lines, starts):
        self.table, self.index, self.file = table, index, file
        self._lines, self._starts = lines, starts

    def fail(self, fld: str | None, message: str):
        who = f"第 {self.index} 页" if self.index is not None else "[playlist]"
        what = f"{who}的字段 {fld} {message}" if fld else f"{who}{message}"
        raise PlaylistError(what, file=self.file,
                            line=_locate(self._lines, self._starts, self.index, fld),
                            page=self.index, field=fld)

    def has(self, key: str) -> bool:
        return key in self.table

    def text(self, key: str, choices: tuple[str, ...] | None = None) -> str:
        value = self.table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"应为非空文本，而不是 {show(value)}")
        if choices is not None and value not in choices:
            self.fail(key, f"应为 {' / '.join(choices)} 之一，而不是 {show(value)}")
        return value.strip()

    def seconds(self, key: str, low: float, high: float) -> float:
        value = self.table[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            self.fail(key, f"应为秒数（数字），而不是 {show(value)}")
        if not low <= value <= high:
            self.fail(key, f"应在 {low:g} 至 {high:g} 秒之间，而不是 {value:g}")
        return float(value)

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"应为整数，而不是 {show(value)}")
        if not low <= value <= high:
            self.fail(key, f"应在 {low} 至 {high} 之间，而不是 {value}")
        return value


def _domain(c: _Checker, key: str) -> str:
    text = c.text(key)
    if text in _OVERVIEW_NAMES:
        return OVERVIEW
    for code, (zh, en) in DOMAINS.items():
        if text in (code, zh, en):
            return code
    c.fail(key, f"{show(text)} 不是领域（可选：总览、{'、'.join(zh for zh, _ in DOMAINS.values())}）")


def _region(c: _Checker, key: str, cat: Catalogue, township_only: bool = False) -> str:
    text = c.text(key)
    code = cat.regions.get(text)
    if code is None and cat.find is not None:
        try:   # a path (武义县/桃溪镇), or a name several places share
            code = cat.find(text)
        except LookupError as exc:
            if getattr(exc, "ambiguous", False):
                c.fail(key, f"{show(text)}：{exc}")
        if code is not None:
            if township_only and code == cat.county:
                c.fail(key, f"{show(text)} 是整个数据仓库的地区，不是其中的乡镇或县")
            return code
    if code is None or (township_only and code not in cat.township_codes):
        names = [n for n, v in cat.regions.items() if v in cat.township_codes]
        c.fail(key, f"{show(text)} 不是本数据仓库的乡镇（街道）{_near(text, names)}")
    return code


def _indicator(c: _Checker, key: str, cat: Catalogue) -> str:
    text = c.text(key)
    code = cat.indicator_code(text)
    if code is None:
        names = [i.name for i in cat.indicators.values()
                 if not (cat.public and i.sensitivity == "internal")]
        hidden = (cat.public and any(text in (i.code, i.name) for i in cat.indicators.values()))
        reason = "是内部指标，公开版不能展示" if hidden else f"不是本数据仓库的指标{_near(text, names)}"
        c.fail(key, f"{show(text)} {reason}")
    return code


def _page(table: Any, index: int, default_dwell: float, cat: Catalogue, file: str, lines,
          starts) -> Page:
    c = _Checker(table if isinstance(table, dict) else {}, index, file, lines, starts)
    if not isinstance(table, dict):
        c.fail(None, f"应为一个表（[[page]]），而不是 {show(table)}")
    if "kind" not in table:
        c.fail("kind", f"缺失（可选：{' / '.join(PAGE_KINDS)}）")
    kind = c.text("kind", PAGE_KINDS)
    allowed = set(_COMMON) | set(_KIND_FIELDS[kind])
    for key in table:
        if key not in allowed:
            c.fail(key, f"不是 {kind} 页的字段（可用字段：{'、'.join(sorted(allowed))}）")
    values: dict[str, Any] = {"kind": kind, "line": _locate(lines, starts, index, None)}
    values["dwell"] = (c.seconds("dwell", MIN_DWELL, MAX_DWELL) if c.has("dwell")
                       else default_dwell)
    if c.has("title"):
        values["title"] = c.text("title")
    if c.has("domain"):
        values["domain"] = _domain(c, "domain")
    if c.has("indicator"):
        values["indicator"] = _indicator(c, "indicator", cat)
    if c.has("township"):
        values["region"] = _region(c, "township", cat, township_only=kind != "domain")
    if kind == "domain" and "domain" not in values:
        c.fail("domain", "缺失（domain 页要写明领域，如 “社会治理”）")
    if kind == "township" and "region" not in values:
        c.fail("township", "缺失（township 页要写明乡镇，如 “桃溪镇”）")
    if kind == "townships":
        if c.has("order"):
            values["order"] = c.text("order", ("rank", "list"))
        if c.has("count"):
            values["count"] = c.integer("count", 1, 100_000)
    return Page(**values)


def parse_playlist(text: str, catalogue: Catalogue, file: str = "playlist.toml") -> Playlist:
    """A playlist from TOML text, checked against a warehouse; raises PlaylistError (one line)."""
    data = loads(text, file, PlaylistError)
    lines, starts = _block_lines(text)
    for key in data:
        if key not in ("playlist", "page"):
            raise PlaylistError(f"未知的顶层字段 {key}（页面写在 [[page]] 表中，设置写在 [playlist] 中）",
                                file=file)
    settings = data.get("playlist", {})
    c = _Checker(settings if isinstance(settings, dict) else {}, None, file, lines, starts)
    if not isinstance(settings, dict):
        c.fail(None, " 应为一个表")
    for key in settings:
        if key not in _SETTINGS:
            c.fail(key, f"不是播放列表的设置（可用：{'、'.join(_SETTINGS)}）")
    default_dwell = c.seconds("dwell", MIN_DWELL, MAX_DWELL) if c.has("dwell") else 20.0
    options: dict[str, Any] = {}
    if c.has("name"):
        options["name"] = c.text("name")
    for key, low, high in (("resume_after", 5, 86_400), ("alert_focus", 5, 3600),
                           ("alert_cooldown", 0, 86_400)):
        if c.has(key):
            options[key] = c.seconds(key, low, high)
    tables = data.get("page")
    if not isinstance(tables, list) or not tables:
        raise PlaylistError("没有任何页面（至少写一个 [[page]] 表）", file=file)
    pages = tuple(_page(t, k, default_dwell, catalogue, file, lines, starts)
                  for k, t in enumerate(tables, start=1))
    return Playlist(pages=pages, source=file, **options)


def load_playlist(path: Path | str, catalogue: Catalogue) -> Playlist:
    path = Path(path)
    return parse_playlist(read_text(path, "播放列表", PlaylistError), catalogue, str(path))


def default_playlist_path() -> Path:
    from ..paths import data_dir

    return data_dir() / "wall_playlist.toml"


# --- the rotation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One thing the wall shows: a page, resolved to a concrete region/domain/indicator."""
    page_index: int                    # which page of the playlist (0-based)
    kind: str
    dwell: float
    region: str | None = None
    domain: str | None = None
    indicator: str | None = None
    position: tuple[int, int] | None = None   # (k, n) within a townships page
    alert_id: str | None = None               # set when a red alert put this step on the wall


@dataclass
class _Alert:
    id: str
    region: str
    indicator: str | None


class Carousel:
    """Turns pages on a clock: dwell, pause on touch, resume after idle, red-alert interrupts.

    Pure logic with an injected clock (seconds, monotonic): the wall calls `tick(now)` a few times
    a second and applies the step it returns; tests drive it with made-up times.
    `expand(page)` returns, for a townships page, the township codes in the order to show them
    (computed when the page starts, so a rank order follows the newest data).
    """

    def __init__(self, playlist: Playlist, expand, now: float):
        self.playlist = playlist
        self._expand = expand
        self._queue: list[Step] = []      # the rest of the current page's steps
        self._page = -1
        self.current: Step | None = None
        self.started_at = now
        self.paused = False
        self.last_touch: float | None = None
        self._resume_to: Step | None = None    # the rotation step an alert interrupted
        self.focus_until: float | None = None
        self.cooldown_until = float("-inf")
        self._pending: _Alert | None = None
        self.turns = 0
        self._advance(now)

    # -- what the wall shows -------------------------------------------------------------------
    @property
    def in_alert_focus(self) -> bool:
        return self.focus_until is not None

    def remaining(self, now: float) -> float:
        if self.paused:
            return self.playlist.resume_after - (now - (self.last_touch or now))
        end = self.focus_until if self.in_alert_focus else self.started_at + self.current.dwell
        return max(0.0, end - now)

    def progress(self, now: float) -> float:
        """0 … 1 through the current step's dwell (or the alert focus, or the pause)."""
        if self.paused:
            total = self.playlist.resume_after
            return min(1.0, max(0.0, (now - (self.last_touch or now)) / total))
        total = ((self.focus_until - self.started_at) if self.in_alert_focus
                 else self.current.dwell)
        return min(1.0, max(0.0, (now - self.started_at) / max(total, 1e-9)))

    def upcoming(self) -> Step:
        """The step the wall turns to next (after an alert focus: the interrupted one)."""
        if self.in_alert_focus and self._resume_to is not None:
            return self._resume_to
        if self._queue:
            return self._queue[0]
        return self._first_step((self._page + 1) % len(self.playlist.pages), peek=True)

    @property
    def page_index(self) -> int:
        """The page of the playlist shown (0-based)."""
        return self._page

    # -- inputs --------------------------------------------------------------------------------
    def tick(self, now: float) -> Step | None:
        """Advance the clock; returns the new step when the wall must turn, else None."""
        if self.paused:
            if now - (self.last_touch or now) < self.playlist.resume_after:
                return None
            self.paused = False
            if self._pending is not None and now >= self.cooldown_until:
                return self._focus(self._pending, now)
            back, self._resume_to = self._resume_to, None
            return self._show(back, now) if back is not None else self._advance(now)
        if self.in_alert_focus:
            if now < self.focus_until:
                return None
            self.focus_until = None
            if self._pending is not None and now >= self.cooldown_until:
                return self._focus(self._pending, now)
            back, self._resume_to = self._resume_to, None
            return self._show(back, now) if back is not None else self._advance(now)
        if self._pending is not None and now >= self.cooldown_until:
            return self._focus(self._pending, now)
        if now - self.started_at >= self.current.dwell:
            return self._advance(now)
        return None

    def touch(self, now: float) -> None:
        """An operator moved the mouse or pressed a key: hold the current page."""
        self.paused = True
        self.last_touch = now
        # The operator has taken over from an alert focus: afterwards the rotation goes on
        # where the alert interrupted it.
        self.focus_until = None

    def alert(self, alert_id: str, region: str, indicator: str | None, now: float) -> bool:
        """A new or reopened red alert. Returns True when it takes the wall now; otherwise it
        waits (for the cooldown to pass or the operator's pause to end) and only the newest
        waiting alert is kept, so a storm of alerts turns the wall once, not once per alert."""
        self._pending = _Alert(alert_id, region, indicator)
        if self.paused or now < self.cooldown_until:
            return False
        self._focus(self._pending, now)
        return True

    def forget_alert(self, alert_id: str) -> None:
        """An alert that is no longer open (acknowledged elsewhere, cleared) need not be shown."""
        if self._pending is not None and self._pending.id == alert_id:
            self._pending = None

    # -- internals -----------------------------------------------------------------------------
    def _focus(self, alert: _Alert, now: float) -> Step:
        self._pending = None
        if not self.in_alert_focus:
            self._resume_to = self.current
        self.focus_until = now + self.playlist.alert_focus
        self.cooldown_until = now + self.playlist.alert_focus + self.playlist.alert_cooldown
        step = Step(page_index=self.current.page_index if self.current else 0, kind="township",
                    dwell=self.playlist.alert_focus, region=alert.region,
                    indicator=alert.indicator, alert_id=alert.id)
        return self._show(step, now)

    def _show(self, step: Step, now: float) -> Step:
        self.current = step
        self.started_at = now
        self.turns += 1
        return step

    def _advance(self, now: float) -> Step:
        if not self._queue:
            self._page = (self._page + 1) % len(self.playlist.pages)
            self._queue = self._steps(self._page)
        return self._show(self._queue.pop(0), now)

    def jump(self, index: int, now: float) -> Step:
        """Turn to page `index` now (a preview shows each page this way)."""
        self.focus_until, self._resume_to, self.paused = None, None, False
        self._page = index % len(self.playlist.pages)
        self._queue = self._steps(self._page)
        return self._show(self._queue.pop(0), now)

    def _first_step(self, index: int, peek: bool = False) -> Step:
        page = self.playlist.pages[index]
        if page.kind == "townships" and peek:
            # Peeking must not run the (possibly costly) rank order: the label is the page's.
            return Step(index, page.kind, page.dwell, domain=page.domain,
                        indicator=page.indicator)
        return self._steps(index)[0]

    def _steps(self, index: int) -> list[Step]:
        page = self.playlist.pages[index]
        if page.kind != "townships":
            return [Step(index, page.kind, page.dwell, region=page.region, domain=page.domain,
                         indicator=page.indicator)]
        codes = list(self._expand(page))
        if page.count:
            codes = codes[:page.count]
        if not codes:   # nothing to rank (no data): show the county instead of nothing
            return [Step(index, "domain", page.dwell, domain=page.domain,
                         indicator=page.indicator)]
        n = len(codes)
        return [Step(index, page.kind, page.dwell, region=code, domain=page.domain,
                     indicator=page.indicator, position=(k + 1, n))
                for k, code in enumerate(codes)]
