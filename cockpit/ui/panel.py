"""What every panel and page of the cockpit is, written once: constructed with the context, it
follows only the selection fields it shows, catches up when it is shown again, speaks the UI's
language, and lets go of the context when it is closed (napari's QtLayerControls does the same
for its widgets; before this, each panel spelled connect, disconnect and "refresh when shown"
its own way, and four of them never disconnected).

A subclass declares `fields` (and `follows_alerts`), builds its widgets, and ends its
constructor with `self.sync()`. It reacts in `on_selection(changed, state)`, `on_reload()` (a
new snapshot: by default everything) and `on_alerts()`. While it is hidden after having been
shown (a cockpit panel behind the detail page), changes are only noted and applied once when it
is shown again: a hidden panel costs nothing per selection.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from functools import lru_cache
from typing import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPointF, QRect, QSize, Qt
from PySide6.QtGui import (QColor, QPainter, QPixmap, QStaticText, QTextDocument,
                           QTextDocumentFragment, QTextOption, QTransform)
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QGraphicsView, QHeaderView, QLabel,
                               QSizePolicy, QStyle, QStyleOption, QTableView)

from ..core.i18n import pick
from . import theme
from .context import CockpitContext

_GROUND = QColor(theme.BG)   # what the window shows around a panel's rounded corners
_PANEL = QColor(theme.PANEL)  # a panel's ground
_CORNER = 6                  # px: theme.qss's 4 px radius and its antialiased edge


@contextmanager
def signals_blocked(*objects):
    """Write model → widget without the widget echoing back (exception-safe, nestable)."""
    previous = [obj.blockSignals(True) for obj in objects]
    try:
        yield
    finally:
        for obj, was in zip(objects, previous):
            obj.blockSignals(was)


def fit_whole_rows(view: QTableView) -> None:
    """Rows that fill the view's height exactly, so the last one is never cut in half on a
    wall: one more row, a little tighter, when it fits with legible padding; otherwise the rows
    a little taller (at most half a row each). Call it when the view's size or font changes."""
    row = whole_row_height(view, view.viewport().height())
    header = view.verticalHeader()
    if header.defaultSectionSize() != row:
        header.setDefaultSectionSize(row)


def whole_row_height(view: QTableView, height: int) -> int:
    """The row height fit_whole_rows gives `view` when its viewport is `height` pixels high."""
    text = view.fontMetrics().height()
    base = max(text + 14, 20)
    if height < base:
        return base
    row = height // -(-height // base)          # ceil: one more row
    if row < text + 6:
        taller = height // (height // base)
        row = taller if taller <= base * 1.5 else base
    return row


class _OpaqueViewport(QObject):
    """Makes an item view's viewport paint its whole ground itself (see opaque_viewport)."""

    def eventFilter(self, viewport, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Paint:
            p = QPainter(viewport)
            p.fillRect(event.rect(), _PANEL)
            p.end()
        elif kind in (QEvent.Type.Polish, QEvent.Type.StyleChange, QEvent.Type.Show):
            viewport.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        return False


_OPAQUE_VIEWPORT = _OpaqueViewport()   # one filter for every such viewport


def opaque_viewport(view: QAbstractItemView) -> None:
    """A table whose rows change on a selection repaints its viewport; with the style sheet's
    background the viewport is not opaque, so the table's frame and the panel behind it were
    painted again under every repainted row (a third of the window's area per selection, for
    the events and alert tables). The viewport now paints its ground first, the panel's (the
    tables are transparent or of the panel's colour), and is opaque."""
    view.viewport().installEventFilter(_OPAQUE_VIEWPORT)
    view.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)


