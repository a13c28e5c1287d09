"""One-line progress bars on stderr for long command-line work (building, importing, briefing)."""
from __future__ import annotations

import sys
import time


def steps(total: int):
    """A bar driven by step(label) calls, `total` of them."""
    state = {"done": 0, "start": time.monotonic()}

    def step(label: str) -> None:
        state["done"] += 1
        done = min(state["done"], total)
        bar = "█" * (20 * done // total) + "░" * (20 - 20 * done // total)
        sys.stderr.write(f"\r  [{bar}] {done}/{total} {label:<16}")
        if done == total:
            sys.stderr.write(f"  {time.monotonic() - state['start']:.1f} 秒\n")
        sys.stderr.flush()
    return step


def fraction_bar():
    """A bar driven by (fraction 0…1, label) callbacks."""
    state = {"start": time.monotonic(), "shown": None}

    def update(fraction: float, label: str) -> None:
        fraction = max(0.0, min(1.0, fraction))
        filled = int(20 * fraction)
        line = f"\r  [{'█' * filled}{'░' * (20 - filled)}] {fraction * 100:3.0f}% {label:<14}"
        if line == state["shown"]:
            return
        state["shown"] = line
        sys.stderr.write(line)
        if fraction >= 1.0:
            sys.stderr.write(f"  {time.monotonic() - state['start']:.1f} 秒\n")
        sys.stderr.flush()
    return update
