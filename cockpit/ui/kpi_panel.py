"""KPI cards: the selected region's headline indicators for the current domain, one card each."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QThread, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from ..core import formatting as fmt
from ..core import i18n
from ..core.catalogue import Indicator
from . import qtarrays, theme
from .context import CockpitContext
from .lateness import lateness
from .panel import Panel, Pictures, TitleLabel

_TEXT = {
    "zh_CN": {"title": "核心指标", "mom": "环比", "yoy": "同比", "target": "目标",
              "no_data": "暂无数据",
              "unit": "单位", "dept": "牵头单位", "def": "口径", "period": "数据期",
              "freq": {"month": "月度", "quarter": "季度", "year": "年度"}, "freq_label": "频度",
              "sensitive": "内部指标", "flat": "持平", "source": "数据来源",
              "county_only_at": "{whole}口径"},
    "en": {"title": "Key indicators", "mom": "MoM", "yoy": "YoY", "target": "Target",
           "no_data": "No data",
           "unit": "Unit", "dept": "Source", "def": "Definition", "period": "Period",
           "freq": {"month": "monthly", "quarter": "quarterly", "year": "yearly"},
           "freq_label": "Frequency", "sensitive": "Internal", "flat": "unchanged",
           "source": "Figure", "county_only_at": "{whole} figure"},
}


@dataclass
class CardData:
    indicator: Indicator
    value: float | None
    prev_value: float | None
    yoy_value: float | None
    period: object
    sparkline: np.ndarray
    county_figure: bool      # the value shown is the county's (county-only indicator)
    period_note: str = ""    # the period shown ("2025年12月"), coloured when it is late
    period_colour: str | None = None   # amber / red when late
    late_note: str = ""      # why it is coloured, for the tooltip
    provenance: str = ""     # 由乡镇汇总（18/18） when the figure was derived
    whole: str = "全县"      # what the county's own figure is called at this level
    department: str = ""     # the source department, as the UI's language names it


_chrome_cache: dict[tuple, QPixmap] = {}
# Frames (see KpiCard._frame) by indicator, state and size: a domain's cards in both states
# at two sizes, with room for the lateness notes of a few months.
FRAMES = 48
_frames: OrderedDict[tuple, QPixmap] = OrderedDict()
_layouts: dict[tuple, _CardLayout] = {}
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
# Cards painted once, kept by figures and size (a county's townships at a desk: ~22 MB).
RENDERED_BYTES = 32_000_000
_rendered = Pictures(RENDERED_BYTES)


class _CardLayout:
    """A card's rows (as shares of its height, so a card reads the same at any size), their
    type and metrics, for one size, scale and language."""

    ROWS = {"name": 0.15, "value": 0.29, "mom": 0.12, "yoy": 0.12, "spark": 0.20,
            "target": 0.12}

    def __init__(self, rect: QRectF, s: float, lang: str):
        r = rect.adjusted(1, 1, -1, -1)
        pad = 10 * s
        inner = r.adjusted(pad, pad * 0.6, -pad, -pad * 0.6)
        h, self.width = inner.height(), inner.width()
        y = inner.top()
        self.boxes: dict[str, QRectF] = {}
        for key, share in self.ROWS.items():
            self.boxes[key] = QRectF(inner.left(), y, self.width, h * share)
            y += h * share

        def fit(px: float, box: QRectF) -> float:
            return max(9.0, min(px, box.height() * 0.8))

        self.name_font = theme.font(fit(17 * s, self.boxes["name"]))
        self.note_font = theme.font(fit(13 * s, self.boxes["name"]))
        value = self.boxes["value"]
        self.value_font = theme.font(fit(38 * s, value), bold=True)
        self.value_metrics = QFontMetrics(self.value_font)
        self.baseline = value.top() + (value.height() + self.value_metrics.ascent()
                                       - self.value_metrics.descent()) / 2
        self.unit_font = theme.font(fit(16 * s, value))
        # (both change rows are the same height: one type for the labels and the figures)
        self.change_font = theme.font(fit(14 * s, self.boxes["mom"]))
        change = QFontMetrics(self.change_font)
        self.change_boxes = {   # the figure after its label
            key: self.boxes[key].adjusted(change.horizontalAdvance(_TEXT[lang][key]) + 6 * s,
                                          0, 0, 0) for key in ("mom", "yoy")}
        self.spark = self.boxes["spark"].adjusted(0, 2 * s, 0, -2 * s)
        self.target_font = theme.font(fit(12 * s, self.boxes["target"]))
        self.target_metrics = QFontMetrics(self.target_font)


def forget_pictures() -> None:
    """Drop every card picture and frame kept (each is painted afresh when next shown)."""
    _rendered.clear()
    _frames.clear()
    _chrome_cache.clear()


def _verdict_color(verdict: int) -> str:
    return {1: theme.GOOD, -1: theme.BAD}.get(verdict, theme.NEUTRAL)


def _figures(d: CardData | None) -> tuple | None:
    """What a card's picture shows of its data (the card's size and state aside)."""
    return None if d is None else (
        d.indicator.code, d.value, d.prev_value, d.yoy_value, d.period,
        d.sparkline.tobytes(), d.county_figure, d.period_note, d.period_colour, d.whole)


class KpiCard(QWidget):
    """One indicator, painted in one pass (no child widgets: cheap to update on every selection)."""

    clicked = Signal(str)

    def __init__(self, lang: str, parent=None):
        super().__init__(parent)
        self.lang = lang
        self.data: CardData | None = None
        self.selected = False
        self.scale = 1.0
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        # Opaque (its corners carry the panel's ground): the panel need not repaint beneath.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 90)

    # -- visible state (also what tests read) ----------------------------------------------------
    @property
    def indicator_code(self) -> str | None:
        return self.data.indicator.code if self.data else None

    def value_text(self) -> str:
        if self.data is None:
            return ""
        number, unit = fmt.value_parts(self.data.value, self.data.indicator, self.lang)
        return number if number == "—" else f"{number} {unit}".replace(" %", "%")

    def change_texts(self) -> tuple[str, str]:
        d = self.data
        if d is None:
            return "", ""
        return (fmt.format_change(d.value, d.prev_value, d.indicator, self.lang),
                fmt.format_change(d.value, d.yoy_value, d.indicator, self.lang))

    def set_data(self, data: CardData, selected: bool) -> None:
        # The same picture (a county's figure shown for each of its townships): no repaint.
        # (Size, scale and language are the card's own: only the figures can differ.)
        same = self.data is not None and selected == self.selected \
            and _figures(data) == _figures(self.data)
        self.data = data
        self.selected = selected
        if not same:
            self.update()

    def toolTip(self) -> str:   # noqa: N802 — Qt's name
        # Written when asked for, not on every selection (six cards' rich text per click).
        return self._tooltip() if self.data is not None else ""

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            tip = self.toolTip()
            if tip:
                QToolTip.showText(event.globalPos(), tip, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.selected = selected
            self.update()

    def _tooltip(self) -> str:
        t = _TEXT[self.lang]
        d = self.data
        ind = d.indicator
        rows = [
            (t["unit"], i18n.unit(ind.unit, self.lang) or "—"),
            (t["dept"], d.department or ind.department),
            (t["def"], ind.definition_in(self.lang)),
            (t["freq_label"], t["freq"][ind.frequency]),
            (t["period"], fmt.period_label(d.period, ind.frequency, self.lang)),
        ]
        if d.late_note:
            rows.append(("", d.late_note))
        if d.provenance:
            rows.append((t["source"], d.provenance))
        if ind.target_value is not None:
            rows.append((t["target"], f"{fmt.format_value(ind.target_value, ind, self.lang)}"
                                      f"（{ind.target_year}）" if self.lang != "en" else
                                      f"{fmt.format_value(ind.target_value, ind, self.lang)} ({ind.target_year})"))
        if ind.sensitivity == "internal":
            rows.append(("", t["sensitive"]))
        body = "".join(f"<tr><td style='color:{theme.TEXT_DIM}'>{k}</td><td>{v}</td></tr>"
                       for k, v in rows)
        name = ind.name_en if self.lang == "en" and ind.name_en else ind.name
        return f"<b>{name}</b><table cellspacing=4>{body}</table>"

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.data is not None:
            self.clicked.emit(self.data.indicator.code)

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.drawPixmap(0, 0, self._rendered(self.data, self.selected))
        p.end()

    def _key(self, data: CardData | None, selected: bool) -> tuple:
        return (_figures(data), selected, self.width(), self.height(), self.devicePixelRatioF(),
                self.scale, self.lang, theme.text_floor())

    def _rendered(self, data: CardData | None, selected: bool) -> QPixmap:
        """The card as a pixmap, painted once per figures, state and size: a township's cards
        come back as copies, and the read-ahead (`render_ahead`) paints them while idle.

        A new place's card starts from its frame (`_frame`: ground, name, period, the change
        labels), which is the same for every place, and draws only the place's own figures."""
        def draw() -> QPixmap:
            ratio = self.devicePixelRatioF()
            pixmap = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            p = QPainter(pixmap)
            room = None if data is None else self._name_room(data, self._layout())
            p.drawPixmap(0, 0, self._frame(data, selected, room))
            if data is not None:
                if room is not None:
                    self._paint_note(p, data)
                self._paint_figures(p, data, selected)
            p.end()
            return pixmap
        return _rendered.get(self._key(data, selected), draw)

    def render_ahead(self, data: CardData, selected: bool) -> None:
        """Paint the card for figures it may show next (see prewarm.py)."""
        if self.isVisible() and self.width() > 0:
            self._rendered(data, selected)

    def _layout(self) -> _CardLayout:
        """Where each row goes and in which type, worked out once per size, scale and
        language."""
        key = (self.width(), self.height(), self.scale, self.lang, theme.text_floor())
        found = _layouts.get(key)
        if found is None:
            if len(_layouts) > 16:
                _layouts.clear()
            found = _layouts[key] = _CardLayout(QRectF(self.rect()), self.scale, self.lang)
        return found

    def _frame(self, d: CardData | None, selected: bool, room: int | None) -> QPixmap:
        """The chrome and what a card shows of its indicator whatever the place and month: the
        name (and the county tag) in `room` (_name_room), the change labels. Text is most of a
        card's cost, so a new place's or month's card paints only its figures over a copy of
        this (and the period, _paint_note)."""
        if d is None:
            return self._chrome(selected)
        ratio = self.devicePixelRatioF()
        # (the county's name only where the tag shows it: a province's counties share frames)
        key = (d.indicator.code, d.county_figure and d.whole, room, selected, self.width(),
               self.height(), ratio, self.scale, self.lang, theme.text_floor())
        frame = _frames.get(key)
        if frame is not None:
            _frames.move_to_end(key)
            return frame
        frame = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
        frame.setDevicePixelRatio(ratio)
        p = QPainter(frame)
        p.drawPixmap(0, 0, self._chrome(selected))
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_name(p, d, self._layout(), room)
        p.end()
        _frames[key] = frame
        while len(_frames) > FRAMES:
            _frames.popitem(last=False)
        return frame

    def _name_room(self, d: CardData, lay: _CardLayout) -> int | None:
        """How wide the name may be beside the period on its right; None when the period is
        not shown (none, or it would leave the name less than five characters)."""
        if not d.period_note:
            return None
        room = lay.width - QFontMetrics(lay.note_font).horizontalAdvance(d.period_note) \
            - 8 * self.scale
        fits = QFontMetrics(lay.name_font).horizontalAdvance(d.indicator.name[:5]) <= room
        return int(max(0, room)) if fits else None

    def _paint_note(self, p: QPainter, d: CardData) -> None:
        """The period on the name's right, coloured when it is late."""
        lay = self._layout()
        p.setFont(lay.note_font)
        p.setPen(theme.color(d.period_colour or theme.TEXT_DIM))
        p.drawText(lay.boxes["name"], _RIGHT, d.period_note)

    def _paint_name(self, p: QPainter, d: CardData, lay: _CardLayout, room: int | None) -> None:
        t, w = _TEXT[self.lang], lay.width
        box = lay.boxes["name"]
        # name (and a tag when the figure is the county's), left of the period (_paint_note)
        p.setFont(lay.name_font)
        name_w = w if room is None else room
        p.setPen(theme.color(theme.TEXT_DIM))
        name = d.indicator.name_en if self.lang == "en" and d.indicator.name_en else d.indicator.name
        tag = f" [{t['county_only_at'].format(whole=d.whole)}]" if d.county_figure else ""
        p.drawText(box, _LEFT, p.fontMetrics().elidedText(
            name + tag, Qt.TextElideMode.ElideRight, int(max(0, name_w))))
        p.setFont(lay.change_font)
        for key in ("mom", "yoy"):
            p.drawText(lay.boxes[key], _LEFT, t[key])

    def _paint_figures(self, p: QPainter, d: CardData, selected: bool) -> None:
        """The place's own figures, over its frame: value and unit, the changes, the
        sparkline, the progress towards the target."""
        t, s = _TEXT[self.lang], self.scale
        lay = self._layout()
        w = lay.width
        p.setRenderHint(QPainter.RenderHint.Antialiasing)

        # the big value with its unit
        number, unit = fmt.value_parts(d.value, d.indicator, self.lang)
        box = lay.boxes["value"]
        p.setFont(lay.value_font)
        if d.value is None:
            p.setPen(theme.color(theme.TEXT_DIM))
            p.drawText(QPointF(box.left(), lay.baseline), t["no_data"])
        else:
            p.setPen(theme.color(theme.TEXT))
            p.drawText(QPointF(box.left(), lay.baseline), number)
            x = box.left() + lay.value_metrics.horizontalAdvance(number) + 4 * s
            p.setFont(lay.unit_font)
            p.setPen(theme.color(theme.TEXT_DIM))
            p.drawText(QPointF(x, lay.baseline), unit)

        # month-on-month and year-on-year (labelled in the frame), arrows coloured by polarity
        p.setFont(lay.change_font)
        for key, previous in (("mom", d.prev_value), ("yoy", d.yoy_value)):
            delta = fmt.change(d.value, previous, d.indicator)
            if fmt.is_missing(d.value) or fmt.is_missing(previous):
                shown = "—"
            elif d.value == previous or (delta is not None and abs(delta) < 0.05):
                shown = t["flat"]
            else:
                arrow = "▲" if d.value > previous else "▼"
                shown = arrow + fmt.format_change(d.value, previous, d.indicator,
                                                  self.lang).lstrip("+−±")
            p.setPen(theme.color(_verdict_color(fmt.trend_verdict(d.value, previous,
                                                                   d.indicator))))
            p.drawText(lay.change_boxes[key], _LEFT, shown)

        self._paint_sparkline(p, lay.spark, d.sparkline, self._ground(selected))

        # progress towards the target
        progress = fmt.target_progress(d.value, d.indicator)
        box = lay.boxes["target"]
        if progress is not None:
            p.setFont(lay.target_font)
            label = (f"{t['target']} {fmt.format_value(d.indicator.target_value, d.indicator, self.lang)}"
                     f" · {min(progress, 9.99) * 100:.0f}%")
            label_w = lay.target_metrics.horizontalAdvance(label)
            bar_h = max(3.0, min(6 * s, box.height() * 0.35))
            bar = QRectF(box.left(), box.center().y() - bar_h / 2,
                         max(20.0, w - label_w - 8 * s), bar_h)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.color(theme.GRID))
            p.drawRoundedRect(bar, bar_h / 2, bar_h / 2)
            done = QRectF(bar.left(), bar.top(), bar.width() * min(progress, 1.0), bar_h)
            p.setBrush(theme.color(theme.GOOD if progress >= 1 else theme.ACCENT))
            p.drawRoundedRect(done, bar_h / 2, bar_h / 2)
            p.setPen(theme.color(theme.TEXT_DIM))
            p.drawText(QRectF(bar.right() + 6 * s, box.top(), w, box.height()), _LEFT,
                       lay.target_metrics.elidedText(label, Qt.TextElideMode.ElideRight,
                                                     int(box.right() - bar.right() - 6 * s)))

    def _chrome(self, selected: bool) -> QPixmap:
        """The card's rounded ground and edge, drawn once per size and state: an antialiased
        fill of the whole card cost more than all of its text."""
        ratio = self.devicePixelRatioF()
        key = (self.width(), self.height(), ratio, selected)
        chrome = _chrome_cache.get(key)
        if chrome is None:
            if len(_chrome_cache) > 16:
                _chrome_cache.clear()
            chrome = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
            chrome.setDevicePixelRatio(ratio)
            chrome.fill(theme.color(theme.PANEL))   # the panel's own ground in the corners
            p = QPainter(chrome)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            edge = theme.ACCENT if selected else theme.PANEL_EDGE
            p.setPen(QPen(theme.color(edge), 2 if selected else 1))
            p.setBrush(theme.color(self._ground(selected)))
            p.drawRoundedRect(QRectF(self.rect()).adjusted(1, 1, -1, -1), 4, 4)
            p.end()
            chrome = _chrome_cache[key] = chrome
        return chrome

    @staticmethod
    def _ground(selected: bool) -> str:
        return "#0f2340" if selected else "#0c1d36"

    def _paint_sparkline(self, p: QPainter, rect: QRectF, values: np.ndarray,
                         ground: str) -> None:
        values = np.asarray(values, float)
        finite = np.isfinite(values)
        if np.count_nonzero(finite) < 2 or rect.width() < 20:
            return
        lo, hi = float(values[finite].min()), float(values[finite].max())
        span = hi - lo or 1.0
        n = len(values)
        xs = rect.left() + rect.width() * np.arange(n) / (n - 1)
        ys = rect.bottom() - rect.height() * (values - lo) / span
        colour = _spark_colour(ground)
        # runs of finite values (gaps stay gaps), each drawn as one line
        for start, end in qtarrays.finite_runs(finite):
            if end - start > 1:
                # (into the polygon's memory at once: a QPointF per point cost 0.1 ms a card)
                theme.draw_line(p, qtarrays.polygon(xs[start:end], ys[start:end]), colour,
                                max(1.2, 1.6 * self.scale))
        if finite[-1]:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.color(theme.HIGHLIGHT))
            r = 2.5 * self.scale
            p.drawEllipse(QPointF(rect.right(), float(ys[-1])), r, r)