class Panel(QFrame):
    fields: frozenset[str] = frozenset()   # the selection fields this panel shows
    follows_alerts = False                 # also react to alert changes
    # A page built but not shown yet (the detail page) waits for its first show too.
    defer_until_shown = False
    TEXT: dict = {}                        # {"zh_CN": {...}, "en": {...}}

    def __init__(self, ctx: CockpitContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.scale = 1.0
        self.t = pick(self.TEXT, ctx.lang) if self.TEXT else {}
        self._pending: frozenset = frozenset()
        self._reload_pending = False
        self._alerts_pending = False
        self._shown_once = False
        self._connected = False
        self._views: list | None = None   # what on_settled flushes (found on first use)
        self.connect_context()

    # -- hooks for subclasses --------------------------------------------------------------------
    def on_selection(self, changed: frozenset, state) -> None:
        """Some of `fields` changed (all of them at once: one call, one repaint)."""

    def on_reload(self) -> None:
        """A new snapshot (or the first sync): everything may have changed."""
        self.on_selection(self.fields, self.ctx.state)
        if self.follows_alerts:
            self.on_alerts()

    def on_alerts(self) -> None:
        """Alerts were evaluated or acted on (here or at another desk)."""

    def on_settled(self) -> None:
        """A change was handled by every panel and its layouts are done: run now what the
        panel's views queued for later (a graphics scene's redraw of changed items, a table's
        new geometry), so that it is painted in the window's one pass, not in a pass of its
        own after it."""
        if self._views is None:
            self._views = ([v.scene() for v in self.findChildren(QGraphicsView) if v.scene()]
                           + self.findChildren(QAbstractItemView))
        try:
            for view in self._views:
                QCoreApplication.sendPostedEvents(view, QEvent.Type.MetaCall)
        except RuntimeError:   # a view was replaced: look again next time
            self._views = None

    def apply_scale(self) -> None:
        """`self.scale` changed (the window was resized): type sizes follow it."""

    # -- what subclasses call --------------------------------------------------------------------
    def sync(self) -> None:
        """The initial state, at the end of the constructor."""
        self.on_reload()

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self.apply_scale()

    # -- the context -----------------------------------------------------------------------------
    def connect_context(self) -> None:
        if self._connected:
            return
        self.ctx.changed.connect(self._relay_selection)
        self.ctx.reloaded.connect(self._relay_reload)
        if self.follows_alerts:
            self.ctx.alerts_changed.connect(self._relay_alerts)
        self.ctx.settled.connect(self._relay_settled)
        self._connected = True

    def disconnect_context(self) -> None:
        if not self._connected:
            return
        self._connected = False
        for signal, slot in ((self.ctx.changed, self._relay_selection),
                             (self.ctx.reloaded, self._relay_reload),
                             (self.ctx.alerts_changed, self._relay_alerts),
                             (self.ctx.settled, self._relay_settled)):
            if signal is self.ctx.alerts_changed and not self.follows_alerts:
                continue
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):   # the context went first
                pass

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def up_to_date(self) -> bool:
        """False while changes wait for the panel to be shown (or read)."""
        return not (self._pending or self._reload_pending or self._alerts_pending)

    def _deferred(self) -> bool:
        # Never shown yet (built, or tested, off screen): keep up, unless told to wait. Shown
        # once, now hidden (its page is not the current one): note the change, apply it when
        # shown.
        return (self._shown_once or self.defer_until_shown) and not self.isVisible()

    def _relay_selection(self, changed: frozenset, state) -> None:
        relevant = changed & self.fields
        if not relevant:
            return
        if self._deferred():
            self._pending |= relevant
            return
        self.on_selection(relevant, state)

    def _relay_reload(self) -> None:
        if self._deferred():
            self._reload_pending = True
            self._pending = frozenset()
            return
        self.on_reload()

    def _relay_settled(self) -> None:
        if self.isVisible():
            self.on_settled()

    def _relay_alerts(self) -> None:
        if self._deferred():
            self._alerts_pending = True
            return
        self.on_alerts()

    def event(self, event) -> bool:
        handled = super().event(event)
        if event.type() in (QEvent.Type.Polish, QEvent.Type.StyleChange) \
                and self.objectName() == "panel":
            # A dashboard panel paints its own ground, corners included, so the window's
            # containers behind it do not repaint what it repaints: four of them did, each
            # over the whole dirty area (0.9 of the 1.56 window areas a selection painted).
            # (Set again after every polish: the style sheet's rounded border clears it.)
            self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        return handled

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._shown_once = True
        if not self._connected:   # shown again after a close: listen again, catch up fully
            self.connect_context()
            self._reload_pending = True
            self._alerts_pending = self.follows_alerts
        self.catch_up()

    def catch_up(self) -> None:
        """Apply what changed while the panel was hidden, in one go."""
        if self._reload_pending:   # a reload covers the selection and the alerts
            self._reload_pending, self._pending, self._alerts_pending = False, frozenset(), False
            self.on_reload()
            return
        if self._pending:
            pending, self._pending = self._pending, frozenset()
            self.on_selection(pending, self.ctx.state)
        if self._alerts_pending:
            self._alerts_pending = False
            self.on_alerts()

    def closeEvent(self, event) -> None:
        self.disconnect_context()
        super().closeEvent(event)

    def paintEvent(self, event) -> None:
        if self.testAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent):
            # What Qt paints for a styled widget that is not opaque: the window's ground
            # where the rounded corners leave it showing, then the style sheet's background.
            p = QPainter(self)
            w, h, c = self.width(), self.height(), _CORNER
            for x, y in ((0, 0), (w - c, 0), (0, h - c), (w - c, h - c)):
                p.fillRect(QRect(x, y, c, c), _GROUND)
            option = QStyleOption()
            option.initFrom(self)
            self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, option, p, self)
            p.end()
        super().paintEvent(event)


