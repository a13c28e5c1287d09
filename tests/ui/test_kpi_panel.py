"""KPI cards show the selected region's values, changes coloured by polarity, and trace their source."""
from __future__ import annotations

from datetime import date

import pytest

from cockpit.core.selection import Selection, SelectionState
from cockpit.ui.app import _application
from cockpit.ui.context import CockpitContext
from cockpit.ui.kpi_panel import KpiPanel
from cockpit.warehouse.demo import COUNTY_CODE, TOWNSHIP_CODES
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current

LIUCHENG = TOWNSHIP_CODES["柳城畲族镇"]


@pytest.fixture
def panel(demo_db, qtbot):
    _application()
    snap = open_current(demo_db)
    q = Queries(snap)
    ctx = CockpitContext(q, Selection(SelectionState(COUNTY_CODE, "gov_events_closed",
                                                     date(2025, 12, 1), "governance")))
    widget = KpiPanel(ctx)
    qtbot.addWidget(widget)
    widget.resize(520, 640)
    widget.show()
    yield widget, ctx, q
    widget.close()
    ctx.close()
    snap.close()


def test_cards_follow_the_region_with_values_and_changes(panel):
    widget, ctx, q = panel
    ctx.select(region=LIUCHENG)
    card = widget.card_for("gov_events_closed")
    assert "柳城畲族镇" in widget.title_text()
    assert card.value_text() == "78.2%"
    mom, yoy = card.change_texts()
    assert mom == "−9.1个百分点"
    assert card.selected


def test_a_fall_in_pm25_is_good_news_and_a_fall_in_a_rate_is_bad(panel):
    from cockpit.core.formatting import trend_verdict
    widget, ctx, q = panel
    ctx.select(domain="environment", indicator="env_pm25", period=date(2025, 3, 1))
    card = widget.card_for("env_pm25")
    d = card.data
    assert d.value < d.prev_value  # spring: PM2.5 falls from February
    assert trend_verdict(d.value, d.prev_value, d.indicator) == 1


def test_county_only_indicators_show_the_county_figure_when_a_township_is_selected(panel):
    widget, ctx, q = panel
    ctx.select(domain="government", region=LIUCHENG)
    card = widget.card_for("ops_data_shared")
    assert card.data.county_figure
    county = q.kpis(COUNTY_CODE, ["ops_data_shared"], date(2025, 12, 1))["ops_data_shared"]
    assert card.data.value == county.value


def test_card_tooltip_traces_unit_department_definition_and_period(panel):
    widget, ctx, q = panel
    tip = widget.card_for("gov_events_closed").toolTip()
    for text in ("%", "县社会治理中心", "跨部门协同事件", "2025年12月", "95.0%"):
        assert text in tip


def test_clicking_a_card_makes_it_the_current_indicator(panel, qtbot):
    from PySide6.QtCore import Qt
    widget, ctx, q = panel
    card = widget.card_for("gov_petitions")
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton)
    assert ctx.state.indicator == "gov_petitions"
    assert card.selected and not widget.card_for("gov_events_closed").selected


def test_switching_domain_reuses_cards(panel):
    from cockpit.ui.kpi_panel import KpiCard
    widget, ctx, q = panel
    most = 0
    for domain in ("economy", "market", "overview", "governance", "service", "economy"):
        ctx.select(domain=domain)
        shown = [c.indicator_code for c in widget.cards]
        assert shown == [i.code for i in ctx.domain_indicators(domain)]
        assert all(c.isVisible() for c in widget.cards)
        most = max(most, len(shown))
    assert len(widget.findChildren(KpiCard)) == most


def test_a_card_shows_the_same_picture_when_a_township_comes_back_and_a_new_one_for_new_figures(
        panel):
    # Cards are painted once per figures and copied after: the copy must be the picture the
    # figures make, never the previous township's.
    widget, ctx, q = panel
    other = TOWNSHIP_CODES["桃溪镇"]

    def picture():
        return widget.card_for("gov_events_closed").grab().toImage()

    ctx.select(region=LIUCHENG)
    first = picture()
    ctx.select(region=other)
    second = picture()
    ctx.select(region=LIUCHENG)
    assert picture() == first
    assert second != first
    # the selected card is drawn with its accent edge, the others without
    ctx.select(indicator="gov_hazard_fixed")
    assert picture() != first


def test_a_card_whose_figures_did_not_change_is_not_repainted(panel, qtbot):
    # A county-only indicator shows the county's figure for every township: stepping from one
    # township to another changes the other cards, not that one.
    from PySide6.QtCore import QEvent, QObject

    widget, ctx, q = panel
    ctx.select(domain="government", region=LIUCHENG)
    county_card = widget.card_for("ops_data_shared")
    assert county_card.data.county_figure
    painted = []

    class Paints(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                painted.append(obj)
            return False

    counter = Paints()
    for card in widget.cards:
        card.installEventFilter(counter)
    qtbot.wait(50)
    painted.clear()
    ctx.select(region=TOWNSHIP_CODES["桃溪镇"])
    qtbot.wait(50)
    assert county_card not in painted
    assert any(card in painted for card in widget.cards if not card.data.county_figure)
    assert county_card.data.value == q.kpis(COUNTY_CODE, ["ops_data_shared"],
                                            date(2025, 12, 1))["ops_data_shared"].value


def test_a_card_drawn_over_its_frame_is_the_card_drawn_afresh(panel):
    # A new place's card reuses the frame (name, period, labels) another place's card drew:
    # the picture must be exactly the one drawn from nothing, selected or not.
    from cockpit.ui import kpi_panel

    widget, ctx, q = panel
    other = TOWNSHIP_CODES["桃溪镇"]
    ctx.select(region=LIUCHENG)
    widget.cards[0].grab()
    ctx.select(region=other)
    reused = [card.grab().toImage() for card in widget.cards]
    kpi_panel.forget_pictures()
    afresh = [card.grab().toImage() for card in widget.cards]
    assert len(reused) >= 4 and any(card.selected for card in widget.cards)
    assert reused == afresh
