"""The workload simulator: workloads, traces, policies, replay engines and miss-ratio curves.

::

    from cachesim.sim import load_trace, simulate, miss_ratio_curve, zipf

    result = simulate(zipf(10_000, 1_000_000, alpha=0.9), capacity=1_000, policy="lru")
    result.hit_ratio, result.to_frame()
"""

from cachesim.sim.result import SimulationResult
from cachesim.sim.workload import (
    OP_DELETE,
    OP_GET,
    OP_SET,
    Workload,
    concat,
    diurnal,
    hotspot,
    loop,
    scan,
    shifting_hotset,
    uniform,
    with_rate,
    with_sizes,
    with_ttls,
    with_writes,
    zipf,
)

__all__ = [
    "OP_DELETE",
    "OP_GET",
    "OP_SET",
    "SimulationResult",
    "Workload",
    "concat",
    "diurnal",
    "hotspot",
    "loop",
    "scan",
    "shifting_hotset",
    "uniform",
    "with_rate",
    "with_sizes",
    "with_ttls",
    "with_writes",
    "zipf",
]
