"""Recent events (基层治理四平台 / 12345 / 安全生产) of the selected township in the selected month.

The county shows every township's events; clicking an event of another township selects that
township, so the list is also a way into the map's selection.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QCursor, QFontMetrics, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QBoxLayout, QHeaderView, QTableView,
                               QVBoxLayout, QWidget)

from ..core import i18n
from ..core.formatting import month_label
from . import theme
from .context import CockpitContext
from .panel import (CountsLabel, Panel, Pictures, TitleLabel, fit_whole_rows,
                    opaque_viewport, whole_row_height)

ROW_LIMIT = 200
FALLBACK_DAYS = 30

COLUMNS = ("time", "region", "source", "category", "summary", "status")
TIME, REGION, SOURCE, CATEGORY, SUMMARY, STATUS = range(len(COLUMNS))

OVERDUE, OPEN, CLOSED = "已超期", "处置中", "已办结"
STATUS_COLORS = {OVERDUE: theme.BAD, OPEN: theme.ACCENT_2, CLOSED: theme.TEXT_DIM}
_RULE = QColor(theme.GRID)

_TEXT = {
    "zh_CN": {
        "title": "事件动态",
        "headers": ("时间", "乡镇（街道）", "来源", "类别", "事件摘要", "状态"),
        "status": {OVERDUE: "已超期", OPEN: "处置中", CLOSED: "已办结"},
        "count_label": {OVERDUE: "超期", OPEN: "处置中", CLOSED: "已办结"},
        "empty": "本期无事件记录",
        "fallback": "本月无事件，显示截至{day}的近{n}天",
        "fallback_empty": "本月及截至{day}的近{n}天均无事件",
        "limited": "共 {total} 件，显示最近 {shown} 件",
        "reported": "上报", "deadline": "时限", "closed": "办结", "not_closed": "未办结",
        "id": "编号", "colon": "：", "gap": "　", "notes_sep": "　",
    },
    "en": {
        "title": "Events",
        "headers": ("Time", "Township", "Source", "Category", "Summary", "Status"),
        "status": {OVERDUE: "Overdue", OPEN: "Open", CLOSED: "Closed"},
        "count_label": {OVERDUE: "overdue", OPEN: "open", CLOSED: "closed"},
        "empty": "No events in this period",
        "fallback": "No events this month: {n} days up to {day}",
        "fallback_empty": "No events this month, nor in the {n} days up to {day}",
        "limited": "{total} events, latest {shown} shown",
        "reported": "Reported", "deadline": "Deadline", "closed": "Closed",
        "not_closed": "not closed", "id": "ID", "colon": ": ", "gap": "&nbsp;&nbsp;&nbsp;",
        "notes_sep": "  ",
        "as_filed": "Report as filed",
    },
}


def _text(lang: str) -> dict:
    return _TEXT["en" if lang == "en" else "zh_CN"]


def summary_text(texts: tuple[str, ...], category_shown: bool, lang: str) -> str:
    """The summary column as shown. A report's words are its own (Chinese, as filed): English
    rows say first what kind of report it is, unless the category column beside says it."""
    if lang != "en" or category_shown:
        return texts[SUMMARY]
    return f"{texts[CATEGORY]} — {texts[SUMMARY]}"


def next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def format_time(t: datetime | None, lang: str = "zh_CN") -> str:
    """12月28日 14:05 (the year is in the panel's title)."""
    if t is None:
        return "—"
    if lang == "en":
        return t.strftime("%b %d %H:%M")
    # (not t:%H:%M: strftime imports the time module on every call, which goes through
    # PySide's import hook, ~0.1 ms a row on each selection)
    return f"{t.month}月{t.day}日 {t.hour:02d}:{t.minute:02d}"


def format_day(d: date, lang: str = "zh_CN") -> str:
    return d.strftime("%b %d") if lang == "en" else f"{d.month}月{d.day}日"


def event_window(queries, region: str | None,
                 month: date) -> tuple[date, date, bool, dict[str, int]]:
    """(start, end, fell_back, counts by status): the selected month, or — when it has no
    events — the 30 days up to the latest event reported before the month's end, so a quiet
    township still shows what happened last rather than an empty list."""
    start, end = month, next_month(month)
    counts = queries.event_counts(region, start, end)
    if counts:
        return start, end, False, counts
    latest = queries.events(region, None, end, limit=1)
    if latest:
        end = latest[0]["reported_at"].date() + timedelta(days=1)
    start = end - timedelta(days=FALLBACK_DAYS)
    return start, end, True, (queries.event_counts(region, start, end) if latest else {})


class _EventsModel(QAbstractTableModel):
    """Read-only rows of event records and their tooltips (the view paints their colours)."""

    def __init__(self, lang: str, place_name, parent=None):
        super().__init__(parent)
        self.lang = lang
        self.place_name = place_name     # region code → its name in the UI's language
        self.category_shown = True       # whether the view shows the category column
        self.text = _text(lang)
        self.events: list[dict] = []
        self._cells: list[tuple[str, ...]] = []
        self._tips: list[str] = []
        self._made: dict[str, tuple[str, ...]] = {}   # event id -> its row's texts

    def forget(self) -> None:
        """A new snapshot: its events may read differently."""
        self._made.clear()

    def set_events(self, events: list[dict]) -> bool:
        """Show `events`; True when the number of rows changed (the view must lay them out).

        Rows are changed in place, and only added or removed at the end: a model reset made
        the view rebuild its headers and lay every row out again (~1 ms per selection)."""
        old, new = len(self.events), len(events)
        # Each event's texts are made once per snapshot: a township's list comes back.
        cells = [self.row_texts(e) for e in events]
        if new < old:
            self.beginRemoveRows(QModelIndex(), new, old - 1)
        elif new > old:
            self.beginInsertRows(QModelIndex(), old, new - 1)
        self.events = events
        self._cells = cells
        self._tips = [None] * new  # built lazily: most rows are never hovered
        if new < old:
            self.endRemoveRows()
        elif new > old:
            self.endInsertRows()
        if min(old, new):
            self.dataChanged.emit(self.index(0, 0), self.index(min(old, new) - 1,
                                                               len(COLUMNS) - 1))
        return new != old

    def row_texts(self, e: dict) -> tuple[str, ...]:
        """An event's row texts, made once per snapshot."""
        found = self._made.get(e["id"])
        if found is None:
            if len(self._made) > 4096:
                self._made.clear()
            found = self._made[e["id"]] = self._row_texts(e)
        return found

    def _row_texts(self, e: dict) -> tuple[str, ...]:
        t = self.text
        # Reports start with their township's name; the township has its own column (or is
        # the panel's title), and the full text stays in the tooltip.
        summary, name = e["summary"], e["region_name"]
        if summary.startswith(name) and len(summary) > len(name):
            summary = summary[len(name):]
        if self.lang == "en":
            name = self.place_name(e["region"])
        return (format_time(e["reported_at"], self.lang), name,
                i18n.event_source(e["source"], self.lang),
                i18n.event_category(e["category"], self.lang), summary,
                t["status"].get(e["status"], e["status"]))

    def texts(self, row: int) -> tuple[str, ...]:
        return self._cells[row]

    def tooltip(self, row: int) -> str:
        if self._tips[row] is None:
            e, t, cells = self.events[row], self.text, self._cells[row]
            closed = (format_time(e["closed_at"], self.lang) if e["closed_at"]
                      else t["not_closed"])
            status = t["status"].get(e["status"], e["status"])
            color = STATUS_COLORS.get(e["status"], theme.TEXT)
            colon, gap = t["colon"], t["gap"]
            if self.lang == "en":   # the report's words under a line that says what it is
                head = f"<b>{cells[CATEGORY]}</b><br>{cells[REGION]} · {cells[SOURCE]}"
                report = f"<br>{t['as_filed']}{colon}{e['summary']}"
            else:
                head = (f"<b>{e['summary']}</b><br>"
                        f"{e['region_name']} · {cells[SOURCE]} · {e['category']}")
                report = ""
            self._tips[row] = (
                f"{head}<br>"
                f"{t['reported']}{colon}{format_time(e['reported_at'], self.lang)}{gap}"
                f"{t['deadline']}{colon}{format_time(e['deadline_at'], self.lang)}{gap}"
                f"{t['closed']}{colon}{closed}{report}<br>"
                f"<span style='color:{color}'>{status}</span>{gap}"
                f"<span style='color:{theme.TEXT_DIM}'>{t['id']} {e['id']}</span>")
        return self._tips[row]

    # -- Qt model interface ------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.events)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return self.text["headers"][section]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                align = (Qt.AlignmentFlag.AlignCenter if section == STATUS
                         else Qt.AlignmentFlag.AlignLeft)
                return align | Qt.AlignmentFlag.AlignVCenter
        return None

    def flags(self, index):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == SUMMARY:
                return summary_text(self._cells[row], self.category_shown, self.lang)
            return self._cells[row][col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row)
        if role == Qt.ItemDataRole.UserRole:
            return self.events[row]["region"]
        return None


