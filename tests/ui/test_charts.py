"""The trend and ranking panels follow the selection and change it when clicked."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import date

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import QApplication

from cockpit.core.selection import Selection, SelectionState
from cockpit.ui import theme
from cockpit.ui.context import CockpitContext
from cockpit.ui.ranking_panel import RankingPanel
from cockpit.ui.trend_panel import TrendPanel
from cockpit.warehouse.demo import build_demo
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current

DECEMBER = date(2025, 12, 1)


@pytest.fixture(scope="module")
def queries(tmp_path_factory):
    path = tmp_path_factory.mktemp("charts") / "wh"
    build_demo(path, end=date(2025, 12, 1))
    return Queries(open_current(path))


@pytest.fixture
def make_ctx(queries):
    contexts = []

    def make(indicator="env_pm25", region=None, period=DECEMBER, lang="zh_CN"):
        state = SelectionState(region=region or queries.county.code, indicator=indicator,
                               period=period, domain="overview")
        ctx = CockpitContext(queries, Selection(state), lang=lang)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def show(qtbot):
    """Add, size and show a panel; every panel is closed (and checked disconnected) at the end."""
    shown = []

    def add(panel, size=(600, 420)):
        qtbot.addWidget(panel)
        panel.resize(*size)
        panel.show()
        qtbot.waitExposed(panel)
        shown.append(panel)
        return panel

    yield add
    for panel in shown:
        panel.close()
        assert not panel.connected


def township(queries, name):
    return next(r.code for r in queries.townships if r.name == name)


def expected_order(queries, indicator, month=DECEMBER):
    ind = queries.indicator_by_code[indicator]
    values = queries.township_values(indicator, month)
    sign = 1 if ind.polarity == "lower" else -1
    position = {r.code: i for i, r in enumerate(queries.townships)}
    pairs = [(sign * v, position[c], c) for c, v in zip(values.regions, values.values)
             if np.isfinite(v)]
    return [c for _, _, c in sorted(pairs)]


def test_selecting_a_township_shows_its_series_and_highlights_its_bar(queries, make_ctx, show):
    ctx = make_ctx()
    trend, ranking = show(TrendPanel(ctx)), show(RankingPanel(ctx))
    assert trend.series_names() == ["全县", "目标"]
    assert ranking.highlighted_region is None

    taoxi = township(queries, "桃溪镇")
    ctx.select(region=taoxi)

    assert trend.series_names() == ["桃溪镇", "全县", "目标"]
    periods, values = trend.series_data("桃溪镇")
    expected = queries.series(taoxi, "env_pm25")
    np.testing.assert_array_equal(periods, expected.periods)
    np.testing.assert_allclose(values, expected.values)
    county_periods, county_values = trend.series_data("全县")
    np.testing.assert_allclose(county_values, queries.series(ctx.county_code, "env_pm25").values)

    assert ranking.highlighted_region == taoxi
    assert ranking.bar_color(taoxi) == theme.HIGHLIGHT
    others = [code for code in ranking.order() if code != taoxi]
    assert all(ranking.bar_color(code) != theme.HIGHLIGHT for code in others)


def test_ranking_puts_lowest_first_for_lower_is_better(queries, make_ctx, show):
    ranking = show(RankingPanel(make_ctx("env_pm25")))
    order = ranking.order()
    assert order == expected_order(queries, "env_pm25")
    values = dict(zip(*(lambda v: (v.regions, v.values))(
        queries.township_values("env_pm25", DECEMBER))))
    assert [values[c] for c in order] == sorted(values[c] for c in order)
    assert len(order) == 18


def test_ranking_puts_highest_first_for_higher_is_better(queries, make_ctx, show):
    ranking = show(RankingPanel(make_ctx("eco_industry_va")))
    order = ranking.order()
    assert order == expected_order(queries, "eco_industry_va")
    tv = queries.township_values("eco_industry_va", DECEMBER)
    values = dict(zip(tv.regions, tv.values))
    assert [values[c] for c in order] == sorted((values[c] for c in order), reverse=True)


def test_clicking_a_bar_selects_that_township_and_again_goes_back_to_the_county(
        queries, make_ctx, show, qtbot):
    ctx = make_ctx("env_pm25")
    ranking = show(RankingPanel(ctx))
    target = ranking.order()[4]

    qtbot.mouseClick(ranking, Qt.MouseButton.LeftButton, pos=ranking.widget_pos_of(target))
    assert ctx.state.region == target
    assert ranking.highlighted_region == target

    qtbot.mouseClick(ranking, Qt.MouseButton.LeftButton, pos=ranking.widget_pos_of(target))
    assert ctx.state.region == ctx.county_code
    assert ranking.highlighted_region is None

    # A real click lands on the chart widget under the cursor.
    other = ranking.order()[-1]
    on_chart = ranking.chart.mapFrom(ranking, ranking.widget_pos_of(other))
    qtbot.mouseClick(ranking.chart, Qt.MouseButton.LeftButton, pos=on_chart)
    assert ctx.state.region == other


def test_county_only_indicator_shows_a_message_instead_of_bars(queries, make_ctx, show):
    ctx = make_ctx("ops_data_shared", region=township(queries, "桃溪镇"))
    ranking, trend = show(RankingPanel(ctx)), show(TrendPanel(ctx))
    assert ranking.message_text == "该指标仅统计全县，无乡镇排名"
    assert ranking.order() == [] and ranking.missing_regions() == []
    assert not ranking.chart.isVisible()
    # The trend falls back to the county's own series with a note.
    assert trend.series_names() == ["全县", "目标"]
    assert trend.note_text() == "该指标仅统计全县"

    ctx.select(indicator="env_pm25")
    assert ranking.message_text is None and ranking.chart.isVisible()
    assert len(ranking.order()) == 18
    assert trend.note_text() == ""


def test_a_township_without_a_report_is_listed_as_missing(queries, make_ctx, show):
    sangang = township(queries, "三港乡")
    ctx = make_ctx("gov_hazard_fixed")
    ranking = show(RankingPanel(ctx))
    assert ranking.missing_regions() == [sangang]
    assert sangang not in ranking.order()
    assert len(ranking.order()) == 17
    assert ranking.bar_color(sangang) == theme.NO_DATA
    # Listed at the bottom, still clickable.
    rows = [row.code for row in ranking.chart.rows]
    assert rows[-1] == sangang

    trend = show(TrendPanel(ctx))
    ctx.select(region=sangang)
    periods, values = trend.series_data("三港乡")
    gap = periods >= np.datetime64("2025-10-01")
    assert np.isnan(values[gap]).all() and np.isfinite(values[~gap]).all()


def test_trend_marker_follows_the_selected_period(queries, make_ctx, show):
    ctx = make_ctx("env_pm25", region=township(queries, "桃溪镇"))
    trend = show(TrendPanel(ctx))
    assert trend.marker_period == DECEMBER
    ctx.select(period=date(2024, 6, 1))
    assert trend.marker_period == date(2024, 6, 1)
    # A quarterly indicator marks the quarter in force for the selected month.
    ctx.select(indicator="eco_gdp", period=date(2024, 8, 1))
    assert trend.marker_period == date(2024, 6, 1)


def test_target_line_only_for_indicators_with_a_target(queries, make_ctx, show):
    ctx = make_ctx("env_pm25", region=township(queries, "桃溪镇"))
    trend = show(TrendPanel(ctx))
    assert "目标" in trend.series_names()
    _, target = trend.series_data("目标")
    assert np.all(target == 24.0)

    ctx.select(indicator="eco_retail")
    assert "目标" not in trend.series_names()
    assert trend.series_names() == ["桃溪镇", "全县"]


def test_ranking_draws_the_county_line_for_averages_only(queries, make_ctx, show):
    ctx = make_ctx("env_pm25")
    ranking = show(RankingPanel(ctx))
    county = queries.series(ctx.county_code, "env_pm25", DECEMBER, DECEMBER).values[0]
    assert ranking.county_line_value == pytest.approx(county)
    # A summed indicator's county total is off the townships' scale: no line.
    ctx.select(indicator="eco_industry_va")
    assert ranking.county_line_value is None


def test_english_labels(queries, make_ctx, show):
    ctx = make_ctx("env_pm25", region=township(queries, "桃溪镇"), lang="en")
    trend, ranking = show(TrendPanel(ctx)), show(RankingPanel(ctx))
    assert trend.series_names() == [ctx.region_name(), "County", "Target"]
    ctx.select(indicator="ops_data_shared")
    assert ranking.message_text.startswith("County-level indicator")


def test_clicking_the_trend_selects_a_period(queries, make_ctx, show, qtbot):
    ctx = make_ctx("env_pm25", region=township(queries, "桃溪镇"))
    trend = show(TrendPanel(ctx))
    march = date(2025, 3, 1)
    qtbot.mouseClick(trend.chart, Qt.MouseButton.LeftButton, pos=trend.chart_point(march))
    assert ctx.state.period == march
    assert trend.marker_period == march


def hover(widget, pos: QPoint) -> None:
    """A mouse move delivered to `widget` itself: through the window system it would go to
    whichever window another test left on top at that spot."""
    QApplication.sendEvent(widget, QMouseEvent(
        QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))


def test_hovering_the_trend_reads_out_the_period_and_both_values(queries, make_ctx, show, qtbot):
    taoxi = township(queries, "桃溪镇")
    ctx = make_ctx("env_pm25", region=taoxi)
    trend = show(TrendPanel(ctx))
    june = date(2025, 6, 1)
    hover(trend.chart, trend.chart_point(june))
    text = trend.hover_text()
    taoxi_june = queries.series(taoxi, "env_pm25", june, june).values[0]
    county_june = queries.series(ctx.county_code, "env_pm25", june, june).values[0]
    assert "2025年6月" in text
    assert f"{taoxi_june:.1f} μg/m³" in text and f"{county_june:.1f} μg/m³" in text
    # off the plot (over the legend) the readout goes away
    hover(trend.chart, QPoint(3, 3))
    assert trend.hover_text() == ""


def test_the_township_line_is_drawn_in_the_highlight_colour_at_its_values(
        queries, make_ctx, show, qtbot):
    taoxi = township(queries, "桃溪镇")
    ctx = make_ctx("env_pm25", region=taoxi, period=date(2024, 1, 1))
    trend = show(TrendPanel(ctx))
    june = date(2025, 6, 1)
    value = queries.series(taoxi, "env_pm25", june, june).values[0]
    at = trend.chart_point(june, value)
    image = trend.chart.grab().toImage()
    highlight = QColor(theme.HIGHLIGHT)

    def close(colour: QColor) -> bool:   # an antialiased line's core, not its blended edge
        return all(abs(a - b) <= 12 for a, b in zip(colour.getRgb()[:3], highlight.getRgb()[:3]))
    assert any(close(image.pixelColor(at.x() + dx, at.y() + dy))
               for dx in (-1, 0, 1) for dy in (-1, 0, 1))
    # the legend names the township with its value in the selected month
    assert trend.legend_texts()[0].startswith("桃溪镇 ")


def test_stepping_through_townships_keeps_the_chart_layers(queries, make_ctx, show, qtbot):
    # On an averaged indicator the axes and the county's line do not change from township to
    # township: a selection draws only the township's line over the cached layers.
    ctx = make_ctx("env_pm25")
    trend = show(TrendPanel(ctx))
    towns = [t.code for t in queries.townships]
    ctx.select(region=towns[0])
    trend.chart.grab()
    before = trend.chart.layer_builds
    for code in towns[1:8]:
        ctx.select(region=code)
        trend.chart.grab()
    assert trend.chart.layer_builds == before
    # another indicator draws them again
    ctx.select(indicator="eco_retail")
    trend.chart.grab()
    assert trend.chart.layer_builds > before
