"""Read ahead while the cockpit is idle, so a township's first selection is as quick as a repeat.

A first visit to a township pays for its queries (KPI values, sparklines, its series, events,
alerts: ~11 ms on the county demo) on top of the repaint. When the cockpit has been left alone
for a moment, this walks the townships one per timer tick and asks every panel to fetch what a
selection of that township would show; the answers land in the per-snapshot query memo (and the
alert list's cache), and the map works out where its names go, so the selection itself only
repaints. Any change to the selection pauses the walk; a change of indicator, period or domain
starts it again, since the answers differ. The walk also reads every event once (a period step
then slices them) and every other indicator's figures (an indicator change then reads nothing).

Only the regions of the level shown (a county's townships, a city's counties), and only when they
all fit in the memo. From ASYNC_MIN townships on (a province, the country) a change's queries
(22-75 ms per selection at province scale) leave the GUI thread altogether: see QueryFetcher.
"""
from __future__ import annotations

import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from .context import CockpitContext

WARM_LIMIT = 64          # townships; above this the answers would not all fit in the memo
QUIET_MS = 400           # how long the selection must rest before the walk goes on


class Prewarmer(QObject):
    def __init__(self, ctx: CockpitContext, warmers: list[Callable[[str], None]],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._warmers = warmers
        self._lookers: list[Callable[[str], None]] | None = None
        self._panels: dict[str, list] = {}   # method -> the window's panels that have it
        self._pending: list[Callable[[], None]] = []   # the walk's next steps, last first
        self._view: str | None = None
        self._at_view = True      # the level itself is selected, not one of its regions
        self.last_error: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)
        ctx.changed.connect(self._on_change)
        ctx.reloaded.connect(self._restart)
        self.fetcher: QueryFetcher | None = None
        # Without a query worker (a county), the walk's first step reads every event once
        # (Queries.read_every_event): a period step's lists and counts are then slices of them.
        # the Queries they were read for, weakly: a wall turning pages without a pause never
        # walks, and a snapshot long replaced (its memo up to 192 MB) must not stay for it
        self._events_read: weakref.ref | None = None
        if len(ctx.queries.townships) >= ASYNC_MIN:
            self.fetcher = QueryFetcher(ctx, warmers, self)
            self.fetcher.neighbours_read.connect(self.draw_ahead)
            ctx.fetch_first(self.fetcher)
            if parent is not None:   # (read once the window is up, not during its first paint)
                from .app import after_first_paint

                after_first_paint(parent, self.fetcher.read_once)
        self._restart()

    @property
    def done(self) -> bool:
        return not self._pending and (self.fetcher is None or self.fetcher.idle) \
            and not any(getattr(panel, "drawing_ahead", False)
                        for panel in self._looks_panels())

    def _on_change(self, changed: frozenset, state) -> None:
        if (changed & {"indicator", "period", "domain"} or self.ctx.view_code != self._view
                or (state.region == self._view) != self._at_view):
            # other answers, another level's regions, or from the level itself to one of its
            # regions and back (what the panels draw ahead differs: a township's columns and axes)
            self._restart()
        elif self.fetcher is not None:
            self._pending = []   # the last selection's neighbours: the new one's come later
        elif self._pending:
            self._timer.start(QUIET_MS)   # the user is busy: wait for a pause

    def draw_ahead(self, state, regions: list[str]) -> None:
        """At scale, the regions whose answers the query worker has read ahead (the ranking's
        neighbours) are walked like a county's townships, on the GUI thread: their cards
        painted and where the map's names and outline go, so stepping to one only shows it."""
        if state == self.ctx.state and not self.ctx.waiting:
            self._pending = [partial(self._warm, code) for code in reversed(regions)]
            if self._pending:
                self._timer.start(0)

    def _restart(self) -> None:
        self._view = self.ctx.view_code
        self._at_view = self.ctx.state.region == self._view
        self._pending = []
        if self.fetcher is None:   # (at scale the query worker reads ahead: QueryFetcher)
            self._pending = list(reversed(self._walk()))
        if self._pending:
            self._timer.start(QUIET_MS)
        else:
            self._timer.stop()

    def stop(self) -> None:
        self._pending = []
        self._timer.stop()
        if self.fetcher is not None:
            self.ctx.fetch_first(None)
            self.fetcher.stop()
            self.fetcher = None

    def _looks(self) -> list[Callable[[str], None]]:
        """What the window's panels prepare on the GUI thread (they draw it: where the map's
        names go), read ahead by this walk only, never by the query worker. Found at the first
        tick: the panels are in the window by then."""
        if self._lookers is None:
            self._lookers = [panel.warm_look for panel in self._looks_panels()]
        return self._lookers

    def _looks_panels(self) -> list:
        """The window's panels that prepare on the GUI thread what they draw."""
        return self._panels_with("warm_look")

    def _panels_with(self, method: str) -> list:
        """The window's panels that have `method` (found once the window has them)."""
        found = self._panels.get(method)
        if found is None:
            from .panel import Panel

            window = self.parent()
            found = [panel for panel in (window.findChildren(Panel) if window is not None
                                         else []) if hasattr(panel, method)]
            if not found:
                return []
            self._panels[method] = found
        return found

    def _walk(self) -> list[Callable[[], None]]:
        """The walk's steps, one per tick: every event, once per snapshot (a county's ~4,000:
        30-60 ms); the selected place's cards in the months either side of the one shown; the
        regions of the level shown (a county's townships, a city's counties);
        then every other indicator's figures of every place where one read answers them all
        (Queries.read_indicator): an indicator change then reads nothing (~6 ms each)."""
        queries, ctx = self.ctx.queries, self.ctx
        regions = ctx.hierarchy.children(self._view)
        if len(regions) > WARM_LIMIT:
            return []
        steps: list[Callable[[], None]] = []
        if self._events_read is None or self._events_read() is not queries:
            steps.append(partial(self._read_events, queries))
        # the months either side first: playback steps every 0.9 s, the townships take longer
        steps += [partial(self._warm_month, month) for month in self._near_months()]
        steps += [partial(self._warm, code) for code in regions]
        steps += [partial(queries.read_indicator, ind.code) for ind in ctx.visible_indicators()
                  if ind.code != ctx.state.indicator]
        return steps

    def _near_months(self) -> list:
        """The months a step from the one shown goes to: the next (playback, ▶), the one
        before."""
        months, now = self.ctx.queries.months, self.ctx.state.period
        if now not in months:
            return []
        k = months.index(now)
        return [months[i] for i in (k + 1, k - 1) if 0 <= i < len(months)]

    def _warm_month(self, month) -> None:
        for panel in self._panels_with("warm_month"):
            panel.warm_month(month)

    def _read_events(self, queries) -> None:
        queries.read_every_event()
        self._events_read = weakref.ref(queries)

    def _warm(self, region: str) -> None:
        for warm in self._warmers + self._looks():
            warm(region)

    def _tick(self) -> None:
        if self.ctx.waiting:
            # A new selection's answers are being fetched: the steps drew ahead around the one
            # shown before (the answer's change restarts the walk). Run on, each step (~15 ms
            # at a province's size) delayed the answer: a fifth of a selection's wait.
            self._pending = []
        if not self._pending:
            return
        step = self._pending.pop()
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - reading ahead is optional, never fatal
            # e.g. the warehouse closed under a closing window: the selection reads for itself.
            self.last_error = repr(exc)
            if self.fetcher is None:
                self.stop()
            self._pending = []
            return
        if self._pending:
            self._timer.start(0)


