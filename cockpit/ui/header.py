"""The header bar: title, breadcrumb, search, back/forward, data freshness and the live clock."""
from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import QSize, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (QCompleter, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QTabBar, QVBoxLayout)

from ..core import formatting as fmt
from ..core.catalogue import DOMAINS
from ..core.selection import FIELDS
from . import theme
from .context import OVERVIEW, CockpitContext
from .panel import Panel, SteadyLabel, signals_blocked

_TEXT = {
    "zh_CN": {"search": "搜索地区或指标…", "as_of": "数据截至", "snapshot": "快照",
              "stale": "数据已 {n} 个月未更新", "fresh": "数据为最新", "detail": "详情",
              "back": "后退", "forward": "前进", "weekday": "一二三四五六日",
              "not_found": "未找到“{q}”", "updated": "更新于", "quality": "数据质量",
              "import": "导入数据", "public": "公开版",
              "public_tip": "公开版：内部指标及其预警不显示", "plan": "规划目标",
              "export": "导出"},
    "en": {"search": "Search place or indicator…", "as_of": "Data as of",
           "snapshot": "Snapshot", "stale": "Data {n} months old", "fresh": "Data current",
           "detail": "Details", "back": "Back", "forward": "Forward", "weekday": "",
           "not_found": "No match for “{q}”", "updated": "published", "quality": "Data quality",
           "import": "Import", "public": "Public edition",
           "public_tip": "Public edition: internal indicators and their alerts are hidden",
           "plan": "Plan targets", "export": "Export"},
}


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


class ShrinkingLabel(QLabel):
    """A one-line plain-text label as wide as its text where the row has room, and cut short
    with "…" (the whole text its tooltip) where it has not. The window's title was a QLabel
    as wide as its whole text: a province's title beside a four-level breadcrumb made the
    window 1,965 px wide on a 1920 screen (and ~1,560 on a 1366 laptop), its clock off the
    edge."""

    KEEP = 4   # characters shown at the least, before the "…"
    _cut = False

    def minimumSizeHint(self) -> QSize:   # noqa: N802 — Qt's name
        hint = super().minimumSizeHint()
        margins = self.contentsMargins()
        least = self.fontMetrics().horizontalAdvance(self.text()[:self.KEEP] + "…") \
            + margins.left() + margins.right()
        return QSize(min(hint.width(), least), hint.height())

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit_tip()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_tip()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        self._fit_tip()

    def _fit_tip(self) -> None:
        cut = self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()
        if cut != self._cut or (cut and self.toolTip() != self.text()):
            self._cut = cut
            self.setToolTip(self.text() if cut else "")

    @property
    def cut(self) -> bool:
        """The text is shown cut short."""
        return self._cut

    def paintEvent(self, event) -> None:
        if not self._cut:
            super().paintEvent(event)
            return
        rect = self.contentsRect()
        p = QPainter(self)
        p.setFont(self.font())
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
                   self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                                 rect.width()))
        p.end()


