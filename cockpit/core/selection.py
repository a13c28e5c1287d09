"""The one selection every panel follows: region, indicator, period (a month) and domain.

Panels never talk to each other; they change the selection and listen to it. Setting several fields
at once emits one change; setting a field to its current value emits nothing. Every user change is
recorded so back/forward work like a browser's.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Callable

FIELDS = ("region", "indicator", "period", "domain")

Listener = Callable[[frozenset, "SelectionState"], None]


@dataclass(frozen=True)
class SelectionState:
    region: str      # region code: the county or one of its townships
    indicator: str   # indicator code
    period: date     # first day of the selected month
    domain: str      # "overview" or a domain code of the catalogue

    def diff(self, other: "SelectionState") -> frozenset:
        return frozenset(f.name for f in fields(self)
                         if getattr(self, f.name) != getattr(other, f.name))


class Selection:
    HISTORY_LIMIT = 200

    def __init__(self, state: SelectionState):
        self._state = state
        self._listeners: list[Listener] = []
        self._back: list[SelectionState] = []
        self._forward: list[SelectionState] = []

    @property
    def state(self) -> SelectionState:
        return self._state

    def __getattr__(self, name):
        if name in FIELDS:
            return getattr(self._state, name)
        raise AttributeError(name)

    def connect(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(changed_fields, state)` after each change; returns a disconnector."""
        self._listeners.append(listener)

        def disconnect() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)
        return disconnect

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def update(self, record: bool = True, **changes) -> frozenset:
        """Change any fields at once; one notification; returns the fields that changed.

        `record=False` is for changes that should not fill the history (e.g. period playback).
        """
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise TypeError(f"unknown selection field(s): {', '.join(sorted(unknown))}")
        new = replace(self._state, **changes)
        changed = new.diff(self._state)
        if not changed:
            return changed
        if record:
            self._back.append(self._state)
            del self._back[:-self.HISTORY_LIMIT]
            self._forward.clear()
        self._apply(new, changed)
        return changed

    def fix(self, valid: Callable[[SelectionState], SelectionState]) -> frozenset:
        """Make the state and the whole back/forward history valid, e.g. for a new snapshot that
        no longer holds a month: `valid` maps a state to the nearest valid one. One notification
        if the current state changed; history steps that become no step at all are dropped, so
        going back never lands on a month that is gone."""
        new = valid(self._state)
        self._back = _without_repeats([valid(s) for s in self._back] + [new])[:-1]
        ahead = _without_repeats([new] + [valid(s) for s in reversed(self._forward)])[1:]
        self._forward = ahead[::-1]
        changed = new.diff(self._state)
        if changed:
            self._apply(new, changed)
        return changed

    def restart(self, state: SelectionState) -> frozenset:
        """Start over at `state` with an empty back/forward history (one notification if the
        state changed): a window handed to its next user as it first opened."""
        self._back.clear()
        self._forward.clear()
        changed = state.diff(self._state)
        if changed:
            self._apply(state, changed)
        return changed

    def _apply(self, new: SelectionState, changed: frozenset) -> None:
        self._state = new
        for listener in list(self._listeners):
            listener(changed, new)

    @property
    def can_go_back(self) -> bool:
        return bool(self._back)

    @property
    def can_go_forward(self) -> bool:
        return bool(self._forward)

    def back(self) -> bool:
        if not self._back:
            return False
        previous = self._back.pop()
        self._forward.append(self._state)
        self._apply(previous, previous.diff(self._state))
        return True

    def forward(self) -> bool:
        if not self._forward:
            return False
        following = self._forward.pop()
        self._back.append(self._state)
        self._apply(following, following.diff(self._state))
        return True


def _without_repeats(states: list[SelectionState]) -> list[SelectionState]:
    out: list[SelectionState] = []
    for state in states:
        if not out or out[-1] != state:
            out.append(state)
    return out
