"""Choropleth classes: an indicator's township values cut into a few classes with round breaks,
each class a colour chosen by the indicator's polarity (the best class gets the palette's best
end). Pure rules, no Qt: the map, the legend and the briefing's small map share them."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .formatting import is_missing, number

# Sequential classes, worst → best (5 classes). Blue-green reads as "good" on a dark
# background; deep red as "needs attention". Neutral indicators go dark → light with the value.
CLASS_COLORS_GOOD_HIGH = ["#b2394a", "#d9774b", "#d8c15a", "#4fb3a6", "#2d8fd5"]
CLASS_COLORS_NEUTRAL = ["#1d3b66", "#25568c", "#2f72b3", "#3a90d6", "#56b4f0"]
NO_DATA = "#2a3446"


@dataclass(frozen=True)
class Classes:
    """Classed colours for one indicator's township values, ascending by value."""
    breaks: tuple[float, ...]        # inner breaks; class k holds breaks[k-1] <= v < breaks[k]
    colors: tuple[str, ...]          # one per class, ascending by value
    labels: tuple[str, ...]          # "< 31", "31 – 35", …, "≥ 37"

    def class_of(self, value: float) -> int:
        return int(np.searchsorted(self.breaks, value, side="right"))

    def color_of(self, value: float | None) -> str:
        if is_missing(value) or not self.colors:
            return NO_DATA
        return self.colors[self.class_of(value)]


def _palette(polarity: str, n: int) -> list[str]:
    """n colours for ascending classes: the best class gets the palette's best end."""
    if polarity == "neutral":
        palette = CLASS_COLORS_NEUTRAL                 # dark = low, light = high
    elif polarity == "lower":
        palette = CLASS_COLORS_GOOD_HIGH[::-1]         # lowest values are best
    else:
        palette = CLASS_COLORS_GOOD_HIGH
    if n == 1:
        return [palette[len(palette) // 2]]
    picks = np.round(np.linspace(0, len(palette) - 1, n)).astype(int)
    return [palette[i] for i in picks]


def _nice_breaks(values: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    """Quantile breaks rounded to a round step; the step is refined until no break is lost."""
    lo, hi = float(values.min()), float(values.max())
    raw = np.quantile(values, np.linspace(0, 1, n + 1)[1:-1])
    raw = np.unique(raw[(raw > lo) & (raw <= hi)])
    if not len(raw):    # most values tied at the minimum: split off the rest
        raw = np.array([hi])
    base = 10.0 ** math.floor(math.log10((hi - lo) / n))
    for step in (base, base / 2, base / 5, base / 10, base / 100):
        rounded = np.unique(np.round(raw / step) * step)
        rounded = rounded[(rounded > lo) & (rounded <= hi)]
        if len(rounded) == len(raw):
            return rounded, step
    return raw, base / 100


def classify(values, polarity: str, n_classes: int = 5) -> Classes:
    """Up to `n_classes` quantile classes with round breaks over the finite values."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return Classes((), (), ())
    if values.min() == values.max():
        only = float(values[0])
        text = number(only, 0) if only.is_integer() else number(only, 2).rstrip("0")
        return Classes((), tuple(_palette(polarity, 1)), (text,))
    breaks, step = _nice_breaks(values, min(n_classes, len(np.unique(values))))
    breaks = np.round(breaks, _decimals(step))   # 1.2, not 1.2000000000000002
    # As few decimals as the breaks need, the same for every label: 1 (not 1.0), 99.5 / 100.0.
    decimals = next(d for d in range(_decimals(step) + 1)
                    if np.allclose(np.round(breaks, d), breaks, rtol=0, atol=1e-9))
    colors = _palette(polarity, len(breaks) + 1)
    labels = [f"< {number(breaks[0], decimals)}"]
    labels += [f"{number(a, decimals)} – {number(b, decimals)}"
               for a, b in zip(breaks[:-1], breaks[1:])]
    labels.append(f"≥ {number(breaks[-1], decimals)}")
    return Classes(tuple(float(b) for b in breaks), tuple(colors), tuple(labels))


def _decimals(step: float) -> int:
    return max(0, math.ceil(-math.log10(step) - 1e-9))