_pills: dict[tuple, QImage] = {}


def _pill(colour: str, rect: QRectF, ratio: float) -> QImage:
    """The outline and tint of a status pill, drawn once per colour, size and sub-pixel offset.

    An antialiased translucent rounded rectangle is slow to rasterise (~0.8 ms each, most of it
    waiting on Qt's raster worker threads) and the events table repaints every pill on each
    selection; the same pixels blitted from a pixmap cost a few microseconds."""
    key = (colour, rect.x(), rect.y(), rect.width(), rect.height(), ratio)
    pixmap = _pills.get(key)
    if pixmap is None:
        if len(_pills) > 256:   # a resized window leaves sizes nobody draws again
            _pills.clear()
        pixmap = QImage(math.ceil((rect.right() + 1) * ratio),
                        math.ceil((rect.bottom() + 1) * ratio),
                        QImage.Format.Format_ARGB32_Premultiplied)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(theme.color(colour, 38))
        p.setPen(QPen(theme.color(colour, 170), 1))
        p.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        p.end()
        _pills[key] = pixmap
    return pixmap


_SELECTED, _HOVER = QColor("#0f4766"), QColor("#10284a")   # theme.qss's item states
_WHITE, _PANEL = QColor("#ffffff"), QColor(theme.PANEL)