# -- at scale: every change's answers fetched off the GUI thread --------------------------------
ASYNC_MIN = 500          # townships from which the panels wait for answers fetched off the GUI
NEIGHBOURS = 2           # read ahead this many regions either side in the ranking
NEXT_PERIODS = 2         # and this many months after the selected one (playback)
AHEAD_AFTER_MS = 150     # reading ahead starts once a change has been shown and painted


def fetch_state(ctx: CockpitContext, state, warmers=(), side=None) -> None:
    """Ask every query a change to `state` makes (map, ranking, trend, cards, events), so the
    panels only find answers. `warmers` (the panels' own) are run when `state` is the shown
    selection; they read it from the context.

    `side` (an executor of one thread of its own, QueryFetcher's): the preparers (the map's
    new level: its outlines read, its names drawn) run there meanwhile. DuckDB lets go of the
    GIL while it reads, so the level's outlines and the figures are read at once (2 cores):
    the country's first visit to a county waited ~36 ms p50 for both in turn."""
    q = ctx.queries
    view = q.hierarchy.view_of(state.region)
    ind = q.indicator_by_code.get(state.indicator)
    if ind is None:
        return
    prepared = None
    if side is not None and ctx.preparers:
        prepared = side.submit(_prepare, list(ctx.preparers), state)
    try:
        _fetch_answers(ctx, state, q, view, ind, warmers, prepared is None)
    finally:
        if prepared is not None:
            prepared.result()   # done, or its error raised here, before the answer is shown


