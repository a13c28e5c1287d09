"""What every panel is constructed with: the selection (as Qt signals), the queries, the language.

Panels listen to `changed` and `reloaded` and change the selection through `select()`; they never
hold references to each other. Requests that concern the window (open a township's detail page)
go through signals here too.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date
from typing import Callable

import duckdb
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal

from ..core.catalogue import DOMAINS, Indicator
from ..core.selection import FIELDS, Selection, SelectionState
from ..warehouse.queries import Queries
from ..warehouse.store import WarehouseError

OVERVIEW = "overview"

# What a warehouse that cannot be read raises (a dropped share, a truncated snapshot, a snapshot
# closed under a query); anything else is a bug and must still surface.
WAREHOUSE_FAILURES = (duckdb.IOException, duckdb.ConnectionException, WarehouseError, OSError)


def _default_operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (some service accounts): ask in the dialog instead
        return ""


class _WindowPaintsHeld(QObject):
    """While active, a window's repaint request is held back and posted again at the end.

    A graphics scene that redraws changed items dispatches its window's pending repaint at
    once (QGraphicsScene does so by design): each of the cockpit's two scenes (the map, the
    trend) would paint the window in a pass of its own, the first before the other panels'
    views had said what they changed. Held, everything is painted in one pass."""

    def __enter__(self):
        self.held: list = []
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        return self

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.UpdateRequest and obj.isWidgetType() and obj.isWindow():
            if obj not in self.held:
                self.held.append(obj)
            return True
        return False

    def __exit__(self, *exc) -> None:
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        for window in self.held:   # the repaint still comes, in the event loop's time
            QCoreApplication.postEvent(window, QEvent(QEvent.Type.UpdateRequest),
                                       Qt.EventPriority.LowEventPriority.value)


class CockpitContext(QObject):
    # (changed field names, new SelectionState)
    changed = Signal(object, object)
    # the warehouse switched to a new snapshot: panels re-pull everything
    reloaded = Signal()
    detail_requested = Signal(str)  # region code
    # alerts were re-evaluated or changed (here or in another window)
    alerts_changed = Signal()
    # a panel's query failed because the warehouse cannot be read (one line)
    warehouse_failed = Signal(str)
    # background problems for the window's banner: (key, text) and key
    problem_reported = Signal(str, str)
    problem_cleared = Signal(str)
    # every panel has handled a change and the layouts it caused are done: what a panel
    # would otherwise update in a later event (a graphics scene's queued redraw) is due now
    settled = Signal()

    def __init__(self, queries: Queries, selection: Selection, lang: str = "zh_CN",
                 public_mode: bool = False, alerts=None, operator: str | None = None,
                 parent: QObject | None = None, today=date.today):
        super().__init__(parent)
        # What day it is, for "is this figure late?" (tests pass a fixed day).
        self.today = today
        self.queries = queries
        self.alerts = alerts  # cockpit.alerts.store.AlertService, or None
        self.operator = operator or _default_operator()
        self.selection = selection
        self.lang = lang
        self.public_mode = public_mode
        self._holding = False
        self._fetcher = None                  # fetches a change's answers first (prewarm.py)
        # What else the query worker prepares for a state (the map: the new level's outlines);
        # each is called off the GUI thread and must touch no widget.
        self.preparers: list[Callable[[SelectionState], None]] = []
        # What the query worker prepares when idle, whatever is selected next: each returns
        # the small jobs still to do (one at a time, so a click never waits for the rest).
        self.idle_jobs: list[Callable[[], list[Callable[[], None]]]] = []
        self._due: frozenset = frozenset()    # fields changed while their answers are fetched
        self._shown = selection.state         # what every panel last showed in full
        self._showing: SelectionState | None = None
        self._disconnect = selection.connect(self._relay)

    def fetch_first(self, fetcher) -> None:
        """From now on (None: no more) a change reaches the panels once `fetcher` has fetched
        its answers off the GUI thread (`fetcher.request(state)`, then `answered(state)`)."""
        self._fetcher = fetcher
        if fetcher is None and self._due:
            self.answered(self.state)

    @property
    def waiting(self) -> bool:
        """A change is waiting for its answers; the panels still show the one before."""
        return bool(self._due)

    def answered(self, state: SelectionState) -> bool:
        """The answers for `state` are in: the panels show it, unless the selection has moved
        on since (then its own answers are on the way). True when it was shown."""
        if not self._due or state != self.selection.state or self._holding:
            return False
        changed, self._due = self._due, frozenset()
        self._show(changed, state)
        return True

    def _relay(self, changed: frozenset, state: SelectionState) -> None:
        if self._holding:
            return   # panels keep their last good picture; the next reload catches up
        if self._fetcher is not None:
            self._due |= changed
            self._fetcher.request(state)
            return
        self._show(changed, state)

    def _show(self, changed: frozenset, state: SelectionState) -> None:
        with self.guarded() as failures:
            self.changed.emit(changed, state)
            if failures and self._shown != state:
                self._show_again(changed)
            else:
                self._shown = state
            self._settle_layouts()

    def _show_again(self, changed: frozenset) -> None:
        """A panel could not read its answer: put every panel back on the state they all
        showed, before anything paints. Those that answer from memory would otherwise show
        the new township beside panels holding the old one. `state` reads as that shown state
        meanwhile, because panels ask the context, not the emitted state, for what is selected."""
        shown, now = self._shown, self.selection.state
        back = changed | {f for f in FIELDS if getattr(shown, f) != getattr(now, f)}
        self._showing = shown
        try:
            self.changed.emit(frozenset(back), shown)
        finally:
            self._showing = None

    def _settle_layouts(self) -> None:
        """Run the layouts a change caused now, before the window paints.

        The repaint a change asks for is an event posted on its first update(); the new sizes of
        labels whose text changed (and of their parents, level by level) come as layout events
        posted after it, so the window painted once with the old geometry and again, and more,
        as each layout moved things (3-4 backing-store passes per selection, the ancestors
        repainting each time). A few rounds cover the deepest panel."""
        with _WindowPaintsHeld():
            for _ in range(2):
                for _ in range(4):
                    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
                self.settled.emit()

    @property
    def state(self) -> SelectionState:
        return self._showing or self.selection.state

    def select(self, record: bool = True, **changes) -> frozenset:
        """The one way panels and the wall change the selection (`record=False`: not in the
        back/forward history, e.g. playback and the wall's rotation)."""
        return self.selection.update(record=record, **changes)

    def set_queries(self, queries: Queries,
                    valid: Callable[[SelectionState], SelectionState] | None = None) -> None:
        """Go over to another snapshot in one state change: the selection is first made valid
        for it (`valid`, silently), then panels re-pull everything once through `reloaded`;
        `changed` is not emitted, so nothing paints the new data with an old month."""
        self.queries = queries
        self._holding = True
        self._due = frozenset()   # the reload below re-pulls everything
        try:
            if valid is not None:
                self.selection.fix(valid)
        finally:
            self._holding = False
        with self.guarded():
            self.reloaded.emit()
        self._shown = self.selection.state

    def hold(self) -> None:
        """Stop passing selection changes to the panels (the warehouse cannot be read): they
        keep what they show until the next `set_queries`."""
        self._holding = True
        self._due = frozenset()

    @contextmanager
    def guarded(self):
        """Run panel code so that a warehouse failure inside it (in a slot, where Qt would
        print a traceback and carry on) becomes one `warehouse_failed` instead. Yields the
        failures seen so far (a list that grows)."""
        failures = []
        previous = sys.excepthook

        def hook(kind, exc, tb):
            if isinstance(exc, WAREHOUSE_FAILURES):
                failures.append(exc)
            else:
                previous(kind, exc, tb)

        sys.excepthook = hook
        try:
            yield failures
        except WAREHOUSE_FAILURES as exc:
            failures.append(exc)
        finally:
            sys.excepthook = previous
        if failures:
            self.warehouse_failed.emit(" ".join(str(failures[0]).split())[:300])

    def report_problem(self, key: str, text: str) -> None:
        self.problem_reported.emit(key, text)

    def clear_problem(self, key: str) -> None:
        self.problem_cleared.emit(key)

    def close(self) -> None:
        self._disconnect()

    # -- conveniences every panel needs -------------------------------------------------------
    @property
    def county_code(self) -> str:
        """The root region: the county of a county warehouse, the city (province…) above it."""
        return self.queries.county.code

    def township_or_none(self, code: str) -> str | None:
        """A region as a list filter: None (everywhere) for the root; a county stands for every
        township in it."""
        return None if code == self.county_code else code

    # -- levels: the selected region decides which level is shown ----------------------------
    @property
    def hierarchy(self):
        return self.queries.hierarchy

    @property
    def view_code(self) -> str:
        """The region whose children the map and the ranking show: the selected region if it
        has children (the city: its counties; a county: its townships), else its parent."""
        return self.queries.hierarchy.view_of(self.state.region)

    def whole_word(self, code: str | None = None) -> str:
        """全县 / 全市 / 全省 for the shown level (or for `code`)."""
        return self.queries.hierarchy.whole_word(code or self.view_code, self.lang)

    def children_noun(self, code: str | None = None, full: bool = False) -> str:
        """乡镇 / 县（市、区）… for the regions shown (the children of the view, or of `code`)."""
        return self.queries.hierarchy.children_noun(code or self.view_code, self.lang, full)

    def provenance_note(self, region: str, indicator: str, period) -> str:
        """由乡镇汇总（18/18） when that figure was derived from the level below, else ""."""
        from ..core.levels import derived_note

        found = self.queries.derived(region, indicator, period)
        if found is None:
            return ""
        return derived_note(*found, self.queries.hierarchy.children_level(region), self.lang)

    def indicator(self, code: str | None = None) -> Indicator:
        return self.queries.indicator_by_code[code or self.state.indicator]

    def visible_indicators(self) -> list[Indicator]:
        """Catalogue order; internal indicators hidden in public (demo) mode."""
        return [i for i in self.queries.indicators
                if not (self.public_mode and i.sensitivity == "internal")]

    def domain_indicators(self, domain: str) -> list[Indicator]:
        """The headline indicators shown for a domain tab (总览: the first of each domain)."""
        visible = self.visible_indicators()
        if domain == OVERVIEW:
            out = []
            for d in DOMAINS:
                out += [i for i in visible if i.domain == d and i.headline][:1]
            return out
        headline = [i for i in visible if i.domain == domain and i.headline]
        return headline or [i for i in visible if i.domain == domain][:6]

    def region_name(self, code: str | None = None) -> str:
        region = self.queries.region_by_code.get(code or self.state.region)
        if region is None:
            return code or ""
        return (region.name_en or region.name) if self.lang == "en" else region.name

    def tr_name(self, indicator: Indicator) -> str:
        return (indicator.name_en or indicator.name) if self.lang == "en" else indicator.name

    def domain_name(self, domain: str) -> str:
        if domain == OVERVIEW:
            return "Overview" if self.lang == "en" else "总览"
        zh, en = DOMAINS.get(domain, (domain, domain))
        return en if self.lang == "en" else zh

    def month(self) -> date:
        return self.state.period
