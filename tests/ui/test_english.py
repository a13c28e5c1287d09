"""The cockpit in English (`--lang en`) says nothing in Chinese: every visible text and tooltip of
every page, the dialogs, the Excel sheets and the briefing. The only Chinese left is data that has
no translation: an event report's own words, shown as filed."""
from __future__ import annotations

import os
import re

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QComboBox, QLabel, QLineEdit,
                               QTabBar, QWidget)

from cockpit.ui import export
from cockpit.ui.app import initial_state
from cockpit.ui.briefing import BriefingBuilder
from cockpit.ui.events_panel import CATEGORY, SUMMARY
from cockpit.ui.kpi_panel import KpiCard
from cockpit.warehouse.demo import TOWNSHIP_CODES
from tests.windows import open_window

pytestmark = pytest.mark.heavy(20)

# Chinese characters, and the full-width punctuation and spaces that go with them (：，（）　).
CHINESE = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
TAOXI = TOWNSHIP_CODES["桃溪镇"]
DOMAINS = ("overview", "economy", "market", "environment", "governance", "service",
           "government")


@pytest.fixture(scope="module")
def english(demo_db, tmp_path_factory):
    """One English window on the demo, its alerts evaluated, for the module."""
    with open_window(demo_db, tmp_path_factory.mktemp("home"), lang="en", alerts=True) as win:
        yield win


@pytest.fixture
def window(english, qtbot):
    english.show_cockpit()
    english.ctx.selection.restart(initial_state(english.ctx.queries))
    qtbot.waitExposed(english)
    settle(english, qtbot)
    return english


def settle(win, qtbot) -> None:
    """Until every panel shows the selection (answers read off the GUI thread are in)."""
    qtbot.waitUntil(lambda: not win.ctx.waiting and not win.alerts.reading, timeout=20_000)
    qtbot.wait(20)


def _columns(model) -> int:
    try:
        return model.columnCount()
    except TypeError:       # a list model (the search box's completer) has one
        return 1


def shown_texts(root: QWidget) -> list[tuple[str, str]]:
    """(where, text) of everything a user can read on `root`: labels, buttons, tabs, lists,
    table cells and headers, and the tooltips of each (KPI cards' aside, see below)."""
    out = []
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisible() or isinstance(w, KpiCard):
            continue
        where = f"{type(w).__name__}#{w.objectName()}"
        out.append((f"{where} tooltip", w.toolTip()))
        if isinstance(w, (QLabel, QAbstractButton)):
            out.append((where, w.text()))
        elif isinstance(w, QLineEdit):
            out.append((where, w.placeholderText()))
        elif isinstance(w, QComboBox):
            out += [(where, w.itemText(i)) for i in range(w.count())]
        elif isinstance(w, QTabBar):
            out += [(where, w.tabText(i) + " " + w.tabToolTip(i)) for i in range(w.count())]
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            model = w.model()
            hidden = getattr(w, "isColumnHidden", lambda column: False)
            columns = [c for c in range(_columns(model)) if not hidden(c)]
            for c in columns:
                for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                    out.append((f"{where} header", str(model.headerData(
                        c, Qt.Orientation.Horizontal, role) or "")))
            for r in range(model.rowCount()):
                for c in columns:
                    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                        out.append((f"{where} row {r}",
                                    str(model.data(model.index(r, c), role) or "")))
    return out


def _reports(win) -> re.Pattern:
    """The events' report texts as filed (and as listed, the township's name cut off)."""
    model = win.events.model
    words = {e["summary"] for e in model.events}
    words |= {model.row_texts(e)[SUMMARY] for e in model.events}
    return re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))) or "^$")


def chinese_in(win, found) -> list[tuple[str, str]]:
    """The texts that show Chinese outside the words of the event reports listed now."""
    reports = _reports(win)
    return [(where, text[:300]) for where, text in found
            if CHINESE.search(reports.sub("", text))]


def chinese_on(win, root: QWidget | None = None) -> list[tuple[str, str]]:
    """What `root` (the window) shows in Chinese now, event reports aside."""
    return chinese_in(win, shown_texts(root or win))


def test_the_cockpit_says_everything_in_english_on_every_domain_tab(window, qtbot):
    chinese = chinese_on(window)
    for region in (None, TAOXI):
        for domain in DOMAINS:
            changes = {"domain": domain} if region is None else {"domain": domain,
                                                                 "region": region}
            window.ctx.select(**changes)
            settle(window, qtbot)
            chinese += chinese_on(window)
    assert not chinese
    # (the walk saw the alerts, rule names included, and the events)
    walked = [where for where, _ in shown_texts(window)]
    assert any("alertsTable row" in w for w in walked)
    assert any("eventsTable row" in w for w in walked)


