"""Read ahead while the cockpit is idle, so a township's first selection is as quick as a repeat.

A first visit to a township pays for its queries (KPI values, sparklines, its series, events,
alerts: ~11 ms on the county demo) on top of the repaint. When the cockpit has been left alone
for a moment, this walks the townships one per timer tick and asks every panel to fetch what a
selection of that township would show; the answers land in the per-snapshot query memo (and the
alert list's cache), so the selection itself only repaints. Any change to the selection pauses
the walk; a change of indicator, period or domain starts it again, since the answers differ.

Only the regions of the level shown (a county's townships, a city's counties), and only when they
all fit in the memo.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer

from .context import CockpitContext

WARM_LIMIT = 64          # townships; above this the answers would not all fit in the memo
QUIET_MS = 400           # how long the selection must rest before the walk goes on


class Prewarmer(QObject):
    def __init__(self, ctx: CockpitContext, warmers: list[Callable[[str], None]],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._warmers = warmers
        self._pending: list[str] = []
        self._view: str | None = None
        self.last_error: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)
        ctx.changed.connect(self._on_change)
        ctx.reloaded.connect(self._restart)
        self._restart()

    @property
    def done(self) -> bool:
        return not self._pending

    def _on_change(self, changed: frozenset, state) -> None:
        if changed & {"indicator", "period", "domain"} or self.ctx.view_code != self._view:
            self._restart()   # other answers, or another level's regions
        elif self._pending:
            self._timer.start(QUIET_MS)   # the user is busy: wait for a pause

    def _restart(self) -> None:
        # The regions of the level shown (a county's townships, a city's counties).
        self._view = self.ctx.view_code
        townships = self.ctx.hierarchy.children(self._view)
        self._pending = list(reversed(townships)) if len(townships) <= WARM_LIMIT else []
        if self._pending:
            self._timer.start(QUIET_MS)
        else:
            self._timer.stop()

    def stop(self) -> None:
        self._pending = []
        self._timer.stop()

    def _tick(self) -> None:
        if not self._pending:
            return
        region = self._pending.pop()
        try:
            for warm in self._warmers:
                warm(region)
        except Exception as exc:  # noqa: BLE001 - reading ahead is optional, never fatal
            # e.g. the warehouse closed under a closing window: the selection reads for itself.
            self.last_error = repr(exc)
            self.stop()
            return
        if self._pending:
            self._timer.start(0)
