"""`python -m cockpit` runs the same command as the `cockpit` entry point."""
import sys

from .cli import main

sys.exit(main())
