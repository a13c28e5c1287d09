"""The cockpit window: header, KPI cards, map, trend and ranking charts, events, period bar."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QMainWindow, QStackedWidget,
                               QVBoxLayout, QWidget)

from . import theme
from .alert_ticker import AlertTicker, AlertWatcher
from .alerts_panel import AlertsPanel
from .banner import ProblemBanner
from .context import CockpitContext
from .events_panel import EventsPanel
from .header import Header
from .kpi_panel import KpiPanel
from .map import MapPanel
from .period_bar import PeriodBar
from .prewarm import Prewarmer
from .ranking_panel import RankingPanel
from .trend_panel import TrendPanel

if TYPE_CHECKING:   # the pages not on the first frame are imported when first opened
    from .alert_centre import AlertCentre
    from .detail_view import TownshipDetail
    from .plan_page import PlanPage
    from .quality_page import QualityPage

DESIGN_SIZE = (1920, 1080)

# Layouts by the window's shape. A video wall of two or three screens side by side is one wide
# window: more panels sit side by side there, instead of the 16:9 grid being stretched.
LAPTOP, WIDE_16_9, WIDE_32_9, WIDE_48_9 = "laptop", "16:9", "32:9", "48:9"


def layout_for(width: int, height: int) -> str:
    """The layout that fits a window: 48:9 (three screens), 32:9 (two), 16:9, or a laptop's."""
    aspect = width / max(1, height)
    if aspect >= 4.0:
        return WIDE_48_9
    if aspect >= 2.6:
        return WIDE_32_9
    if height < 900:
        return LAPTOP
    return WIDE_16_9


