"""The cockpit window: header, KPI cards, map, trend and ranking charts, events, period bar."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QGridLayout, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from . import theme
from .alert_ticker import AlertTicker, AlertWatcher
from .alerts_panel import AlertsPanel
from .banner import ProblemBanner
from .context import CockpitContext
from .detail_view import TownshipDetail
from .events_panel import EventsPanel
from .header import Header
from .kpi_panel import KpiPanel
from .map_panel import MapPanel
from .period_bar import PeriodBar
from .prewarm import Prewarmer
from .quality_page import QualityPage
from .ranking_panel import RankingPanel
from .trend_panel import TrendPanel

DESIGN_SIZE = (1920, 1080)


class CockpitWindow(QMainWindow):
    def __init__(self, ctx: CockpitContext, sound: bool = False, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("cockpit")
        self.setWindowTitle(ctx.queries.meta.get("title", "城市大脑 · 数字驾驶舱"))
        self.scale = 1.0

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
        # The detail and data-quality pages are built when first opened: most sessions on a
        # wall never open them, and building them would delay the first paint.
        self._detail: TownshipDetail | None = None
        self._quality: QualityPage | None = None
        self.import_dialog = None
        self.panels = [self.kpis, self.map, self.trend, self.ranking, self.events, self.alerts]
        self.prewarmer = Prewarmer(ctx, [self.kpis.warm, self.trend.warm, self.events.warm,
                                         self.alerts.warm], self)

        cockpit = QWidget(objectName="cockpitPage")
        grid = QGridLayout(cockpit)
        grid.setContentsMargins(10, 6, 10, 8)
        grid.setSpacing(8)
        # Left: KPI cards. Centre: the map. Right: trend over ranking.
        # Bottom: alerts under the cards and the map, events under the charts.
        grid.addWidget(self.kpis, 0, 0, 2, 1)
        grid.addWidget(self.map, 0, 1, 2, 1)
        grid.addWidget(self.trend, 0, 2)
        grid.addWidget(self.ranking, 1, 2)
        grid.addWidget(self.alerts, 2, 0, 1, 2)
        grid.addWidget(self.events, 2, 2)
        grid.setColumnStretch(0, 26)
        grid.setColumnStretch(1, 44)
        grid.setColumnStretch(2, 30)
        grid.setRowStretch(0, 36)
        grid.setRowStretch(1, 40)
        grid.setRowStretch(2, 24)

        self.pages = QStackedWidget()
        self.pages.addWidget(cockpit)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.ticker)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.period_bar)
        self.setCentralWidget(central)

        ctx.detail_requested.connect(self._on_detail_requested)
        ctx.problem_reported.connect(self.banner.report)
        ctx.problem_cleared.connect(self.banner.clear)
        self.header.quality_requested.connect(self.show_quality)
        self.header.import_requested.connect(self.open_import)
        self._install_shortcuts()
        self._rescale_timer = QTimer(self, singleShot=True, interval=120)
        self._rescale_timer.timeout.connect(self._apply_scale)
        self._apply_scale()

    # -- pages ----------------------------------------------------------------------------------------
    @property
    def detail(self) -> TownshipDetail:
        if self._detail is None:
            self._detail = TownshipDetail(self.ctx)
            self._detail.set_scale(self.scale)
            self._detail.closed.connect(self.show_cockpit)
            self.pages.addWidget(self._detail)
            self.panels.append(self._detail)
        return self._detail

    @property
    def quality(self) -> QualityPage:
        if self._quality is None:
            self._quality = QualityPage(self.ctx)
            self._quality.closed.connect(self.show_cockpit)
            self._quality.import_requested.connect(self.open_import)
            self.pages.addWidget(self._quality)
        return self._quality

    @property
    def showing_detail(self) -> bool:
        return self._detail is not None and self.pages.currentWidget() is self._detail

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

    def open_import(self):
        """The import dialog on this window's warehouse (non-modal: the wall keeps running);
        one at a time, deleted when closed."""
        from .import_dialog import ImportDialog

        if self.import_dialog is None:
            dialog = self.import_dialog = ImportDialog(self.ctx.queries.snapshot.store.root, self)
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
        """Arrow keys walk through the townships in their usual order (and wrap)."""
        codes = [t.code for t in self.ctx.queries.townships]
        current = self.ctx.state.region
        if current in codes:
            index = (codes.index(current) + step) % len(codes)
        else:
            index = 0 if step > 0 else len(codes) - 1
        self.ctx.select(region=codes[index])

    def escape(self) -> None:
        """Esc leaves full screen first, then the detail page, then goes back to the county."""
        if self.isFullScreen():
            self.showNormal()
        elif self.showing_detail or self.showing_quality:
            self.show_cockpit()
        else:
            self.ctx.select(region=self.ctx.county_code)

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    # -- scaling for any wall -------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale_timer.start()

    def _apply_scale(self) -> None:
        w, h = max(1, self.width()), max(1, self.height())
        # Text follows the smaller ratio so a 7680×2160 wall scales like 3840×2160, not 4×.
        scale = max(0.62, min(w / DESIGN_SIZE[0], h / DESIGN_SIZE[1], 4.0))
        if abs(scale - self.scale) < 0.02 and self.styleSheet():
            return
        self.scale = scale
        self.setStyleSheet(theme.style_sheet(scale))
        for panel in self.panels:
            if hasattr(panel, "set_scale"):
                panel.set_scale(scale)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.prewarmer.stop()
        self.watcher.stop()
        self.ctx.close()
        super().closeEvent(event)
