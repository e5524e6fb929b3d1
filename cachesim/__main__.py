"""``python -m cachesim`` runs the ``cachesim`` command."""

import sys

from cachesim.cli import main

sys.exit(main())