class CockpitWindow(QMainWindow):
    def __init__(self, ctx: CockpitContext, sound: bool = False, parent=None,
                 size: tuple[int, int] | None = None):
        """`size`: what it will be shown at, so its panels are laid out once, for that size."""
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("cockpit")
        self.setWindowTitle(ctx.queries.meta.get("title", "城市大脑 · 数字驾驶舱"))
        self.scale = 1.0
        self.layout_mode: str | None = None
        self.wall = None   # the WallController when this window runs a video wall

        self.header = Header(ctx)
        self.kpis = KpiPanel(ctx)
        self.map = MapPanel(ctx)
        self.trend = TrendPanel(ctx)
        self.ranking = RankingPanel(ctx)
        self.events = EventsPanel(ctx)
        self.alerts = AlertsPanel(ctx)
        self.ticker = AlertTicker(ctx, sound=sound)
        # Background problems (warehouse or operations store unreachable) go here, never
        # into a modal box: nobody may have to click a wall free.
        self.banner = ProblemBanner(ctx.lang)
        self.watcher = AlertWatcher(ctx, self.ticker, self)
        self.period_bar = PeriodBar(ctx)
        # The detail, data-quality, alert-centre and plan pages are imported and built when
        # first opened: most sessions never open them, and they would delay the first paint.
        self._detail: TownshipDetail | None = None
        self._quality: QualityPage | None = None
        self._alert_centre: AlertCentre | None = None
        self._plan: PlanPage | None = None
        self.import_dialog = None
        self.panels = [self.header, self.kpis, self.map, self.trend, self.ranking, self.events,
                       self.alerts]
        self.prewarmer = Prewarmer(ctx, [self.kpis.warm, self.trend.warm, self.events.warm,
                                         self.alerts.warm], self)

        # The pages (cockpit grid, detail, quality, alert centre) and, on wide walls, a column of
        # alerts and events beside them that stays whatever page is shown.
        self.pages = QStackedWidget()
        self.pages.addWidget(QWidget(objectName="cockpitPage"))
        self.side = QWidget(objectName="sideColumn")
        side_layout = QVBoxLayout(self.side)
        side_layout.setContentsMargins(0, 6, 10, 8)
        side_layout.setSpacing(8)
        self.body = QWidget()
        body_layout = QHBoxLayout(self.body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.setSpacing(0)
        body_layout.addWidget(self.pages)
        body_layout.addWidget(self.side)
        self.side.hide()

        central = QWidget()
        self._central_layout = layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.ticker)
        layout.addWidget(self.banner)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.period_bar)
        self.setCentralWidget(central)

        ctx.detail_requested.connect(self._on_detail_requested)
        ctx.problem_reported.connect(self.banner.report)
        ctx.problem_cleared.connect(self.banner.clear)
        self.header.quality_requested.connect(self.show_quality)
        self.header.import_requested.connect(self.open_import)
        self.header.plan_requested.connect(self.show_plan)
        from .export import install_export_menu

        install_export_menu(self)
        self._install_shortcuts()
        self._rescale_timer = QTimer(self, singleShot=True, interval=120)
        self._rescale_timer.timeout.connect(self._apply_scale)
        if size is not None:
            self.resize(*size)
        self._apply_scale()

    # -- layouts ------------------------------------------------------------------------------------
    def _arrange(self, mode: str) -> None:
        """Put the panels where `mode` wants them; the panels themselves are kept, only moved."""
        if mode == self.layout_mode:
            return
        self.layout_mode = mode
        cockpit = QWidget(objectName="cockpitPage")
        grid = QGridLayout(cockpit)
        grid.setContentsMargins(10, 6, 10, 8)
        grid.setSpacing(8)
        # Left: KPI cards. Centre: the map. Then the trend over the ranking.
        grid.addWidget(self.kpis, 0, 0, 2, 1)
        grid.addWidget(self.map, 0, 1, 2, 1)
        grid.addWidget(self.trend, 0, 2)
        grid.addWidget(self.ranking, 1, 2)
        side = self.side.layout()
        body = self.body.layout()
        if mode in (LAPTOP, WIDE_16_9):
            # Alerts under the cards and the map, events under the charts. A laptop gives the
            # lists more height: four rows of each must show at 1366×768.
            grid.addWidget(self.alerts, 2, 0, 1, 2)
            grid.addWidget(self.events, 2, 2)
            stretches = (26, 44, 30)
            rows = (28, 30, 42) if mode == LAPTOP else (36, 40, 24)
            self.side.hide()
            body.setStretch(0, 1)
            body.setStretch(1, 0)
        else:
            # Wide walls: alerts and events get the full height of the last screen(s): a column
            # beside the pages, so they stay in view on every page of the rotation. Column
            # shares put panel edges on the screens' edges (bezels), not through a panel.
            side.addWidget(self.alerts, 1)
            side.addWidget(self.events, 1)
            if mode == WIDE_32_9:   # KPI | map ‖ trend + ranking | alerts + events
                stretches, share = (19, 48, 33), (3, 1)
            else:                   # KPI | map ‖ trend + ranking ‖ alerts + events
                stretches, share = (30, 70, 100), (2, 1)
            rows = (45, 55)
            self.side.show()
            body.setStretch(0, share[0])
            body.setStretch(1, share[1])
        for col, stretch in enumerate(stretches):
            grid.setColumnStretch(col, stretch)
        for row, stretch in enumerate(rows):
            grid.setRowStretch(row, stretch)
        old = self.pages.widget(0)
        showing_cockpit = self.pages.currentWidget() is old
        self.pages.insertWidget(0, cockpit)
        self.pages.removeWidget(old)
        old.deleteLater()
        if showing_cockpit:
            self.pages.setCurrentWidget(cockpit)

    # -- pages ----------------------------------------------------------------------------------------
    @property
    def detail(self) -> TownshipDetail:
        if self._detail is None:
            from .detail_view import TownshipDetail

            self._detail = TownshipDetail(self.ctx)
            self._detail.set_scale(self.scale)
            self._detail.closed.connect(self.show_cockpit)
            self.pages.addWidget(self._detail)
            self.panels.append(self._detail)
        return self._detail

    @property
    def quality(self) -> QualityPage:
        if self._quality is None:
            from .quality_page import QualityPage

            self._quality = QualityPage(self.ctx)
            self._quality.closed.connect(self.show_cockpit)
            self._quality.import_requested.connect(self.open_import)
            self.pages.addWidget(self._quality)
        return self._quality

    @property
    def alert_centre(self) -> AlertCentre:
        if self._alert_centre is None:
            from .alert_centre import AlertCentre

            self._alert_centre = AlertCentre(self.ctx)
            self._alert_centre.set_scale(self.scale)
            self._alert_centre.closed.connect(self.show_cockpit)
            self.pages.addWidget(self._alert_centre)
            self.panels.append(self._alert_centre)
        return self._alert_centre

    def show_alert_centre(self) -> None:
        self.pages.setCurrentWidget(self.alert_centre)

    @property
    def showing_alert_centre(self) -> bool:
        return (self._alert_centre is not None
                and self.pages.currentWidget() is self._alert_centre)

    @property
    def showing_detail(self) -> bool:
        return self._detail is not None and self.pages.currentWidget() is self._detail

    @property
    def page_name(self) -> str:
        """Which page is on screen: cockpit, detail, quality, alerts or plan."""
        current = self.pages.currentWidget()
        for name, page in (("detail", self._detail), ("quality", self._quality),
                           ("alerts", self._alert_centre),
                           ("plan", self._plan)):
            if page is not None and current is page:
                return name
        return "cockpit"

    def _on_detail_requested(self, region: str) -> None:
        self.ctx.select(region=region)
        self.pages.setCurrentWidget(self.detail)

    def show_cockpit(self) -> None:
        self.pages.setCurrentWidget(self.pages.widget(0))

    def show_quality(self) -> None:
        self.pages.setCurrentWidget(self.quality)

    @property
    def showing_quality(self) -> bool:
        return self._quality is not None and self.pages.currentWidget() is self._quality

    @property
    def plan(self) -> PlanPage:
        """The 规划目标 page."""
        if self._plan is None:
            from .plan_page import PlanPage

            self._plan = PlanPage(self.ctx)
            self._plan.set_scale(self.scale)
            self._plan.closed.connect(self.show_cockpit)
            self.pages.addWidget(self._plan)
            self.panels.append(self._plan)
        return self._plan

    def show_plan(self) -> None:
        self.pages.setCurrentWidget(self.plan)

    @property
    def showing_plan(self) -> bool:
        return self._plan is not None and self.pages.currentWidget() is self._plan

    def open_import(self):
        """The import dialog on this window's warehouse (non-modal: the wall keeps running);
        one at a time, deleted when closed."""
        from .import_dialog import ImportDialog

        if self.import_dialog is None:
            dialog = self.import_dialog = ImportDialog(self.ctx.queries.snapshot.warehouse, self,
                                                       self.ctx.lang)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(self._forget_import_dialog)
        self.import_dialog.show()
        self.import_dialog.raise_()
        return self.import_dialog

    def _forget_import_dialog(self) -> None:
        self.import_dialog = None

    # -- keyboard -----------------------------------------------------------------------------------
    def _install_shortcuts(self) -> None:
        def add(keys, slot):
            for key in keys:
                QShortcut(QKeySequence(key), self, activated=slot)
        add(["Right", "Down"], lambda: self.step_township(+1))
        add(["Left", "Up"], lambda: self.step_township(-1))
        add(["Escape"], self.escape)
        add(["F11"], self.toggle_fullscreen)
        add([QKeySequence.StandardKey.Back, "Alt+Left"], self.ctx.selection.back)
        add([QKeySequence.StandardKey.Forward, "Alt+Right"], self.ctx.selection.forward)
        add([QKeySequence.StandardKey.Find], self.header.search.setFocus)
        add(["Space"], self.period_bar.play_button.toggle)
        # Not Return: that belongs to the search box.
        add(["Ctrl+D"], lambda: self.ctx.detail_requested.emit(self.ctx.state.region))

    def step_township(self, step: int) -> None:
        """Arrow keys walk through the regions of the level shown in their usual order (and
        wrap): a county's townships, a city's counties."""
        codes = self.ctx.hierarchy.children(self.ctx.view_code)
        current = self.ctx.state.region
        if current in codes:
            index = (codes.index(current) + step) % len(codes)
        else:
            index = 0 if step > 0 else len(codes) - 1
        self.ctx.select(region=codes[index])

    def escape(self) -> None:
        """Esc leaves full screen first (not on a wall: that is a kiosk), then the page shown,
        then goes one level up (a township to its county, a county to its city)."""
        if self.isFullScreen() and self.wall is None:
            self.showNormal()
        elif self.page_name != "cockpit":
            self.show_cockpit()
        else:
            self.ctx.select(region=self.level_up())

    def level_up(self) -> str:
        """One level up from the selection: a township's county, a county's city."""
        region, view = self.ctx.state.region, self.ctx.view_code
        if region != view:
            return view
        return self.ctx.hierarchy.parent(region) or self.ctx.county_code

    def toggle_fullscreen(self) -> None:
        if self.wall is not None:
            return
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    # -- scaling for any wall -------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.isVisible():
            self._rescale_timer.start()   # once a user's dragging of the edge rests
        else:
            # Shown in a moment at this size: lay it out now, so its first frame is the final
            # layout, not the one for the size it was built at, corrected a moment later.
            self._apply_scale()

    # On a wall no text is smaller than this share of the screen's height (legible at 5 m).
    text_floor_share = 0.0

    def _apply_scale(self) -> None:
        w, h = max(1, self.width()), max(1, self.height())
        # Text follows the smaller ratio so a 7680×2160 wall scales like 3840×2160, not 4×.
        scale = max(0.62, min(w / DESIGN_SIZE[0], h / DESIGN_SIZE[1], 4.0))
        floor = math.ceil(self.text_floor_share * h - 1e-9)
        restyle = not (abs(scale - self.scale) < 0.02 and self.styleSheet()
                       and floor == theme.text_floor())
        if restyle:
            # Styled before the panels are arranged: arranging shows the cockpit page, which
            # polishes every widget on it; styled after, each would be polished twice.
            theme.set_text_floor(floor)
            self.scale = scale
            # Plain labels take the window's font: it grows with a wall (never below a laptop's).
            self.setFont(theme.font(14 * max(1.0, scale)))
            self.setStyleSheet(theme.style_sheet(scale))
        self._arrange(layout_for(w, h))
        if restyle:
            for panel in self.panels:
                if hasattr(panel, "set_scale"):
                    panel.set_scale(scale)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.wall is not None:
            if not self.wall.exiting:   # a wall is left with its key chord, never by accident
                event.ignore()
                self.wall.refuse_close()
                return
            self.wall.stop()
        self.prewarmer.stop()
        self.watcher.stop()
        self.ctx.close()
        super().closeEvent(event)
