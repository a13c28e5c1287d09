"""Advisory file locks that the operating system drops when the holder dies (POSIX and Windows).

Locks held through an open file descriptor are what make crashes harmless here: a writer or reader
killed at any moment releases its lock with its process, so nobody ever has to guess from a pid
whether a lock is stale.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class LockTimeout(TimeoutError):
    pass


class FileLock:
    """An exclusive lock on `path`, held from `acquire()` until `release()` or process death."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if _try_lock(fd):
            self._fd = fd
            return True
        os.close(fd)
        return False

    def acquire(self, timeout: float = 30.0) -> "FileLock":
        deadline = time.monotonic() + timeout
        while not self.try_acquire():
            if time.monotonic() > deadline:
                raise LockTimeout(f"等待锁超时：{self.path}")
            time.sleep(0.02)
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            _unlock(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "FileLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked_by_someone(path: Path) -> bool:
    """True while another live process (or another FileLock here) holds `path`."""
    probe = FileLock(path)
    try:
        if probe.try_acquire():
            probe.release()
            return False
    except FileNotFoundError:
        return False
    return True
