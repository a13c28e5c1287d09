"""The period control: a month slider with a play button that animates every panel through time."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider

from ..core import formatting as fmt
from .context import CockpitContext
from .panel import Panel, SteadyLabel, signals_blocked

_TEXT = {"zh_CN": {"play": "播放", "pause": "暂停", "period": "时间"},
         "en": {"play": "Play", "pause": "Pause", "period": "Period"}}


class PeriodBar(Panel):
    STEP_MS = 900
    fields = frozenset({"period"})
    TEXT = _TEXT

    def __init__(self, ctx: CockpitContext, parent=None):
        super().__init__(ctx, parent)
        self.setObjectName("periodBar")
        t = self.t
        self.play_button = QPushButton("▶", objectName="playButton", toolTip=t["play"])
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.start_label = QLabel(objectName="dim")
        self.end_label = QLabel(objectName="dim")
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="periodSlider")
        self.slider.setPageStep(12)
        self.slider.valueChanged.connect(self._on_slider)
        # a new month, no new layout of the window: it keeps the widest room a month needed
        self.current_label = SteadyLabel(objectName="periodLabel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 2, 12, 2)
        layout.addWidget(self.play_button)
        layout.addWidget(self.start_label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.end_label)
        layout.addSpacing(12)
        layout.addWidget(self.current_label)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.step)
        self.sync()

    @property
    def months(self):
        return self.ctx.queries.months

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def on_reload(self) -> None:
        months = self.months
        with signals_blocked(self.slider):
            self.slider.setRange(0, max(0, len(months) - 1))
        if months:
            self.start_label.setText(fmt.month_label(months[0], self.ctx.lang))
            self.end_label.setText(fmt.month_label(months[-1], self.ctx.lang))
        self.on_selection(self.fields, self.ctx.state)

    def on_selection(self, changed: frozenset, state) -> None:
        months = self.months
        if state.period in months:
            with signals_blocked(self.slider):
                self.slider.setValue(months.index(state.period))
        self.current_label.setText(fmt.month_label(state.period, self.ctx.lang))

    def _on_slider(self, index: int) -> None:
        # Dragging the slider is one gesture: record it once, not every month it passes.
        self.ctx.select(record=not self.slider.isSliderDown(), period=self.months[index])

    def _on_play_toggled(self, on: bool) -> None:
        t = self.t
        self.play_button.setText("❚❚" if on else "▶")
        self.play_button.setToolTip(t["pause"] if on else t["play"])
        if on:
            if self.slider.value() == self.slider.maximum():
                self.ctx.select(record=False, period=self.months[0])
            self._timer.start(self.STEP_MS)
        else:
            self._timer.stop()

    def step(self) -> None:
        """Advance one month; playback stops at the last month."""
        index = self.slider.value() + 1
        if index > self.slider.maximum():
            self.play_button.setChecked(False)
            return
        self.ctx.select(record=False, period=self.months[index])
        if index == self.slider.maximum():
            self.play_button.setChecked(False)
