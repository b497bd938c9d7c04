"""``python -m localcloud start|stop|status BASE``."""

import sys

from .cli import main

sys.exit(main())
