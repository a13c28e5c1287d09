"""A read that takes a while (a nation's 45,000 alerts: 0.2-0.4 s) done on a worker thread, its
answer handed back on the GUI thread, so the window paints its first frame without waiting.

One thread per reader; it reads once the widget it reads for has painted (reading sooner, it
would take the CPU and the GIL from building and painting the first frame). Requests carry a
key: a newer request replaces one of the same key still waiting, and an answer whose key was
asked again meanwhile is dropped (the newer one follows), so a panel shows its last answer
until the newest arrives.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal


class BackgroundReader(QObject):
    _answered = Signal(object, object, object, object)   # key, request number, answer, error

    def __init__(self, name: str, widget):
        """`widget`: the reads wait for its first paint (it is also the reader's parent)."""
        super().__init__(widget)
        self._name = name
        self._painted = False
        self._wake = threading.Condition()
        self._waiting: dict[Any, tuple[int, Callable[[], Any]]] = {}
        self._asked: dict[Any, int] = {}            # key -> the newest request's number
        self._then: dict[Any, tuple[Callable, Callable]] = {}
        self._number = 0
        self._thread: threading.Thread | None = None
        self._answered.connect(self._on_answered, Qt.ConnectionType.QueuedConnection)

    def request(self, key, read: Callable[[], Any], then: Callable[[Any], None],
                failed: Callable[[Exception], None]) -> None:
        """Run `read()` off the GUI thread, then `then(answer)` (or `failed(error)`) on it,
        unless `key` was asked again in between."""
        with self._wake:
            self._number += 1
            self._asked[key] = self._number
            self._waiting[key] = (self._number, read)
            self._then[key] = (then, failed)
            self._wake.notify()
            first = self._thread is None
            if first:
                self._thread = threading.Thread(target=self._run, name=self._name,
                                                daemon=True)
                self._thread.start()
        if first:
            from .app import after_first_paint

            after_first_paint(self.parent(), self._on_painted)

    def _on_painted(self) -> None:
        with self._wake:
            self._painted = True
            self._wake.notify()

    def pending(self, key) -> bool:
        """An answer for `key` is still to come."""
        with self._wake:
            return key in self._asked

    @property
    def busy(self) -> bool:
        """Some answer is still to come."""
        with self._wake:
            return bool(self._asked)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not (self._painted and self._waiting):
                    self._wake.wait()
                key = next(iter(self._waiting))
                number, read = self._waiting.pop(key)
            answer = error = None
            try:
                answer = read()
            except Exception as exc:  # noqa: BLE001 - handed to the GUI thread's `failed`
                error = exc
            try:
                self._answered.emit(key, number, answer, error)
            except RuntimeError:   # the window was closed and deleted meanwhile
                return

    def _on_answered(self, key, number: int, answer, error) -> None:
        with self._wake:
            if self._asked.get(key) != number:
                return   # asked again since: that answer follows
            del self._asked[key]
            then, failed = self._then.pop(key)
        if error is None:
            then(answer)
        else:
            failed(error)