def test_the_pages_say_everything_in_english(window, qtbot):
    window.ctx.select(region=TAOXI)
    window.ctx.detail_requested.emit(TAOXI)
    settle(window, qtbot)
    assert window.showing_detail
    chinese = chinese_on(window)
    window.show_quality()
    qtbot.waitUntil(lambda: not window.quality.loading and bool(window.quality.department_rows()),
                    timeout=20_000)
    chinese += chinese_on(window)
    window.show_plan()
    settle(window, qtbot)
    chinese += chinese_on(window)
    window.show_alert_centre()
    settle(window, qtbot)
    chinese += chinese_on(window)
    dialog = window.open_import()
    chinese += chinese_on(window, dialog)
    dialog.close()
    assert not chinese
    departments = [row[0] for row in window.quality.department_rows()]
    assert "County Statistics Bureau" in departments
    assert "Jinhua Ecology and Environment Bureau, Wuyi Branch" in departments


def test_alert_dialogs_and_history_are_in_english(window, qtbot):
    panel = window.alerts
    alert = next(a for a in panel.shown_alerts() if a.indicator)
    panel.select_alert(alert.id)
    panel.request("assign")
    dialog = panel.action_dialog
    found = shown_texts(dialog) + [("assign title", dialog.windowTitle())]
    assert dialog.isVisible()
    assert dialog.department.currentText() == window.ctx.queries.department(
        window.ctx.indicator(alert.indicator).department, "en")
    dialog.reject()
    qtbot.waitUntil(lambda: panel.action_dialog is None)
    panel.request("history")
    history = panel.history_dialog
    found += shown_texts(history) + [("history title", history.windowTitle())]
    history.close()
    assert not chinese_in(window, found)


def test_an_alerts_tooltip_names_its_rule_in_english(window):
    panel = window.alerts
    tips = [panel.table.item(row, 0).toolTip() for row in range(panel.table.rowCount())]
    assert any(tip.startswith("<b>Township has not reported</b>") for tip in tips)
    missing = next(tip for tip in tips if "not reported for" in tip)
    assert "(source: County " in missing


def test_events_name_their_category_before_the_report_as_filed(window, qtbot):
    events = window.events
    model, view = events.model, events.view
    row = 0
    event = model.events[row]
    texts = model.row_texts(event)
    shown = model.data(model.index(row, SUMMARY))
    if view.isColumnHidden(CATEGORY):
        assert shown == f"{texts[CATEGORY]} — {texts[SUMMARY]}"
    else:
        assert shown == texts[SUMMARY]
    tip = model.tooltip(row)
    assert tip.startswith(f"<b>{texts[CATEGORY]}</b>") and CHINESE.search(texts[SUMMARY])
    assert f"Report as filed: {event['summary']}" in tip
    # A panel wide enough for the category column does not say it twice.
    events.resize(1600, events.height())
    qtbot.waitUntil(lambda: not view.isColumnHidden(CATEGORY))
    assert model.data(model.index(row, SUMMARY)) == texts[SUMMARY]


def test_the_kpi_cards_tooltips_are_in_english(window, qtbot):
    tips = []
    for domain in DOMAINS:
        window.ctx.select(domain=domain)
        settle(window, qtbot)
        tips += [card.toolTip() for card in window.findChildren(KpiCard) if card.isVisible()]
    assert tips and not [t for t in tips if CHINESE.search(t)]


def test_the_excel_sheets_and_the_briefing_are_in_english(window, qtbot, tmp_path):
    sheets = export.sheets_for(window)
    window.ctx.detail_requested.emit(TAOXI)
    settle(window, qtbot)
    sheets += export.sheets_for(window)
    window.show_plan()
    settle(window, qtbot)
    sheets += export.sheets_for(window)
    window.show_quality()
    qtbot.waitUntil(lambda: not window.quality.loading, timeout=20_000)
    sheets += export.sheets_for(window)
    assert [s.name for s in sheets][:3] == ["Ranking (Value added of large industry)"[:31],
                                            "Alerts", "All indicators (Taoxi)"]
    cells = [(s.name, str(text)) for s in sheets
             for text in [s.name, s.note, *(c.header for c in s.columns),
                          *(v for row in s.rows for v in row if isinstance(v, str))]]
    assert not [c for c in cells if CHINESE.search(c[1])]
    q = window.ctx.queries
    builder = BriefingBuilder(q, window.ctx.alerts, lang="en")
    for region in (q.county.code, TAOXI):
        text = builder.build(region, window.ctx.state.period).text()
        assert not CHINESE.search(text), text