class Header(Panel):
    # Every field: back/forward follow any recorded change.
    fields = frozenset(FIELDS)
    TEXT = _TEXT
    quality_requested = Signal()
    import_requested = Signal()
    plan_requested = Signal()

    def __init__(self, ctx: CockpitContext, parent=None, clock=datetime.now):
        super().__init__(ctx, parent)
        self.setObjectName("header")
        self._clock = clock
        t = self.t

        self.title = ShrinkingLabel(objectName="headerTitle")
        self.breadcrumb = SteadyLabel(objectName="breadcrumb")
        self.breadcrumb.setTextFormat(Qt.TextFormat.RichText)
        self.breadcrumb.linkActivated.connect(self._on_breadcrumb)
        self.back_button = QPushButton("◀", toolTip=t["back"], objectName="navButton")
        self.forward_button = QPushButton("▶", toolTip=t["forward"], objectName="navButton")
        self.back_button.clicked.connect(self._on_back)
        self.forward_button.clicked.connect(self._on_forward)
        self.search = QLineEdit(placeholderText=t["search"], objectName="search")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self._on_search)
        self._completer_model = QStringListModel(self)
        completer = QCompleter(self._completer_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.activated.connect(self._on_completion)
        self.search.setCompleter(completer)
        self.freshness = QLabel(objectName="freshness")
        self.clock = SteadyLabel(objectName="clock")   # a new second, no new layout
        self.detail_button = QPushButton(t["detail"], objectName="detailButton")
        self.detail_button.clicked.connect(self._on_detail)
        self.quality_button = QPushButton(t["quality"], objectName="detailButton")
        self.quality_button.clicked.connect(self.quality_requested)
        self.import_button = QPushButton(t["import"], objectName="detailButton")
        self.import_button.clicked.connect(self.import_requested)
        self.plan_button = QPushButton(t["plan"], objectName="detailButton")
        self.plan_button.clicked.connect(self.plan_requested)
        # The window gives it its menu (briefing PDF, PNG, Excel of the page on screen).
        self.export_button = QPushButton(t["export"], objectName="detailButton")

        self.profile_label = QLabel(t["public"], objectName="profileTag",
                                    toolTip=t["public_tip"])
        self.profile_label.setVisible(ctx.public_mode)

        top = QHBoxLayout()
        top.setContentsMargins(12, 6, 12, 2)
        top.addWidget(self.title)
        top.addWidget(self.profile_label)
        top.addSpacing(24)
        top.addWidget(self.back_button)
        top.addWidget(self.forward_button)
        top.addWidget(self.breadcrumb)
        top.addStretch(1)
        top.addWidget(self.search)
        top.addSpacing(16)
        top.addWidget(self.freshness)
        top.addSpacing(16)
        top.addWidget(self.clock)

        self.tabs = QTabBar(objectName="domainTabs")
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        self._domains = [OVERVIEW, *DOMAINS]
        for domain in self._domains:
            self.tabs.addTab(ctx.domain_name(domain))
        self.tabs.currentChanged.connect(self._on_tab)
        tabs_row = QHBoxLayout()
        tabs_row.setContentsMargins(12, 0, 12, 0)
        tabs_row.addWidget(self.tabs)
        tabs_row.addStretch(1)
        tabs_row.addWidget(self.import_button)
        tabs_row.addWidget(self.quality_button)
        tabs_row.addWidget(self.plan_button)
        tabs_row.addWidget(self.detail_button)
        tabs_row.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addLayout(tabs_row)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(1000)
        self.sync()

    def apply_scale(self) -> None:
        # The tabs' text size comes from the style sheet (QTabBar::tab); the bar's own font is
        # kept the same so what a reader (or a legibility check) sees is what it reports.
        self.tabs.setFont(theme.font(18 * self.scale))

    def set_wall(self, on: bool) -> None:
        """On a video wall nobody types or navigates at the header: only what it says stays."""
        for widget in (self.back_button, self.forward_button, self.search, self.detail_button,
                       self.quality_button, self.import_button,
                       getattr(self, "export_button", None), getattr(self, "plan_button", None)):
            if widget is not None:
                widget.setVisible(not on)

    # -- public state --------------------------------------------------------------------------------
    def plain_breadcrumb(self) -> str:
        """Every level from the root down to the selected region: 金华市 › 武义县 › 桃溪镇."""
        return " › ".join(self.ctx.region_name(code) for code in self._crumbs())

    def _crumbs(self) -> list[str]:
        return self.ctx.hierarchy.path(self.ctx.state.region)

    def stale_months(self) -> int:
        as_of = self.ctx.queries.as_of
        return months_between(as_of, self._clock().date()) if as_of else 0

    # -- updates -----------------------------------------------------------------------------------------
    def on_reload(self) -> None:
        q = self.ctx.queries
        self.title.setText(q.meta.get("title") or f"{q.county.name}城市大脑 · 数字驾驶舱"
                           if self.ctx.lang != "en" else f"{q.county.name_en or q.county.name} City Brain Cockpit")
        if self._names_listed:
            self._list_names()
        else:   # the country's 43,000 places: ~70 ms; nobody types before the first frame
            from .app import after_first_paint

            after_first_paint(self, self._list_names)
        self._update_freshness()
        self.on_selection(frozenset({"region", "domain"}), self.ctx.state)
        self._tick()

    _names_listed = False

    def _list_names(self) -> None:
        """The search's completions: every place under the root and every indicator shown."""
        q = self.ctx.queries
        names = [r.name for r in q.regions if r.code in q.hierarchy and r.code != q.county.code] \
            + [self.ctx.tr_name(i) for i in self.ctx.visible_indicators()]
        self._completer_model.setStringList(names)
        self._names_listed = True

    def _update_freshness(self) -> None:
        t = self.t
        q = self.ctx.queries
        as_of = q.as_of
        snapshot = q.snapshot.manifest
        age = self.stale_months()
        # Monthly data is normally published within about a month; older than that is stale.
        stale = age > 2
        status = t["stale"].format(n=age) if stale else t["fresh"]
        label = fmt.month_label(as_of, self.ctx.lang) if as_of else "—"
        self.freshness.setText(f"{t['as_of']} {label} · {status}")
        self.freshness.setProperty("stale", stale)
        self.freshness.setToolTip(
            f"{t['snapshot']} {snapshot.label} · {t['updated']} {snapshot.created_at.replace('T', ' ')}")
        self.freshness.style().unpolish(self.freshness)
        self.freshness.style().polish(self.freshness)

    def _tick(self) -> None:
        now = self._clock()
        if self.ctx.lang == "en":
            self.clock.setText(now.strftime("%Y-%m-%d %a %H:%M:%S"))
        else:
            wd = self.t["weekday"][now.weekday()]
            self.clock.setText(f"{now:%Y年%m月%d日} 星期{wd} {now:%H:%M:%S}")

    def on_selection(self, changed: frozenset, state) -> None:
        if "region" in changed:
            # Each level above the selection is a link back up to it.
            crumbs = self._crumbs()
            parts = [f"<a href='{code}' style='color:#8aa4c8;text-decoration:none'>"
                     f"{self.ctx.region_name(code)}</a>" for code in crumbs[:-1]]
            last = self.ctx.region_name(crumbs[-1])
            parts.append(f"<span style='color:#ffe14d'>{last}</span>" if len(crumbs) > 1
                         else f"<span>{last}</span>")
            self.breadcrumb.setText("&nbsp;›&nbsp;".join(parts))
        if "domain" in changed:
            index = self._domains.index(state.domain) if state.domain in self._domains else 0
            if self.tabs.currentIndex() != index:
                with signals_blocked(self.tabs):
                    self.tabs.setCurrentIndex(index)
        self.back_button.setEnabled(self.ctx.selection.can_go_back)
        self.forward_button.setEnabled(self.ctx.selection.can_go_forward)

    # -- user actions ---------------------------------------------------------------------------------
    def _on_breadcrumb(self, link: str) -> None:
        self.ctx.select(region=link if link in self.ctx.queries.region_by_code
                        else self.ctx.county_code)

    def crumb_links(self) -> list[str]:
        """The region codes the breadcrumb's links go to (root first)."""
        return self._crumbs()[:-1]

    def _on_back(self) -> None:
        self.ctx.selection.back()

    def _on_forward(self) -> None:
        self.ctx.selection.forward()

    def _on_detail(self) -> None:
        self.ctx.detail_requested.emit(self.ctx.state.region)

    def _on_tab(self, index: int) -> None:
        domain = self._domains[index]
        changes = {"domain": domain}
        current = self.ctx.indicator()
        if domain != OVERVIEW and current.domain != domain:
            shown = self.ctx.domain_indicators(domain)
            if shown:
                changes["indicator"] = shown[0].code
        self.ctx.select(**changes)

    def _on_completion(self, text: str) -> None:
        self.search.setText(text)
        self._on_search()

    def _on_search(self) -> bool:
        """Select a township or an indicator by (part of) its name."""
        query = self.search.text().strip()
        if not query:
            return False
        q = self.ctx.queries
        try:   # a code, a name, or a path such as 武义县/桃溪镇
            code = q.hierarchy.resolve(query)
        except LookupError:
            code = None
        regions = [q.county, *(r for r in q.regions
                               if r.code in q.hierarchy and r.code != q.county.code)]
        for region in [] if code else regions:
            names = {region.name, region.name_en or ""}
            if any(query and query in n for n in names if n):
                code = region.code
                break
        if code is not None:
            self.ctx.select(region=code)
            self.search.clear()
            return True
        for ind in self.ctx.visible_indicators():
            if query in (ind.name, ind.code, ind.name_en) or query in ind.name:
                changes = {"indicator": ind.code}
                if self.ctx.state.domain not in (OVERVIEW, ind.domain):
                    changes["domain"] = ind.domain
                self.ctx.select(**changes)
                self.search.clear()
                return True
        self.search.setToolTip(self.t["not_found"].format(q=query))
        return False
