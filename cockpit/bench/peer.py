"""The peer of `cockpit bench`: the cockpit's linked view (choropleth of the same townships,
trend, ranking bars, KPI card texts) in matplotlib, redrawn for a township selection naively
(`draw()`) and by blitting, so the cockpit's selection is compared with the usual way of
building such a view in Python, in the same run. matplotlib is the optional `bench` extra."""
from __future__ import annotations

import importlib.util
import time
from typing import Callable

import numpy as np

MISSING = "未安装 matplotlib，跳过 matplotlib 对照 (pip install 'city-cockpit[bench]')"


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def _rings(geometry) -> list[np.ndarray]:
    polys = getattr(geometry, "geoms", [geometry])
    return [np.asarray(p.exterior.coords) for p in polys if hasattr(p, "exterior")]


class Peer:
    """One matplotlib figure of the window's size in a Qt window (FigureCanvasQTAgg)."""

    def __init__(self, app, queries, indicator: str, month, size, settle: Callable,
                 kpi_indicators: list[str]):
        import matplotlib
        from matplotlib import font_manager
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.collections import PolyCollection
        from matplotlib.figure import Figure
        from matplotlib.patches import Polygon
        from shapely import wkb

        from ..ui import theme

        self.app, self._settle, self.q = app, settle, queries
        self.indicator, self.month, self.kpi_indicators = indicator, month, kpi_indicators[:6]
        path = theme.font_path()
        if path is not None:
            font_manager.fontManager.addfont(str(path))
            matplotlib.rcParams["font.family"] = font_manager.FontProperties(
                fname=str(path)).get_name()
        dpi = 100
        fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor=theme.BG)
        self.canvas = FigureCanvasQTAgg(fig)
        self.canvas.resize(*size)
        self.fig = fig
        grid = fig.add_gridspec(3, 6, height_ratios=[1, 3, 3], left=0.03, right=0.98,
                                top=0.97, bottom=0.05, hspace=0.35, wspace=0.3)
        # KPI cards: six texts over six card backgrounds.
        self.kpi_texts = []
        for k in range(6):
            ax = fig.add_subplot(grid[0, k])
            ax.set_facecolor(theme.PANEL)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(self.kpi_indicators[k] if k < len(self.kpi_indicators) else "",
                         color=theme.TEXT_DIM, fontsize=11)
            self.kpi_texts.append(ax.text(0.5, 0.45, "", ha="center", va="center", fontsize=22,
                                          color=theme.TEXT, transform=ax.transAxes,
                                          animated=True))
        # The choropleth and the selected township's outline.
        values = queries.township_values(indicator, month)
        by_code = dict(zip(values.regions, values.values))
        shapes = {code: wkb.loads(blob) for code, blob in queries.geometries_wkb().items()}
        self.codes = list(shapes)
        self.outlines = {code: _rings(g) for code, g in shapes.items()}
        rings, colours = [], []
        v = np.array([by_code.get(c, np.nan) for c in self.codes], dtype=float)
        finite = v[np.isfinite(v)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        cmap = matplotlib.colormaps["viridis"]
        for code, value in zip(self.codes, v):
            for ring in self.outlines[code]:
                rings.append(ring)
                colours.append(cmap((value - lo) / ((hi - lo) or 1)) if np.isfinite(value)
                               else theme.NO_DATA)
        self.map_ax = ax = fig.add_subplot(grid[1:, 0:3])
        ax.set_facecolor(theme.PANEL)
        ax.add_collection(PolyCollection(rings, facecolors=colours, edgecolors=theme.PANEL_EDGE,
                                         linewidths=0.6))
        ax.autoscale_view()
        ax.set_aspect("equal")
        ax.set_xticks([]), ax.set_yticks([])
        self.highlight = Polygon(np.zeros((3, 2)), closed=True, fill=False,
                                 edgecolor=theme.HIGHLIGHT, linewidth=2.5, animated=True)
        ax.add_patch(self.highlight)
        # The trend: the township's series and a marker at the month.
        self.trend_ax = ax = fig.add_subplot(grid[1, 3:])
        ax.set_facecolor(theme.PANEL)
        ax.grid(True, color=theme.GRID)
        ax.tick_params(colors=theme.TEXT_DIM)
        months = queries.months
        ax.set_xlim(np.datetime64(months[0], "D"), np.datetime64(months[-1], "D"))
        series = [queries.series(c, indicator).values for c in self.codes]
        finite = np.concatenate([s[np.isfinite(s)] for s in series] or [np.zeros(1)])
        if finite.size:
            ax.set_ylim(float(finite.min()), float(finite.max()) or 1.0)
        (self.line,) = ax.plot([], [], color=theme.ACCENT, linewidth=2, animated=True)
        (self.marker,) = ax.plot([], [], "o", color=theme.HIGHLIGHT, markersize=8, animated=True)
        # The ranking: every township's bar, the selected one highlighted.
        self.rank_ax = ax = fig.add_subplot(grid[2, 3:])
        ax.set_facecolor(theme.PANEL)
        ax.tick_params(colors=theme.TEXT_DIM)
        order = np.argsort(np.nan_to_num(v, nan=-np.inf))
        self.rank_codes = [self.codes[k] for k in order]
        names = {r.code: r.name for r in queries.townships}
        self.bars = ax.barh(range(len(order)), np.nan_to_num(v[order]), color=theme.ACCENT,
                            animated=True)
        ax.set_yticks(range(len(order)), [names.get(c, c) for c in self.rank_codes], fontsize=8)
        self._colours = {True: theme.HIGHLIGHT, False: theme.ACCENT}
        self.canvas.show()
        settle(app, self.canvas)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)
        self._data: dict[str, tuple] = {}

    def prepare(self, code: str) -> None:
        """What a selection shows, read before the timing (the cockpit's answers are warm too)."""
        if code in self._data:
            return
        kpis = self.q.kpis(code, self.kpi_indicators, self.month)
        series = self.q.series(code, self.indicator)
        self._data[code] = (kpis, series)

    def _apply(self, code: str) -> None:
        kpis, series = self._data[code]
        for text, ind in zip(self.kpi_texts, self.kpi_indicators):
            value = kpis[ind].value
            text.set_text("—" if value is None else f"{value:,.1f}")
        rings = self.outlines.get(code) or [np.zeros((3, 2))]
        self.highlight.set_xy(rings[0])
        x = series.periods
        self.line.set_data(x, series.values)
        at = np.datetime64(self.month, "D")
        hit = np.nonzero(x == at)[0]
        self.marker.set_data(x[hit], series.values[hit])
        for bar, c in zip(self.bars, self.rank_codes):
            bar.set_color(self._colours[c == code])

    def _animated(self):
        return [*self.kpi_texts, self.highlight, self.line, self.marker, *self.bars]

    def naive_ms(self, code: str) -> float:
        """Every artist drawn again (`draw()`), then shown."""
        t = time.perf_counter()
        self._apply(code)
        for artist in self._animated():
            artist.set_animated(False)
        self.canvas.draw()
        self.canvas.update()
        self._settle(self.app, self.canvas)
        elapsed = (time.perf_counter() - t) * 1000
        for artist in self._animated():
            artist.set_animated(True)
        return elapsed

    def blit_ms(self, code: str) -> float:
        """The static background restored, only the changed artists drawn over it and blitted."""
        t = time.perf_counter()
        self._apply(code)
        self.canvas.restore_region(self.background)
        for artist in self._animated():
            artist.axes.draw_artist(artist)
        self.canvas.blit(self.fig.bbox)
        self._settle(self.app, self.canvas)
        return (time.perf_counter() - t) * 1000

    def close(self) -> None:
        self.canvas.close()
        self.canvas.deleteLater()