class _EventsTable(QTableView):
    """The events list, each row painted as one cached picture.

    QTableView paints cell by cell: for each, the style sheet's item panel and a delegate asking
    the (Python) model for its text, colour and alignment, ~4 ms for a screen of rows on every
    selection. A row's picture (its ground, ledger rule, texts and status pill, at the columns'
    widths) is drawn once and blitted after; a township's rows come back as the wall or a
    leader goes round the townships."""

    def __init__(self, model: _EventsModel, parent: QWidget):
        super().__init__(parent)
        self.setModel(model)
        self.pictures = Pictures(12 << 20)   # every township's rows at a desk, a few on a wall

    def paintEvent(self, event) -> None:
        model: _EventsModel = self.model()
        rows = model.rowCount()
        height = self.verticalHeader().defaultSectionSize()
        if not rows or height <= 0:
            return   # the viewport's ground is painted by opaque_viewport's filter
        clip = event.rect()
        offset = self.verticalOffset()
        first = max(0, (clip.top() + offset) // height)
        last = min(rows - 1, (clip.bottom() + offset) // height)
        if offset == 0:
            # Under the last whole row, the rows' rounding leaves less than a quarter of a row
            # (fit_whole_rows): left as ground, not the sliver of a row's top (on a wall, 6 px
            # of the next row's pill read as a cut row).
            last = min(last, max(0, self.viewport().height() // height - 1))
        if first > last:
            return
        layout = self._row_layout()
        hover = -1
        if self.viewport().underMouse():
            hover = self.rowAt(self.viewport().mapFromGlobal(QCursor.pos()).y())
        selection = self.selectionModel()
        p = QPainter(self.viewport())
        for row in range(first, last + 1):
            state = (2 if selection.isRowSelected(row, QModelIndex())
                     else 1 if row == hover else 0)
            picture = self._picture(model.texts(row), model.events[row]["status"], state,
                                    layout)
            p.drawPixmap(0, row * height - offset, picture)
        p.end()

    def draw_ahead(self, rows: list[tuple[tuple[str, ...], str]],
                   columns: tuple | None = None, height: int | None = None) -> None:
        """Draw, while the cockpit is idle, the pictures of the rows (texts, status) a
        selection would show first, as they would look in `columns` ((column, x, width) of
        each shown) and a viewport `height` high (default: as shown now)."""
        layout = self._row_layout()
        height = self.viewport().height() if height is None else height
        if columns is not None:
            layout = (columns, layout[1], whole_row_height(self, height)) + layout[3:]
        fit = -(-height // max(1, layout[2]))
        for texts, status in rows[:fit]:
            self._picture(texts, status, 0, layout)

    def _row_layout(self) -> tuple:
        """(columns shown as (column, x, width), row width, height, pixel ratio, font)."""
        columns = tuple((c, self.columnViewportPosition(c), self.columnWidth(c))
                        for c in range(len(COLUMNS)) if not self.isColumnHidden(c))
        return (columns, self.viewport().width(), self.verticalHeader().defaultSectionSize(),
                self.devicePixelRatioF(), self.font())

    def _picture(self, texts: tuple[str, ...], status: str, state: int, layout) -> QPixmap:
        columns, width, height, ratio, font = layout
        key = (texts, status, state, columns, width, height, ratio, font.key())
        return self.pictures.get(key, lambda: self._draw_row(self._shown(texts, columns), status,
                                                             state, *layout))

    def _shown(self, texts: tuple[str, ...], columns) -> tuple[str, ...]:
        """A row's texts as drawn: in English, the summary led by its category when the
        category's own column is not shown (worked out only for a row not drawn before)."""
        shown = summary_text(texts, any(col == CATEGORY for col, _, _ in columns),
                             self.model().lang)
        return texts[:SUMMARY] + (shown,) + texts[SUMMARY + 1:]

    def _draw_row(self, texts, status, state, columns, width, height, ratio, font) -> QPixmap:
        picture = QPixmap(round(width * ratio), round(height * ratio))
        picture.setDevicePixelRatio(ratio)
        picture.fill(_SELECTED if state == 2 else _HOVER if state == 1 else _PANEL)
        p = QPainter(picture)
        p.fillRect(QRect(0, height - 1, width, 1), _RULE)
        p.setFont(font)
        fm = QFontMetrics(font)
        dim, plain = theme.color(theme.TEXT_DIM), theme.color(theme.TEXT)
        for col, x, w in columns:
            rect = QRect(x, 0, w, height)
            if col == STATUS:
                _draw_pill(p, fm, rect, texts[col],
                           theme.color(STATUS_COLORS.get(status, theme.TEXT)), ratio)
                continue
            p.setPen(_WHITE if state == 2 else dim if col in (TIME, SOURCE, CATEGORY)
                     else plain)
            inner = rect.adjusted(6, 0, -6, -1)
            p.drawText(inner, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(texts[col], Qt.TextElideMode.ElideRight, inner.width()))
        p.end()
        return picture


def _draw_pill(painter: QPainter, fm: QFontMetrics, cell: QRect, text: str, color: QColor,
               ratio: float) -> None:
    """The status as an outlined pill, so 已超期 reads at a glance from across the room."""
    w = min(fm.horizontalAdvance(text) + 16, cell.width() - 6)
    h = min(fm.height() + 4, cell.height() - 6)
    pill = QRectF(cell.center().x() - w / 2 + 0.5, cell.center().y() - h / 2 + 0.5, w, h)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)   # the text's placement
    # a pixel of margin: the outline's antialiasing reaches half a pixel outside the pill
    left, top = math.floor(pill.left()) - 1, math.floor(pill.top()) - 1
    painter.drawImage(left, top, _pill(color.name(), pill.translated(-left, -top), ratio))
    painter.setPen(color)
    painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


# The table sits flush in its panel: no frame or fill of its own, rows ruled like a ledger.
# Everything else (fonts, header, selection, scroll bars) comes from assets/theme.qss.
_TABLE_STYLE = """
QTableView#eventsTable { background: transparent; border: none; }
QTableView#eventsTable QHeaderView::section { border-right: none; padding: 4px 6px; }
QTableView#eventsTable QScrollBar:vertical:disabled { background: transparent; }
QTableView#eventsTable QScrollBar::handle:vertical:disabled { background: transparent; }
"""


class EventsPanel(Panel):
    """Events of `ctx.state.region` (every township for the county) in the selected month."""

    fields = frozenset({"region", "period"})
    TEXT = _TEXT

    def __init__(self, ctx: CockpitContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.setObjectName("panel")
        self.text = self.t
        self._region_filter: str | None = None
        self._fitted_for_county: bool | None = None   # what the columns were last fitted for
        self.period_window: tuple[date, date] | None = None
        self.fell_back = False
        self.counts: dict[str, int] = {}
        self._title_plain = ""
        self._counts_plain = ""

        self.title = TitleLabel(parent=self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        # flush with the panel's right edge: no room kept beside it, the title needs it
        self.counts_label = CountsLabel("eventCounts", self, pad=0)
        self.counts_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # theme.qss: secondary text, scaled with the window. A title's label: a month's new
        # note ("共 215 件，显示最近 200 件") does not lay the window out again; cut short
        # where the panel is narrow, it says itself whole on hover.
        self.note = TitleLabel(parent=self, object_name="dim")
        self.note.hide()

        self.model = _EventsModel(ctx.lang, ctx.region_name, self)
        self.view = _EventsTable(self.model, self)
        self.view.setObjectName("eventsTable")
        self.view.setStyleSheet(_TABLE_STYLE)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        opaque_viewport(self.view)
        opaque_viewport(self.view.horizontalHeader())
        self.view.setMouseTracking(True)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # The scroll bar's room is always kept (empty while nothing scrolls): a bar coming and
        # going with a township's number of events resized the rows' viewport and refitted
        # every column on half the selections.
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        bar = self.view.verticalScrollBar()
        bar.rangeChanged.connect(lambda low, high: bar.setEnabled(high > low))
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.verticalHeader().hide()
        header = self.view.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsClickable(False)
        header.setMinimumSectionSize(24)
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(SUMMARY, QHeaderView.ResizeMode.Stretch)
        self.view.clicked.connect(self._on_row_clicked)

        top = self._top = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(12)
        top.addWidget(self.title, 1)
        top.addWidget(self.counts_label, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)

        self.view.installEventFilter(self)
        self.view.viewport().installEventFilter(self)
        self._apply_fonts()
        self.sync()

    # -- selection ---------------------------------------------------------------------------
    def on_selection(self, changed: frozenset, state) -> None:
        self.refresh()

    def on_reload(self) -> None:
        self.model.forget()
        super().on_reload()

    def _on_row_clicked(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        code = self.model.events[index.row()]["region"]
        if code != self.ctx.state.region:
            self.ctx.select(region=code)

    # -- data ----------------------------------------------------------------------------------
    def _fetch(self, region: str | None):
        q, period = self.ctx.queries, self.ctx.state.period
        start, end, fell_back, counts = event_window(q, region, period)
        return start, end, fell_back, counts, q.events(region, start, end, limit=ROW_LIMIT)

    def warm(self, region: str) -> None:
        """Fetch what selecting `region` would show (see prewarm.py)."""
        self._fetch(self.ctx.township_or_none(region))

    def warm_look(self, region: str) -> None:
        """Draw ahead the first rows selecting `region` shows (see prewarm.py): one township's
        list, from the county's (in the columns a township's list will have) or another's."""
        township = self.ctx.township_or_none(region)
        if not (self.isVisible() and self.up_to_date and township is not None
                and not self.ctx.hierarchy.has_children(township)):
            return
        _, _, fell_back, counts, events = self._fetch(township)
        title, _, counts_text, _ = self._titles(region, counts)
        self.title.prepare(title)
        self.counts_label.prepare(counts_text)
        columns = height = None   # as shown now
        if self._region_filter is None:
            total = sum(counts.values())
            if fell_back or not total or total > len(events):
                return   # a note above its list: another height, drawn when selected
            # the county's list has none, or a note the township's will not have
            columns, height = self._one_place_columns(), self.view.viewport().height()
            if self.note.isVisible():
                height += self.note.height() + self.layout().spacing()
        elif not self.view.isColumnHidden(REGION):
            return   # a county's list of a city: its place column shows
        self.view.draw_ahead([(self.model.row_texts(e), e["status"]) for e in events[:40]],
                             columns, height)

    def refresh(self) -> None:
        ctx = self.ctx
        state = ctx.state
        region = ctx.township_or_none(state.region)
        self._region_filter = region
        start, end, self.fell_back, self.counts, events = self._fetch(region)
        self.period_window = (start, end)
        resized = self.model.set_events(events)
        selection = self.view.selectionModel()
        if selection.hasSelection():   # (a reset cleared it: the rows are other events now)
            selection.clear()
        # One township's events need no place column; a county's (of a city) do.
        self.view.setColumnHidden(REGION, region is not None
                                  and not ctx.hierarchy.has_children(region))
        self.view.scrollToTop()
        # Column widths follow the font and whether the place column shows, not the township.
        if (region is None) != self._fitted_for_county:
            self._fitted_for_county = region is None
            self._fit_columns()
        # Lay the rows out now: left to Qt's deferred layout, the table would paint once
        # before it and once after (twice per selection).
        if resized:
            self.view.doItemsLayout()
        self._update_title(state)

    def _titles(self, region: str, counts: dict) -> tuple[str, str, str, str]:
        """The title and the counts beside it, each as shown (rich) and as plain text."""
        t, ctx = self.text, self.ctx
        name = ctx.region_name(region)
        month = month_label(ctx.state.period, ctx.lang)
        parts, plain = [], []
        for status in (OVERDUE, OPEN, CLOSED):
            n = counts.get(status, 0)
            label = f"{t['count_label'][status]} {n}"
            plain.append(label)
            color = STATUS_COLORS[status] if n else theme.TEXT_DIM
            weight = "font-weight:600;" if status == OVERDUE and n else ""
            parts.append(f"<span style='color:{color};{weight}'>{label}</span>")
        sep = f"<span style='color:{theme.PANEL_EDGE}'> · </span>"
        return (f"{t['title']} · <span style='color:{theme.HIGHLIGHT}'>{name}</span> · {month}",
                f"{t['title']} · {name} · {month}", sep.join(parts), " · ".join(plain))

    def _update_title(self, state) -> None:
        t, ctx = self.text, self.ctx
        title, self._title_plain, counts, self._counts_plain = self._titles(state.region,
                                                                             self.counts)
        self.title.setText(title)
        self.counts_label.setText(counts)

        notes = []
        total = sum(self.counts.values())
        if self.fell_back and self.period_window:
            # (nothing in the month, nor in the days before it: one sentence says both)
            last = self.period_window[1] - timedelta(days=1)
            notes.append(t["fallback" if total else "fallback_empty"].format(
                day=format_day(last, ctx.lang), n=FALLBACK_DAYS))
        elif total == 0:
            notes.append(t["empty"])
        if total > self.model.rowCount():
            notes.append(t["limited"].format(total=total, shown=self.model.rowCount()))
        self.note.setText(t["notes_sep"].join(notes))
        self.note.setVisible(bool(notes))
        self._fit_header()

    # -- layout --------------------------------------------------------------------------------
    def apply_scale(self) -> None:
        """Called by the window as it resizes; the table's own text follows theme.qss."""
        self._apply_fonts()
        self._fit_columns()
        self._fit_header()

    def _apply_fonts(self) -> None:
        # A legible floor: the window scales its text down to 0.62 on small screens.
        self.counts_label.setFont(theme.font(max(13, 14 * self.scale)))

    def _column_widths(self) -> dict[int, int]:
        # Measured with the view's current font: the style sheet's size lands only at polish.
        fm = self.view.fontMetrics()
        pad = 20

        def fit(*samples: str) -> int:
            return max(fm.horizontalAdvance(s) for s in samples) + pad

        headers = self.text["headers"]
        return {
            TIME: fit("12月28日 14:05", "Dec 28 14:05", headers[TIME]),
            REGION: fit("柳城畲族镇", "Liucheng She", headers[REGION]),
            SOURCE: fit("基层治理四平台", "12345 hotline", headers[SOURCE]),
            CATEGORY: fit("企业消防安全隐患", headers[CATEGORY],
                          *(i18n.EVENT_CATEGORY_EN.values() if self.ctx.lang == "en" else ())),
            STATUS: fit("已超期", "Overdue", headers[STATUS]) + 16,
            SUMMARY: fit("企业灭火器过期、疏散通道"),
        }

    def _fit_columns(self) -> None:
        """Size the columns to the font; narrow panels drop 来源 then 类别 (both stay in the
        row tooltip) so the summary, the column a reader needs, keeps a readable width."""
        widths, show_source, show_category = self._fitted(self._region_filter is not None)
        for col, width in widths.items():
            if col != SUMMARY:
                self.view.setColumnWidth(col, width)
        fit_whole_rows(self.view)
        self.view.setColumnHidden(SOURCE, not show_source)
        self.view.setColumnHidden(CATEGORY, not show_category)
        self.model.category_shown = show_category

    def _fitted(self, one_place: bool) -> tuple[dict[int, int], bool, bool]:
        """The columns' widths, whether 来源 and 类别 show, for one place's list (no place
        column) or a county's."""
        widths = self._column_widths()
        available = self.view.viewport().width()
        fixed = widths[TIME] + widths[STATUS] + widths[SUMMARY]
        if not one_place:
            fixed += widths[REGION]
        show_category = available >= fixed + widths[CATEGORY]
        show_source = available >= fixed + widths[CATEGORY] + widths[SOURCE]
        return widths, show_source, show_category

    def _one_place_columns(self) -> tuple:
        """(column, x, width) of each column one township's list shows, as _fit_columns and
        the header's stretched summary will lay them out: drawn ahead from the county's."""
        widths, show_source, show_category = self._fitted(True)
        shown = [c for c in range(len(COLUMNS)) if c != REGION
                 and (c != SOURCE or show_source) and (c != CATEGORY or show_category)]
        width = self.view.viewport().width()
        rest = width - sum(widths[c] for c in shown if c != SUMMARY)
        columns, x = [], 0
        for c in shown:
            w = max(self.view.horizontalHeader().minimumSectionSize(), rest) \
                if c == SUMMARY else widths[c]
            columns.append((c, x, w))
            x += w
        return tuple(columns)

    def _fit_header(self) -> None:
        # The counts go under the title when both do not fit on one line.
        needed = (self.title.text_width() + self.counts_label.needed_width()
                  + self._top.spacing() + 30)
        wide = self.width() >= needed
        direction = (QBoxLayout.Direction.LeftToRight if wide
                     else QBoxLayout.Direction.TopToBottom)
        if self._top.direction() != direction:
            self._top.setDirection(direction)
            self.counts_label.setAlignment(
                (Qt.AlignmentFlag.AlignRight if wide else Qt.AlignmentFlag.AlignLeft)
                | Qt.AlignmentFlag.AlignVCenter)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_header()

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if ((watched is self.view.viewport() and kind == QEvent.Type.Resize)
                or (watched is self.view and kind in (QEvent.Type.FontChange,
                                                      QEvent.Type.StyleChange))):
            self._fit_columns()
        return super().eventFilter(watched, event)

    # -- public state for tests and the window --------------------------------------------------
    def _flush(self) -> None:
        self.catch_up()   # a reader of a hidden panel gets what it would show

    @property
    def region_filter(self) -> str | None:
        """The township whose events are listed; None: every township (county selected)."""
        self._flush()
        return self._region_filter

    def row_count(self) -> int:
        self._flush()
        return self.model.rowCount()

    def row_regions(self) -> list[str]:
        self._flush()
        return [e["region"] for e in self.model.events]

    def row_texts(self, i: int) -> dict[str, str]:
        """Every column's text of row i, keyed by column name (hidden columns included)."""
        self._flush()
        return dict(zip(COLUMNS, self.model.texts(i)))

    def row_events(self) -> list[dict]:
        self._flush()
        return list(self.model.events)

    def title_text(self) -> str:
        self._flush()
        return self._title_plain

    def counts_text(self) -> str:
        self._flush()
        return self._counts_plain

    def sizeHint(self) -> QSize:
        return QSize(560, 360)