@lru_cache(maxsize=512)
def _plain_text(html: str) -> str:
    # A rich-text title is parsed into a document to measure it: a selection sets a few titles
    # back to texts seen before, so the parse is kept.
    return QTextDocumentFragment.fromHtml(html).toPlainText()


class TitleLabel(QLabel):
    """A panel title that never shows half a word: too long for its width, it ends in "…" and
    the whole title is its tooltip. `text()` is always the whole title.

    It paints its panel's ground under itself (every title sits on a panel), so a new title
    does not make the panel paint its styled frame behind it first.

    A new title does not lay the panel out again: QLabel.setText would ask the panel's layout,
    and through every ancestor the window's, to recompute (six titles renamed per township
    selection relaid the whole window). The label keeps the height of one line of its font,
    takes the width the layout gives it, and paints its (rich) text itself."""

    _advances: dict | None = None   # text -> width in the current font
    elide = True   # too long: "…" (else cut off at the edge, its colours kept)

    def __init__(self, text: str = "", parent=None, object_name: str = "panelTitle"):
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        QLabel.setText(self, "国")   # what the label is sized by: one line of its font
        self._full = ""
        self._tip = ""
        self._static = QStaticText()
        self._statics: dict[tuple, tuple] = {}   # (text, width, alignment) -> laid out, cut
        self.laid_out = 0   # how many texts were laid out (a statistic, see prepare)
        self.setText(text)

    def event(self, event) -> bool:
        handled = super().event(event)
        if event.type() in (QEvent.Type.Polish, QEvent.Type.StyleChange):
            self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)   # polish clears it
        return handled

    def text(self) -> str:   # noqa: D401 — the whole title, not what fits
        return self._full

    def setText(self, text: str) -> None:
        if text == self._full:
            return
        self._full = text
        self._fit()

    def setToolTip(self, tip: str) -> None:
        if tip == self._tip:
            return
        self._tip = tip
        self._fit()

    def setAlignment(self, alignment) -> None:
        super().setAlignment(alignment)
        self._fit()

    def _advance(self, plain: str) -> int:
        # Measured once per text and font: a selection sets titles seen before.
        if self._advances is None:
            self._advances = {}
        advances = self._advances
        found = advances.get(plain)
        if found is None:
            if len(advances) > 512:
                advances.clear()
            found = advances[plain] = self.fontMetrics().horizontalAdvance(plain)
        return found

    def text_width(self) -> int:
        """The width the whole title needs, in pixels (its frame and padding included)."""
        plain = _plain_text(self._full) if "<" in self._full else self._full
        margins = self.contentsMargins()
        return self._advance(plain) + margins.left() + margins.right() + max(0, self.indent())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._advances = None
            self._statics = {}   # laid out in the old font
            self._fit()

    def prepare(self, text: str) -> None:
        """Lay `text` out ahead (while the cockpit is idle, see prewarm.py), so that setting it
        later only shows it."""
        self._laid_out(text)

    def _fit(self) -> None:
        static, cut = self._laid_out(self._full)
        if static is not self._static:
            self._static = static
            self.update()
        tip = self._tip or cut   # a title cut short says itself whole on hover
        if tip != QLabel.toolTip(self):
            QLabel.setToolTip(self, tip)

    def _laid_out(self, full: str) -> tuple[QStaticText, str]:
        """`full` laid out for the label's width and alignment: (what is drawn, the whole
        title as plain text when that is cut short, else "")."""
        width = max(1, self.contentsRect().width() - max(0, self.indent()))
        align = self.alignment() & Qt.AlignmentFlag.AlignHorizontal_Mask
        found = self._statics.get((full, width, align))
        if found is None:
            # Laying a rich title out costs ~0.5 ms; a selection brings back titles seen before.
            self.laid_out += 1
            if len(self._statics) > 48:
                self._statics.clear()
            plain = _plain_text(full) if "<" in full else full
            margins = self.contentsMargins()
            room = self.width() - margins.left() - margins.right() - max(0, self.indent()) - 12
            shown = full
            if room > 0 and self._advance(plain) > room:
                shown = (self.fontMetrics().elidedText(plain, Qt.TextElideMode.ElideRight, room)
                         if self.elide else f"<span style='white-space:pre'>{full}</span>")
            static = QStaticText(shown)
            static.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
            static.setTextOption(QTextOption(align))
            # a set width: left to itself a rich text breaks its line where it likes
            static.setTextWidth(width)
            static.setTextFormat(Qt.TextFormat.RichText if "<" in shown
                                 else Qt.TextFormat.PlainText)
            # Laid out now in the label's font: unprepared, size() measures the application's
            # default font, and the first paint of a new title drew it a few pixels off the
            # place every later repaint draws it.
            static.prepare(QTransform(), self.font())
            found = self._statics[full, width, align] = (static, plain if shown != full else "")
        return found

    def paintEvent(self, event) -> None:
        # Opaque, so Qt paints no background: the panel's ground, then the style sheet's
        # (the title's accent bar), as it would for a title that is not.
        p = QPainter(self)
        p.fillRect(event.rect(), _PANEL)
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, option, p, self)
        p.end()
        QFrame.paintEvent(self, event)   # the style's frame
        p = QPainter(self)
        p.setFont(self.font())
        p.setPen(self.palette().color(self.foregroundRole()))
        rect = self.contentsRect()
        size = self._static.size()
        p.drawStaticText(QPointF(rect.left() + max(0, self.indent()),
                                 rect.top() + (rect.height() - size.height()) / 2), self._static)
        p.end()


