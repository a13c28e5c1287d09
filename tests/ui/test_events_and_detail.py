"""The events panel and the township detail page against the demo warehouse."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import date, timedelta

import pytest
from PySide6.QtCore import SIGNAL, Qt

from cockpit.core.catalogue import DOMAINS
from cockpit.core.formatting import format_value
from cockpit.core.selection import Selection, SelectionState
from cockpit.ui.context import CockpitContext
from cockpit.ui.detail_view import TownshipDetail
from cockpit.ui.events_panel import EventsPanel, next_month
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current

CHANGED = SIGNAL("changed(PyObject,PyObject)")
DECEMBER = date(2025, 12, 1)
AUGUST = date(2025, 8, 1)


@pytest.fixture(scope="module")
def queries(demo_db):
    # demo_db (conftest) builds the demo warehouse once for the whole session.
    snapshot = open_current(demo_db)
    yield Queries(snapshot)
    snapshot.close()


def _code(queries, name: str) -> str:
    return next(t.code for t in queries.townships if t.name == name)


@pytest.fixture
def make_ctx(queries):
    made = []

    def make(region=None, period=DECEMBER, lang="zh_CN", public_mode=False):
        state = SelectionState(region=region or queries.county.code, indicator="env_pm25",
                               period=period, domain="overview")
        ctx = CockpitContext(queries, Selection(state), lang=lang, public_mode=public_mode)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def widgets(qtbot):
    """Widgets made in a test, closed at its end."""
    made = []

    def add(widget):
        qtbot.addWidget(widget)
        made.append(widget)
        return widget

    yield add
    for widget in made:
        widget.close()


# -- events panel -----------------------------------------------------------------------------
def test_events_panel_filters_to_the_selected_township(queries, make_ctx, widgets):
    ctx = make_ctx()
    panel = widgets(EventsPanel(ctx))
    taoxi = _code(queries, "桃溪镇")
    ctx.select(region=taoxi)
    assert panel.region_filter == taoxi
    assert panel.row_count() > 0
    assert set(panel.row_regions()) == {taoxi}
    assert panel.view.isColumnHidden(1)  # 乡镇（街道）: one township needs no column
    assert panel.title_text() == "事件动态 · 桃溪镇 · 2025年12月"


def test_events_panel_shows_every_township_for_the_county_newest_first(queries, make_ctx,
                                                                        widgets):
    ctx = make_ctx()
    panel = widgets(EventsPanel(ctx))
    assert panel.region_filter is None
    assert not panel.view.isColumnHidden(1)
    total = sum(queries.event_counts(None, DECEMBER, next_month(DECEMBER)).values())
    assert panel.row_count() == min(total, 200)
    assert len(set(panel.row_regions())) >= 10
    times = [e["reported_at"] for e in panel.row_events()]
    assert times == sorted(times, reverse=True)
    first = panel.row_texts(0)
    assert first["time"] == f"{times[0].month}月{times[0].day}日 {times[0]:%H:%M}"
    assert first["region"] == panel.row_events()[0]["region_name"]


def test_taoxi_december_fire_safety_burst_is_visible(queries, make_ctx, widgets):
    taoxi = _code(queries, "桃溪镇")
    ctx = make_ctx(region=taoxi)
    panel = widgets(EventsPanel(ctx))
    rows = [panel.row_texts(i) for i in range(panel.row_count())]
    overdue_fire = [r for r in rows if r["category"] == "企业消防安全隐患" and r["status"] == "已超期"]
    assert len(overdue_fire) >= 15
    counts = queries.event_counts(taoxi, DECEMBER, next_month(DECEMBER))
    assert panel.counts_text() == (f"超期 {counts.get('已超期', 0)} · 处置中 "
                                   f"{counts.get('处置中', 0)} · 已办结 {counts.get('已办结', 0)}")
    assert counts["已超期"] > counts.get("已办结", 0)


def test_clicking_an_event_of_another_township_selects_it(queries, make_ctx, widgets, qtbot):
    ctx = make_ctx()
    panel = widgets(EventsPanel(ctx))
    panel.resize(1000, 600)
    panel.show()
    qtbot.waitExposed(panel)
    row = 2
    target = panel.row_regions()[row]
    index = panel.model.index(row, 4)
    rect = panel.view.visualRect(index)
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert ctx.state.region == target
    assert set(panel.row_regions()) == {target}


def test_rows_show_their_status_colour_and_a_clicked_row_highlights_whole(queries, make_ctx,
                                                                          widgets, qtbot):
    from PySide6.QtGui import QColor

    from cockpit.ui import theme
    from cockpit.ui.events_panel import STATUS, STATUS_COLORS

    ctx = make_ctx(region=_code(queries, "桃溪镇"))
    panel = widgets(EventsPanel(ctx))
    panel.resize(1000, 600)
    panel.show()
    qtbot.waitExposed(panel)
    view = panel.view

    def colours(row: int, column: int) -> set:
        image = view.viewport().grab().toImage()
        rect = view.visualRect(panel.model.index(row, column))
        return {image.pixelColor(x, y).name() for x in range(rect.left() + 2, rect.right() - 2)
                for y in range(rect.top() + 2, rect.bottom() - 2)}

    def near(found: set, colour: str, tolerance: int = 24) -> bool:
        want = QColor(colour)
        return any(abs(QColor(c).red() - want.red()) + abs(QColor(c).green() - want.green())
                   + abs(QColor(c).blue() - want.blue()) <= tolerance for c in found)

    statuses = [e["status"] for e in panel.row_events()]
    shown = [i for i in range(len(statuses)) if view.visualRect(panel.model.index(i, 0)).bottom()
             < view.viewport().height()]
    assert len({statuses[i] for i in shown}) >= 2   # the check below sees more than one colour
    for i in shown:
        pill = colours(i, STATUS)
        assert near(pill, STATUS_COLORS[statuses[i]]), (i, statuses[i])
        others = set(STATUS_COLORS.values()) - {STATUS_COLORS[statuses[i]]}
        assert not any(near(pill, c, 6) for c in others), (i, statuses[i])
    # a clicked row shows the selection's ground in every column, the others keep the panel's
    rect = view.visualRect(panel.model.index(1, 0))
    with qtbot.waitSignal(ctx.changed, timeout=1000, raising=False):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    image = view.viewport().grab().toImage()
    selected = QColor("#0f4766")
    for column in range(len(panel.model.texts(1))):
        if view.isColumnHidden(column):
            continue
        cell = view.visualRect(panel.model.index(1, column))
        assert image.pixelColor(cell.left() + 1, cell.top() + 2) == selected, column
    row0 = view.visualRect(panel.model.index(0, 0))
    assert image.pixelColor(row0.left() + 1, row0.top() + 2) == QColor(theme.PANEL)


def test_quiet_month_falls_back_to_the_latest_thirty_days(queries, make_ctx, widgets):
    quiet = _code(queries, "坦洪乡")
    month = date(2024, 2, 1)
    assert not queries.event_counts(quiet, month, next_month(month))
    ctx = make_ctx(region=quiet, period=month)
    panel = widgets(EventsPanel(ctx))
    assert panel.fell_back
    assert panel.row_count() > 0
    assert set(panel.row_regions()) == {quiet}
    start, end = panel.period_window
    assert (end - start).days == 30 and end <= next_month(month)


def test_a_month_without_events_even_in_the_days_before_says_so_in_one_sentence(
        queries, make_ctx, widgets):
    """Nothing in the month and nothing in the thirty days the list falls back to: one note
    says both, rather than "showing the last 30 days" followed by "no events"."""
    town = _code(queries, "桃溪镇")
    month = queries.months[0]   # the demo's events begin later than its figures
    ctx = make_ctx(region=town, period=month)
    panel = widgets(EventsPanel(ctx))
    assert panel.fell_back and panel.row_count() == 0 and not any(panel.counts.values())
    last = panel.period_window[1] - timedelta(days=1)
    assert panel.note.text() == f"本月及截至{last.month}月{last.day}日的近30天均无事件"
    # a quiet month whose thirty days have events keeps saying what it shows
    quiet = _code(queries, "坦洪乡")
    ctx = make_ctx(region=quiet, period=date(2024, 2, 1))
    panel = widgets(EventsPanel(ctx))
    assert panel.fell_back and panel.row_count() > 0
    assert panel.note.text().startswith("本月无事件，显示截至") and "均无事件" not in panel.note.text()


def test_events_panel_speaks_english(queries, make_ctx, widgets):
    ctx = make_ctx(region=_code(queries, "桃溪镇"), lang="en")
    panel = widgets(EventsPanel(ctx))
    assert panel.model.headerData(5, Qt.Orientation.Horizontal) == "Status"
    statuses = {panel.row_texts(i)["status"] for i in range(panel.row_count())}
    assert statuses <= {"Overdue", "Open", "Closed"} and "Overdue" in statuses
    assert panel.title_text() == "Events · Taoxi · Dec 2025"


def test_english_events_name_their_place_and_category_in_english_and_keep_the_report(
        queries, make_ctx, widgets):
    ctx = make_ctx(lang="en")
    panel = widgets(EventsPanel(ctx))
    panel.resize(480, 400)                 # too narrow for the category column
    row, event = 0, panel.row_events()[0]
    texts = panel.row_texts(row)
    assert texts["region"] == ctx.region_name(event["region"]) and texts["region"].isascii()
    model = panel.model
    assert panel.view.isColumnHidden(3)
    assert model.data(model.index(row, 4)) == f"{texts['category']} — {texts['summary']}"
    tip = model.tooltip(row)
    assert tip.startswith(f"<b>{texts['category']}</b><br>{texts['region']} · ")
    assert f"Report as filed: {event['summary']}" in tip and "：" not in tip


def test_chinese_events_show_the_report_alone_as_before(queries, make_ctx, widgets):
    ctx = make_ctx()
    panel = widgets(EventsPanel(ctx))
    panel.resize(480, 400)
    event, texts = panel.row_events()[0], panel.row_texts(0)
    model = panel.model
    assert panel.view.isColumnHidden(3) and model.data(model.index(0, 4)) == texts["summary"]
    assert model.tooltip(0).startswith(f"<b>{event['summary']}</b><br>{event['region_name']} · ")
    assert f"{event['category']}<br>上报：" in model.tooltip(0)


def test_events_panel_disconnects_on_close(queries, make_ctx, widgets):
    ctx = make_ctx()
    before = ctx.receivers(CHANGED)
    panel = widgets(EventsPanel(ctx))
    assert ctx.receivers(CHANGED) == before + 1
    panel.close()
    assert ctx.receivers(CHANGED) == before


# -- township detail page -------------------------------------------------------------------
def test_detail_lists_every_visible_indicator_grouped_by_domain(queries, make_ctx, widgets):
    ctx = make_ctx(region=_code(queries, "桐琴镇"), period=AUGUST)
    detail = widgets(TownshipDetail(ctx))
    visible = ctx.visible_indicators()
    expected = [i.code for d in DOMAINS for i in visible if i.domain == d]
    assert detail.indicator_codes() == expected
    assert len(expected) == len(visible)
    assert detail.section_titles() == [zh for zh, _ in DOMAINS.values()]


def test_detail_ranks_tongqin_last_for_august_pm25(queries, make_ctx, widgets):
    tongqin = _code(queries, "桐琴镇")
    ctx = make_ctx(region=tongqin, period=AUGUST)
    detail = widgets(TownshipDetail(ctx))
    assert detail.region == tongqin
    row = detail.row_for("env_pm25")
    assert row["rank"] == "18/18"
    own = next(r for r in queries.township_profile(tongqin, AUGUST)
               if r["indicator"] == "env_pm25")
    assert row["value"] == format_value(own["value"], ctx.indicator("env_pm25"))


def test_detail_county_column_is_the_county_figure(queries, make_ctx, widgets):
    ctx = make_ctx(region=_code(queries, "桐琴镇"), period=AUGUST)
    detail = widgets(TownshipDetail(ctx))
    county = queries.kpis(queries.county.code, ["eco_retail"], AUGUST)["eco_retail"]
    assert detail.row_for("eco_retail")["county"] == format_value(
        county.value, ctx.indicator("eco_retail"))


def test_county_only_indicators_say_so_in_the_rank_column(queries, make_ctx, widgets):
    ctx = make_ctx(region=_code(queries, "桐琴镇"), period=AUGUST)
    detail = widgets(TownshipDetail(ctx))
    county_only = [i for i in ctx.visible_indicators() if i.county_only]
    assert county_only
    kpis = queries.kpis(queries.county.code, [i.code for i in county_only], AUGUST)
    for ind in county_only:
        row = detail.row_for(ind.code)
        assert row["rank"] == "仅全县"
        assert row["value"] == format_value(kpis[ind.code].value, ind)


def test_unreported_value_is_flagged_instead_of_ranked(queries, make_ctx, widgets):
    # 三港乡 has not reported 安全生产隐患整改率 since September 2025 (a demo anomaly).
    ctx = make_ctx(region=_code(queries, "三港乡"), period=DECEMBER)
    detail = widgets(TownshipDetail(ctx))
    row = detail.row_for("gov_hazard_fixed")
    assert row["rank"] == "未报送"
    assert row["period"] == "2025年9月"


def test_detail_follows_a_region_change(queries, make_ctx, widgets, qtbot):
    ctx = make_ctx(region=_code(queries, "桐琴镇"), period=AUGUST)
    detail = widgets(TownshipDetail(ctx))
    detail.resize(1200, 700)
    detail.show()
    qtbot.waitExposed(detail)
    taoxi = _code(queries, "桃溪镇")
    ctx.select(region=taoxi)
    assert detail.up_to_date        # refreshed on the signal, not on first read
    assert detail.region == taoxi
    assert detail.header_text().startswith("桃溪镇 · 镇 · 人口 2.0 万")
    own = {r["indicator"]: r for r in queries.township_profile(taoxi, AUGUST)}
    pm25 = own["env_pm25"]
    assert detail.row_for("env_pm25")["rank"] == f"{pm25['rank']}/{pm25['rank_of']}"
    assert set(detail.events_panel.row_regions()) == {taoxi}


def test_hidden_detail_catches_up_when_read_or_shown(queries, make_ctx, widgets):
    ctx = make_ctx(region=_code(queries, "桐琴镇"), period=AUGUST)
    detail = widgets(TownshipDetail(ctx))
    taoxi = _code(queries, "桃溪镇")
    ctx.select(region=taoxi, period=DECEMBER)
    assert not detail.up_to_date  # not visible: no queries spent on it yet
    assert detail.region == taoxi
    assert detail.month == DECEMBER


def test_back_to_county_selects_the_county(queries, make_ctx, widgets, qtbot):
    ctx = make_ctx(region=_code(queries, "桐琴镇"), period=AUGUST)
    detail = widgets(TownshipDetail(ctx))
    detail.show()
    qtbot.mouseClick(detail.county_button, Qt.MouseButton.LeftButton)
    assert ctx.state.region == ctx.county_code
    assert detail.region == ctx.county_code
    assert not detail.county_button.isEnabled()
    assert detail.view.isColumnHidden(3)  # a county has no rank among townships
    with qtbot.waitSignal(detail.closed, timeout=1000):
        qtbot.mouseClick(detail.close_button, Qt.MouseButton.LeftButton)


def test_detail_reads_sparklines_in_one_batched_query(queries, make_ctx, widgets, monkeypatch):
    ctx = make_ctx(region=_code(queries, "桐琴镇"), period=AUGUST)
    detail = widgets(TownshipDetail(ctx))
    calls = []
    original = queries.series_many
    monkeypatch.setattr(queries, "series_many",
                        lambda *a, **kw: calls.append(a) or original(*a, **kw))
    taoxi = _code(queries, "桃溪镇")
    ctx.select(region=taoxi)
    detail.row_for("env_pm25")
    # every row's sparkline in one batch; the county's rows come from the query memo
    assert [c[0] for c in calls] == [ctx.county_code, taoxi]
    spark = detail.model.cells["env_pm25"]["spark"]
    assert len(spark) == 24


def test_public_mode_hides_internal_indicators(queries, make_ctx, widgets):
    ctx = make_ctx(region=_code(queries, "桐琴镇"), period=AUGUST, public_mode=True)
    detail = widgets(TownshipDetail(ctx))
    internal = {i.code for i in queries.indicators if i.sensitivity == "internal"}
    assert internal and not internal & set(detail.indicator_codes())


def test_detail_disconnects_itself_and_its_events_on_close(queries, make_ctx, widgets):
    ctx = make_ctx()
    before = ctx.receivers(CHANGED)
    detail = widgets(TownshipDetail(ctx))
    assert ctx.receivers(CHANGED) == before + 2  # the page and its events panel
    detail.close()
    assert ctx.receivers(CHANGED) == before