def _prepare(preparers, state) -> None:
    for prepare in preparers:
        prepare(state)


def _fetch_answers(ctx, state, q, view, ind, warmers, prepare: bool) -> None:
    values = q.child_values(view, ind.code, state.period)
    q.child_band(view, ind.code)
    q.series(view, ind.code)
    if ind.county_only:   # the ranking's note instead of bars
        q.series(view, ind.code, end=state.period)
    if values.period is not None:
        q.series(view, ind.code, values.period, values.period)
    if state.region != view:
        q.series(state.region, ind.code)
    from .kpi_panel import KpiPanel

    codes = [i.code for i in ctx.domain_indicators(state.domain)]
    if codes:
        q.kpis(state.region, codes, state.period)
        q.series_many(state.region, codes, state.period, KpiPanel.SPARK_PERIODS)
    q.provenance(state.region)
    if prepare:
        _prepare(ctx.preparers, state)
    for warm in warmers:
        warm(state.region)


def neighbours(ctx: CockpitContext, state, count: int = NEIGHBOURS) -> list[str]:
    """The regions next to the selected one in the ranking, nearest first (where a leader or a
    wall goes next)."""
    from ..core.ranking import best_first

    q = ctx.queries
    view = q.hierarchy.view_of(state.region)
    ind = q.indicator_by_code.get(state.indicator)
    if ind is None or state.region == view:
        return []
    values = q.child_values(view, ind.code, state.period)
    order = best_first(list(values.regions), values.values, ind.polarity)
    if state.region not in order:
        return []
    k = order.index(state.region)
    out = []
    for step in range(1, count + 1):
        out += [order[i] for i in (k + step, k - step) if 0 <= i < len(order)]
    return out


