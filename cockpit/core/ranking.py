"""Ranking townships by an indicator's polarity: who is best, who is worst, ties shared.

The one rule every view uses (the map's hover, the ranking panel, the detail page's SQL, the
wall's rotation): competition ranks (1, 2, 2, 4), higher-is-better and lower-is-better by their
direction, and neutral indicators (no better or worse) ranked by value, largest first — the
ranking then says 按数值排序, never 越高越好.
"""
from __future__ import annotations

import numpy as np


def ranks(values, polarity: str) -> np.ndarray:
    """Competition rank (1 = best, or largest for neutral indicators; ties share a rank) of each
    value among the finite ones; 0 where a value is missing."""
    values = np.asarray(values, dtype=float)
    out = np.zeros(len(values), dtype=int)
    finite = np.isfinite(values)
    if not finite.any():
        return out
    ordered = np.sort(values[finite])
    if polarity == "lower":
        better = np.searchsorted(ordered, values[finite], side="left")
    else:
        better = len(ordered) - np.searchsorted(ordered, values[finite], side="right")
    out[finite] = better + 1
    return out


def best_first(codes, values, polarity: str) -> list:
    """The codes of the reported values, best first (neutral: largest first); ties keep the
    given order; missing values left out."""
    values = np.asarray(values, dtype=float)
    sign = 1.0 if polarity == "lower" else -1.0
    finite = [k for k in range(len(values)) if np.isfinite(values[k])]
    return [codes[k] for k in sorted(finite, key=lambda k: (sign * values[k], k))]
