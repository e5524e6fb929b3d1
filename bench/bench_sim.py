"""LRU load + replay and the 10-size LRU miss-ratio curve against libcachesim.

The LRU rows of ``bench_policies.py`` (which benchmarks every policy both
libraries have); the same options.  Run: ``python bench/bench_sim.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_policies import main

if __name__ == "__main__":
    sys.exit(main(policies="lru"))