class CountsLabel(TitleLabel):
    """Counts beside a panel's title. New counts do not lay the window out again (a label's new
    text does, through every ancestor): the label asks for the widest its texts have needed,
    painted as a title is, and where the panel is narrow it is squeezed and cut off at its
    edge (its colours kept) rather than pushed into its neighbours."""

    _widest = 0
    _widths: dict | None = None   # text -> the width it needs
    elide = False

    def __init__(self, object_name: str, parent=None, pad: int = 16):
        self._pad = pad   # room kept beside the text, in pixels
        super().__init__(parent=parent, object_name=object_name)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:
        super().setText(text)
        self._measure()

    def needed_width(self) -> int:
        """The width the current text needs, in pixels."""
        return self._measure()

    def prepare(self, text: str) -> None:
        super().prepare(text)
        self._width_of(text)

    def _width_of(self, text: str) -> int:
        if self._widths is None:
            self._widths = {}
        width = self._widths.get(text)
        if width is None:
            if len(self._widths) > 512:
                self._widths.clear()
            document = QTextDocument()
            document.setDocumentMargin(0)
            document.setDefaultFont(self.font())
            document.setHtml(text)
            width = self._widths[text] = math.ceil(document.idealWidth()) + self._pad
        return width

    def _measure(self) -> int:
        width = self._width_of(self.text())
        if width > self._widest:   # wider than ever: once, the panel makes room
            self._widest = width
            self.updateGeometry()
        return width

    def sizeHint(self) -> QSize:
        return QSize(self._widest, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._widest, self._widths = 0, None
            self._measure()


class Pictures:
    """Pictures a panel draws once and copies after (a township's chart, an event's row), the
    most recently used kept up to `budget` bytes: a wall going round the townships draws none
    of them again, and a wall's larger pictures keep fewer."""

    def __init__(self, budget: int):
        self.budget = budget
        self.drawn = 0          # how many pictures were drawn (not found kept)
        self._kept: dict = {}   # key -> QPixmap, oldest first
        self._bytes = 0

    def clear(self) -> None:
        self._kept.clear()
        self._bytes = 0

    def get(self, key, draw: Callable[[], QPixmap]) -> QPixmap:
        """The picture kept for `key`, or `draw()`'s, kept from now on."""
        picture = self._kept.pop(key, None)   # popped and put back: newest last
        if picture is None:
            picture = draw()
            self.drawn += 1
            self._bytes += picture.width() * picture.height() * 4
            while self._bytes > self.budget and self._kept:
                old = self._kept.pop(next(iter(self._kept)))
                self._bytes -= old.width() * old.height() * 4
        self._kept[key] = picture
        return picture


_UNBOUNDED = (1 << 24) - 1   # Qt's QWIDGETSIZE_MAX


class SteadyLabel(QLabel):
    """A label that keeps the largest size its texts have needed (until its font changes): a
    new text that fits does not lay its panel, and through it the window, out again (a label
    of fixed size does not ask its parent's layout to recompute)."""

    _held = False
    _hints: dict | None = None   # text -> size it needs, for the current font

    def setText(self, text: str) -> None:
        if text == QLabel.text(self):
            return
        super().setText(text)
        self._hold()

    def _hold(self) -> None:
        # Measuring rich text lays out a whole document (~0.5 ms); a selection sets texts
        # seen before (a township's counts, its breadcrumb), so each is measured once per font.
        if self._hints is None:
            self._hints = {}
        hint = self._hints.get(QLabel.text(self))
        if hint is None:
            if len(self._hints) > 1024:
                self._hints.clear()
            hint = self._hints[QLabel.text(self)] = self.sizeHint()
        width = max(hint.width(), self.minimumWidth()) if self._held else hint.width()
        if not self._held or (width, hint.height()) != (self.minimumWidth(),
                                                        self.minimumHeight()):
            self._held = True
            self.setFixedSize(width, hint.height())

    def needed_width(self) -> int:
        """The width the current text needs (what sizeHint says, measured once per text)."""
        hint = (self._hints or {}).get(QLabel.text(self))
        return hint.width() if hint is not None else self.sizeHint().width()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if self._held and event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._held = False   # another type size: measure afresh
            self._hints = None
            self.setMinimumSize(0, 0)
            self.setMaximumSize(_UNBOUNDED, _UNBOUNDED)
            self._hold()


def figure_table(parent, name: str, style: str, model, delegate_type, columns: int,
                 stretch: int) -> QTableView:
    """A table of figures to read and click, not to edit (the detail and plan pages): whole
    rows, one at a time, no grid, no wrapping, no focus frame, no sideways scrolling; fixed
    columns with `stretch` taking the rest; the header neither highlights nor sorts."""
    view = QTableView(parent, objectName=name)
    view.setStyleSheet(style)
    view.setModel(model)
    view.setItemDelegate(delegate_type(view))
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.verticalHeader().hide()
    head = view.horizontalHeader()
    head.setHighlightSections(False)
    head.setSectionsClickable(False)
    for col in range(columns):
        head.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
    head.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view
