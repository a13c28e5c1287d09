"""The alert centre page: every open alert of the county, big severity counts, and which townships
and domains carry them — the page a wall shows full screen between cockpit views."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from ..alerts.rules import SEVERITIES
from ..core import i18n
from ..core.catalogue import DOMAINS
from . import theme
from .alerts_panel import AlertsPanel
from .context import CockpitContext
from .panel import Panel

_TEXT = {
    "zh_CN": {"title": "预警中心", "county": "全县", "close": "返回驾驶舱", "overdue": "超期",
              "by_region": "各乡镇未处置预警", "by_domain": "各领域", "events": "事件",
              "none": "当前没有待处置的预警", "open": "待处置"},
    "en": {"title": "Alert centre", "county": "County", "close": "Back to cockpit",
           "overdue": "Overdue", "by_region": "Open alerts by township", "by_domain": "By domain",
           "events": "Events", "none": "No open alerts", "open": "open"},
}


class _Tally(QWidget):
    """Rows of a name and its 红/橙/黄 counts, most severe first; a click selects the row's key."""

    clicked = Signal(str)

    def __init__(self, lang: str, parent=None):
        super().__init__(parent)
        self.lang = lang
        self.rows: list[tuple[str, str, dict[str, int]]] = []   # (key, name, counts)
        self.px = 16
        self.setMinimumHeight(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_rows(self, rows) -> None:
        self.rows = list(rows)
        self.update()

    def _row_h(self) -> float:
        return max(self.px * 1.7, 1.0)

    def visible_rows(self) -> int:
        return min(len(self.rows), int(self.height() // self._row_h()))

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font, bold = theme.font(self.px), theme.font(self.px, True)
        row_h = self._row_h()
        count_w = self.px * 3.4
        name_w = self.width() - count_w * len(SEVERITIES)
        for k, (_, name, counts) in enumerate(self.rows[:self.visible_rows()]):
            top = k * row_h
            p.setFont(font)
            p.setPen(QColor(theme.TEXT))
            p.drawText(QRectF(0, top, name_w, row_h),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name)
            p.setFont(bold)
            for j, severity in enumerate(SEVERITIES):
                n = counts.get(severity, 0)
                box = QRectF(name_w + j * count_w, top + row_h * 0.12, count_w - 6, row_h * 0.76)
                colour = theme.SEVERITY[severity]
                if n:
                    p.setPen(Qt.PenStyle.NoPen)
                    p.setBrush(theme.blend(colour, 70))
                    p.drawRoundedRect(box, 4, 4)
                    p.setPen(QColor(colour))
                else:
                    p.setPen(QColor(theme.TEXT_DIM))
                p.drawText(box, Qt.AlignmentFlag.AlignCenter,
                           f"{i18n.severity(severity, self.lang)} {n}")
        p.end()

    def mouseReleaseEvent(self, event) -> None:
        index = int(event.position().y() // self._row_h())
        if event.button() == Qt.MouseButton.LeftButton and 0 <= index < self.visible_rows():
            self.clicked.emit(self.rows[index][0])


class AlertCentre(Panel):
    """All open alerts of the county; follows alert changes; the selection only through clicks."""

    follows_alerts = True
    TEXT = _TEXT
    closed = Signal()

    def __init__(self, ctx: CockpitContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.setObjectName("alertCentre")
        self._t = self.t
        self._counts: dict[str, int] = {}

        bar = QFrame(self, objectName="headerBar")
        self.title = QLabel(objectName="detailName")
        self.count_labels: dict[str, QLabel] = {}
        bar_layout = QHBoxLayout(bar)
        bar_layout.setContentsMargins(16, 10, 16, 10)
        bar_layout.setSpacing(24)
        bar_layout.addWidget(self.title)
        bar_layout.addStretch(1)
        for key in (*SEVERITIES, "overdue"):
            label = QLabel(bar)
            label.setTextFormat(Qt.TextFormat.RichText)
            self.count_labels[key] = label
            bar_layout.addWidget(label)
        bar_layout.addSpacing(12)
        self.close_button = QPushButton(self._t["close"], bar, objectName="primary")
        self.close_button.clicked.connect(self.closed.emit)
        bar_layout.addWidget(self.close_button)

        # Its own alert list (panels are views of the context; this one never filters by the
        # selected township: the centre is about the whole county).
        self.list = AlertsPanel(ctx, self)
        self.list.region_only.setChecked(False)
        self.list.region_only.hide()

        side = QFrame(self, objectName="panel")
        self.region_title = QLabel(self._t["by_region"], objectName="panelTitle")
        self.regions = _Tally(ctx.lang, side)
        self.regions.clicked.connect(self._on_region_clicked)
        self.domain_title = QLabel(self._t["by_domain"], objectName="panelTitle")
        self.domains = _Tally(ctx.lang, side)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(12, 10, 12, 10)
        side_layout.addWidget(self.region_title)
        side_layout.addWidget(self.regions, 3)
        side_layout.addWidget(self.domain_title)
        side_layout.addWidget(self.domains, 2)

        body = QHBoxLayout()
        body.setContentsMargins(10, 10, 10, 10)
        body.setSpacing(10)
        body.addWidget(self.list, 64)
        body.addWidget(side, 36)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addLayout(body, 1)

        self._apply_fonts()
        self.sync()

    # -- visible state (tests read these) ---------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def region_rows(self) -> list[tuple[str, str, dict[str, int]]]:
        return list(self.regions.rows)

    # -- refreshing -----------------------------------------------------------------------------
    def on_alerts(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        t, ctx = self._t, self.ctx
        self.title.setText(f"{t['title']} · {ctx.region_name(ctx.county_code)}")
        if ctx.alerts is None:
            alerts = []
        else:
            try:
                alerts = ctx.alerts.list(open_only=True)
            except Exception:   # the operations store is away: keep what is shown (banner says)
                return
        self._counts = {s: sum(a.severity == s for a in alerts) for s in SEVERITIES}
        self._counts["overdue"] = sum(a.overdue for a in alerts)
        for key, label in self.count_labels.items():
            colour = theme.SEVERITY.get(key, theme.BAD)
            name = i18n.severity(key, ctx.lang) if key in SEVERITIES else t["overdue"]
            label.setText(f"<span style='color:{colour}'>● {name}</span> "
                          f"<b style='font-size:{theme.px(30 * self.scale)}px'>"
                          f"{self._counts[key]}</b>")
        by_region: dict[str, dict[str, int]] = {}
        by_domain: dict[str, dict[str, int]] = {}
        indicators = ctx.queries.indicator_by_code
        for a in alerts:
            by_region.setdefault(a.region, {}).setdefault(a.severity, 0)
            by_region[a.region][a.severity] += 1
            ind = indicators.get(a.indicator) if a.indicator else None
            domain = ind.domain if ind is not None else "events"
            by_domain.setdefault(domain, {}).setdefault(a.severity, 0)
            by_domain[domain][a.severity] += 1

        def order(item):
            counts = item[1]
            return tuple(-counts.get(s, 0) for s in SEVERITIES)

        self.regions.set_rows((code, ctx.region_name(code), counts)
                              for code, counts in sorted(by_region.items(), key=order))
        domain_names = {code: ctx.domain_name(code) for code in DOMAINS}
        domain_names["events"] = t["events"]
        self.domains.set_rows((code, domain_names.get(code, code), counts)
                              for code, counts in sorted(by_domain.items(), key=order))

    def set_wall(self, on: bool) -> None:
        self.list.set_wall(on)
        self.close_button.setVisible(not on)

    def _on_region_clicked(self, code: str) -> None:
        if code in self.ctx.queries.region_by_code:
            self.ctx.select(region=code)

    # -- sizing ---------------------------------------------------------------------------------
    def apply_scale(self) -> None:
        self._apply_fonts()
        self.refresh()

    def _apply_fonts(self) -> None:
        px = theme.px(16 * self.scale)
        self.regions.px = self.domains.px = px
        self.title.setFont(theme.font(24 * self.scale, True))
        for label in self.count_labels.values():
            label.setFont(theme.font(20 * self.scale, True))
        self.regions.update()
        self.domains.update()

    def closeEvent(self, event) -> None:
        self.list.close()
        super().closeEvent(event)