@lru_cache(maxsize=4)
def _spark_colour(ground: str) -> QColor:
    return theme.blend(theme.ACCENT, 200, ground)


class KpiPanel(Panel):
    SPARK_PERIODS = 24
    fields = frozenset({"domain", "region", "period", "indicator"})
    TEXT = _TEXT

    def __init__(self, ctx: CockpitContext, parent=None):
        super().__init__(ctx, parent)
        self.setObjectName("panel")
        self._title = TitleLabel()
        self._grid = QGridLayout()
        self._grid.setSpacing(8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addWidget(self._title)
        layout.addLayout(self._grid, 1)
        self._cards: list[KpiCard] = []
        self._pool: list[KpiCard] = []
        self._made: dict = {}                  # see _card_data
        self._made_lock = threading.Lock()     # filled by the GUI and by the query worker
        self.sync()

    # -- public state ------------------------------------------------------------------------------
    @property
    def cards(self) -> list[KpiCard]:
        self.catch_up()   # read while hidden: what it will show
        return list(self._cards)

    def title_text(self) -> str:
        self.catch_up()
        return self._title.text()

    def card_for(self, code: str) -> KpiCard | None:
        return next((c for c in self.cards if c.indicator_code == code), None)

    def apply_scale(self) -> None:
        for card in self._pool:
            card.scale = self.scale
            card.update()

    # -- reacting to the selection -------------------------------------------------------------------
    def on_selection(self, changed: frozenset, state) -> None:
        if "domain" in changed:
            self._rebuild_cards()
        if changed & {"domain", "region", "period"}:
            self._refresh()
        elif "indicator" in changed:
            for card in self._cards:
                card.set_selected(card.indicator_code == state.indicator)

    def on_reload(self) -> None:
        with self._made_lock:
            self._made.clear()
        self._rebuild_cards()
        self._refresh()

    def _rebuild_cards(self) -> None:
        """Show one card per headline indicator of the domain; cards are reused, never rebuilt."""
        indicators = self.ctx.domain_indicators(self.ctx.state.domain)
        columns = 2
        while len(self._pool) < len(indicators):
            k = len(self._pool)
            card = KpiCard(self.ctx.lang, self)
            card.scale = self.scale
            card.clicked.connect(self._on_card_clicked)
            self._grid.addWidget(card, k // columns, k % columns)
            self._pool.append(card)
        for k, card in enumerate(self._pool):
            card.setVisible(k < len(indicators))
        self._cards = self._pool[:len(indicators)]
        self._indicators = indicators

    def _on_card_clicked(self, code: str) -> None:
        self.ctx.select(indicator=code)

    def _fetch(self, region: str, period: date) -> tuple[dict, dict, list[str]]:
        """The cards' figures for a region in a month: values, sparklines, and which are the
        county's."""
        ctx = self.ctx
        q = ctx.queries
        codes = [i.code for i in self._indicators]
        values = q.kpis(region, codes, period)
        sparks = q.series_many(region, codes, period, self.SPARK_PERIODS)
        # A township shows its county's figure of a county-only indicator.
        county = ctx.hierarchy.view_of(region)
        county_codes = [i.code for i in self._indicators if i.county_only and region != county]
        if county_codes:
            values.update(q.kpis(county, county_codes, period))
            sparks.update(q.series_many(county, county_codes, period, self.SPARK_PERIODS))
        return values, sparks, county_codes

    def warm(self, region: str) -> None:
        """Fetch what selecting `region` would show, and paint its cards (see prewarm.py).
        The query worker of large warehouses calls this too: off the GUI thread it only fetches,
        since pixmaps are painted on the GUI thread alone."""
        cards = self._card_data(region)
        if QThread.currentThread() is self.thread():
            self._render_ahead(cards)

    def warm_month(self, month: date) -> None:
        """Paint the selected place's cards for `month` ahead (the months either side of the
        one shown: playback's next, a step back), while the cockpit is idle (see prewarm.py):
        a month step then copies them (six cards drawn afresh: ~9 ms of a county's ~28)."""
        if self.isVisible():
            self._render_ahead(self._card_data(self.ctx.state.region, month))

    def _render_ahead(self, cards: list[tuple[CardData, bool]]) -> None:
        for card, (data, selected) in zip(self._cards, cards):
            card.render_ahead(data, selected)

    def _card_data(self, region: str, period: date | None = None
                   ) -> list[tuple[CardData, bool]]:
        """The cards' contents for `region` under the current indicator and domain in
        `period` (the month shown by default), made once: the read-ahead (warm) makes them for
        every township after an indicator or period change, so a township selection only hands
        them to the cards."""
        ctx, state = self.ctx, self.ctx.state
        period = period or state.period
        key = (region, period, state.indicator, tuple(i.code for i in self._indicators),
               ctx.lang, ctx.today(), id(ctx.queries))
        with self._made_lock:
            found = self._made.get(key)
        if found is None:
            found = self._make_card_data(region, period)
            with self._made_lock:
                if len(self._made) >= 256:
                    self._made.clear()
                self._made[key] = found
        return found

    def _make_card_data(self, region: str, period: date) -> list[tuple[CardData, bool]]:
        ctx, state = self.ctx, self.ctx.state
        values, sparks, county_codes = self._fetch(region, period)
        county = ctx.hierarchy.view_of(region)
        whole = ctx.whole_word(county)
        out = []
        for ind in self._indicators:
            v = values[ind.code]
            word, colour, tip = lateness(ctx, v.period, ind.frequency)
            source = county if ind.code in county_codes else region
            out.append((CardData(ind, v.value, v.prev_value, v.yoy_value, v.period,
                                 sparks[ind.code].values, ind.code in county_codes,
                                 fmt.period_label(v.period, ind.frequency, ctx.lang)
                                 if v.period else "", colour,
                                 f"<span style='color:{colour}'>{word}</span>"
                                 f"{': ' if ctx.lang == 'en' else '：'}{tip}"
                                 if colour else "",
                                 ctx.provenance_note(source, ind.code, v.period), whole,
                                 ctx.queries.department(ind.department, ctx.lang)),
                        ind.code == state.indicator))
        return out

    def _refresh(self) -> None:
        ctx, state = self.ctx, self.ctx.state
        for card, (data, selected) in zip(self._cards, self._card_data(state.region)):
            card.set_data(data, selected)
        self._title.setText(f"{self.t['title']} · {ctx.region_name()} · "
                            f"{ctx.domain_name(state.domain)}")
