"""A user's mistake, whatever layer finds it: one line, exit status 2, never a traceback."""
from __future__ import annotations


class UsageError(Exception):
    """Bad arguments or input named in one line (the command line prints it and exits 2)."""
