"""City Cockpit (城市大脑 · 数字驾驶舱): a desktop cockpit over a county's indicator warehouse."""
import os

# numpy's OpenBLAS starts a thread per core when it loads (~60 ms of a 2-core start-up, more
# on a many-core wall PC); the cockpit does no linear algebra large enough to use them.
# (Before numpy loads, so set here; a user's own setting wins.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
