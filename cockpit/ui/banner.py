"""The problem banner: a thin strip under the header naming what is wrong in the background (the
warehouse folder gone, the operations store locked…) and since when, without ever blocking.

A wall runs unattended; a modal message box for a dropped network share would sit there until
someone walks up and clicks it, and the picture behind it would stop. Background problems are
reported here by key instead: the first report of a key records since when, later reports only
update the text, and `clear(key)` takes the line away when the problem is gone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Callable, Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

_SINCE = {"zh_CN": "自 {time} 起", "en": "since {time}"}


@dataclass(frozen=True)
class Problem:
    key: str
    text: str
    since: datetime


def since_text(since: datetime, now: datetime, lang: str = "zh_CN") -> str:
    """"自 14:05 起" today; with the day when the problem is older than today (a wall runs for
    months, and "since 14:05" three days later would mislead)."""
    if since.date() == now.date():
        time = f"{since:%H:%M}"
    elif lang == "en":
        time = f"{since.day} {since:%b} {since:%H:%M}"
    else:
        time = f"{since.month}月{since.day}日 {since:%H:%M}"
    return _SINCE.get(lang, _SINCE["zh_CN"]).format(time=time)


class ProblemBanner(QFrame):
    """Hidden while nothing is wrong; one line per problem, oldest first."""

    changed = Signal()

    def __init__(self, lang: str = "zh_CN", clock: Callable[[], datetime] = datetime.now,
                 parent=None):
        super().__init__(parent)
        self.setObjectName("problemBanner")
        self.lang = lang
        self._clock = clock
        self._problems: dict[str, Problem] = {}
        self.label = QLabel(objectName="problemText")
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 3, 14, 3)
        layout.addWidget(self.label)
        self.hide()

    def report(self, key: str, text: str) -> None:
        """Say that `key` is a problem now; the first report of it starts its "since"."""
        known = self._problems.get(key)
        if known is not None and known.text == text:
            return
        since = known.since if known is not None else self._clock()
        self._problems[key] = Problem(key, text, since)
        self._update()

    def clear(self, key: str) -> None:
        if self._problems.pop(key, None) is not None:
            self._update()

    def problems(self) -> Mapping[str, Problem]:
        """The problems shown now, by key (read-only)."""
        return MappingProxyType(self._problems)

    def text(self) -> str:
        return self.label.text()

    def _update(self) -> None:
        now = self._clock()
        lines = [f"⚠ {p.text}（{since_text(p.since, now, self.lang)}）" if self.lang != "en"
                 else f"⚠ {p.text} ({since_text(p.since, now, self.lang)})"
                 for p in sorted(self._problems.values(), key=lambda p: p.since)]
        self.label.setText("\n".join(lines))
        self.setVisible(bool(lines))
        self.changed.emit()