class QueryFetcher(QObject):
    """At province and nation scale, a change reaches the panels only once its answers are in.

    A worker thread (with its own DuckDB cursor: Snapshot.cursor is per thread) asks the
    queries of the newest requested selection; older requests still waiting are dropped, so a
    user flicking through townships waits only for the last one. Meanwhile the window keeps
    showing the last complete answer: no frozen frame, no half-updated view. When idle, the
    worker reads ahead the ranking's neighbours and the next months of playback."""

    _answered = Signal(object, object)   # the state fetched, the worker's error (or None)
    # (the worker) the answers of these neighbours of the shown state are in: the GUI thread
    # may draw them ahead (Prewarmer.draw_ahead)
    neighbours_read = Signal(object, object)   # the state shown, region codes

    def __init__(self, ctx: CockpitContext, warmers: list[Callable[[str], None]],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._warmers = warmers
        self._wake = threading.Condition()
        self._request = None
        self._ahead: list = []
        self._stopped = False
        self._busy = False
        self.last_error: str | None = None
        self._answered.connect(self._on_answered, Qt.ConnectionType.QueuedConnection)
        # Reading ahead waits until the answer is painted and the user pauses: run alongside
        # the painting, the worker's Python would take the GIL from it.
        self._ahead_timer = QTimer(self)
        self._ahead_timer.setSingleShot(True)
        self._ahead_timer.timeout.connect(self._read_ahead)
        self._shown = None
        # A second reader, for what fetch_state reads alongside (its own DuckDB cursor too)
        self._side = ThreadPoolExecutor(1, thread_name_prefix="cockpit-queries-side")
        self._thread = threading.Thread(target=self._run, name="cockpit-queries", daemon=True)
        self._thread.start()

    def request(self, state) -> None:
        self._ahead_timer.stop()
        with self._wake:
            self._request = state
            self._ahead = []
            self._wake.notify()

    def read_once(self) -> None:
        """Read what every later change needs (the event index of a large warehouse: ~0.7 s
        once, else paid by the first selection; every indicator's periods; a province's every
        place, see _every_place), unless a change is on its way."""
        with self._wake:
            if self._request is None and not self._ahead:
                queries = self.ctx.queries
                self._ahead = [queries.prepare, queries.read_every_period,
                               *self._every_place(self.ctx.state), *self._idle_jobs()]
                self._wake.notify()

    def _every_place(self, state) -> list[Callable[[], None]]:
        """Every place's figures of `state`'s indicator and cards, its events and outlines
        (where the warehouse allows, Queries.every_place_at_once: a province's ~0.4 s, in
        steps, so a click waits for one step at most): any township's selection then asks
        the warehouse nothing. Read at start-up too: until then a province's first selections
        each read their township's events (an empty month falls back to another window: 40-90
        ms of a selection in twenty)."""
        cards = [i.code for i in self.ctx.domain_indicators(state.domain)]
        return self.ctx.queries.every_place_steps(state.indicator, cards)

    def _idle_jobs(self) -> list[Callable[[], None]]:
        return [job for jobs in self.ctx.idle_jobs for job in jobs()]

    def stop(self) -> None:
        self._ahead_timer.stop()
        with self._wake:
            self._stopped = True
            self._request = None
            self._ahead = []
            self._wake.notify()
        self._thread.join(timeout=5)
        self._side.shutdown(wait=False)

    @property
    def idle(self) -> bool:
        with self._wake:
            return (self._request is None and not self._ahead and not self._busy
                    and not self._ahead_timer.isActive())

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and self._request is None and not self._ahead:
                    self._wake.wait()
                if self._stopped:
                    return
                state, self._request = self._request, None
                ahead = None
                if state is None:
                    ahead = self._ahead.pop(0)
                self._busy = True
            if state is not None:
                error = None
                try:
                    fetch_state(self.ctx, state, self._warmers, self._side)
                except Exception as exc:  # noqa: BLE001 - the panels ask again, and report it
                    error = exc
                with self._wake:
                    self._busy = False
                self._answered.emit(state, error)
                continue
            try:
                ahead()
            except Exception as exc:  # noqa: BLE001 - reading ahead is optional
                self.last_error = repr(exc)
            with self._wake:
                self._busy = False

    def _on_answered(self, state, error) -> None:
        if error is not None:
            self.last_error = repr(error)
        if not self.ctx.answered(state):
            return   # a newer selection is on its way
        self._shown = state
        self._ahead_timer.start(AHEAD_AFTER_MS)

    def _read_ahead(self) -> None:
        """What comes next: every place's figures for this indicator, month and domain (where
        the warehouse allows, Queries.every_place_at_once: then any township's selection asks
        the warehouse nothing), the ranking's neighbours, the next months (playback), then the
        rest of the level's regions when they are few."""
        state, ctx = self._shown, self.ctx
        if state is None or state != ctx.state:
            return
        ahead = self._every_place(state)
        # The panels' warmers read the shown selection: right for another region (same
        # indicator and month), not for another month.
        regions = neighbours(ctx, state)
        level = ctx.hierarchy.children(ctx.hierarchy.view_of(state.region))
        if len(level) <= WARM_LIMIT:
            regions += [code for code in level if code not in regions and code != state.region]
        ahead += [lambda code=code: fetch_state(ctx, replace(state, region=code), self._warmers,
                                                self._side)
                  for code in regions[:2 * NEIGHBOURS]]
        ahead.append(lambda: self.neighbours_read.emit(state, regions[:2 * NEIGHBOURS]))
        months = ctx.queries.months
        if state.period in months:
            k = months.index(state.period)
            ahead += [lambda m=m: fetch_state(ctx, replace(state, period=m))
                      for m in months[k + 1:k + 1 + NEXT_PERIODS]]
        ahead += [lambda code=code: fetch_state(ctx, replace(state, region=code), self._warmers,
                                                self._side)
                  for code in regions[2 * NEIGHBOURS:]]
        ahead += self._idle_jobs()   # what a click broke off, where anything was left
        with self._wake:
            if self._request is None:
                self._ahead = ahead
                self._wake.notify()
