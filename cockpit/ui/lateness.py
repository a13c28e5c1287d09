"""How a panel says that what it shows is late: the period in amber (one period overdue) or red
(more), with a tooltip saying which period was due. The rule itself is in core/freshness.py."""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from ..core.formatting import period_label
from ..core.freshness import LATE, VERY_LATE, freshness
from . import theme

_TEXT = {
    "zh_CN": {"late": "迟报", "very_late": "滞后 {n} 期", "missing": "无数据",
              "tip": "按{freq}报送，截至今天应有 {due} 的数据，当前为 {period}",
              "tip_ok": "按{freq}报送，截至今天应有 {due} 的数据：按时",
              "freq": {"month": "月", "quarter": "季度", "year": "年度"}},
    "en": {"late": "late", "very_late": "{n} periods late", "missing": "no data",
           "tip": "Reported {freq}; {due} was due by today, latest is {period}",
           "tip_ok": "Reported {freq}; {due} was due by today: on time",
           "freq": {"month": "monthly", "quarter": "quarterly", "year": "yearly"}},
}


def lateness(ctx, period: date | None, frequency: str) -> tuple[str, str | None, str]:
    """(short word or "", colour or None, tooltip) for a panel showing `period` today."""
    # Asked a dozen times per selection (each card, the trend, the map) for a few periods.
    return _lateness(ctx.lang, period, frequency, ctx.today())


@lru_cache(maxsize=1024)
def _lateness(lang: str, period: date | None, frequency: str,
              today: date) -> tuple[str, str | None, str]:
    t = _TEXT["en" if lang == "en" else "zh_CN"]
    state = freshness(period, frequency, today)
    due = period_label(state.due, frequency, lang)
    freq = t["freq"].get(frequency, frequency)
    if period is None:
        return t["missing"], theme.BAD, t["tip"].format(freq=freq, due=due, period="—")
    shown = period_label(period, frequency, lang)
    if state.level == LATE:
        return t["late"], theme.ACCENT_2, t["tip"].format(freq=freq, due=due, period=shown)
    if state.level == VERY_LATE:
        return (t["very_late"].format(n=state.behind), theme.BAD,
                t["tip"].format(freq=freq, due=due, period=shown))
    return "", None, t["tip_ok"].format(freq=freq, due=due)


def period_html(ctx, period: date | None, frequency: str) -> tuple[str, str]:
    """(rich text, tooltip): the period, coloured and tagged when it is late."""
    word, colour, tip = lateness(ctx, period, frequency)
    text = period_label(period, frequency, ctx.lang) if period is not None else "—"
    if colour is None:
        return text, tip
    return f"<span style='color:{colour}'>{text} · {word}</span>", tip


def period_plain(ctx, period: date | None, frequency: str) -> str:
    word, _, _ = lateness(ctx, period, frequency)
    text = period_label(period, frequency, ctx.lang) if period is not None else "—"
    return f"{text} · {word}" if word else text
