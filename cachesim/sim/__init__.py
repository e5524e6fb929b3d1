"""The workload simulator: workloads, traces, policies, replay engines and miss-ratio curves.

::

    from cachesim.sim import load_trace, simulate, miss_ratio_curve, zipf

    result = simulate(zipf(10_000, 1_000_000, alpha=0.9), capacity=1_000, policy="lru")
    result.hit_ratio, result.to_frame()
    miss_ratio_curve(load_trace("trace.oracleGeneral.zst"), sizes=[1_000, 10_000, 100_000])
"""

# -- core: workloads, traces, the virtual engine, miss-ratio curves -----------------------
from cachesim.sim.engine import OFFLINE_POLICIES, resolve_capacity, simulate

# -- models, live replay and sweeps (plots stay a submodule: matplotlib loads on use) ------
from cachesim.sim.live import LiveResult, replay_live, replay_live_sync
from cachesim.sim.models import (
    ORIGINS,
    PROVIDERS,
    UPSTASH_PAYG,
    CommandsPerOp,
    Estimate,
    LatencyModel,
    Pricing,
    ProviderModel,
    Targets,
    estimate,
    estimate_many,
    latency_samples,
)
from cachesim.sim.mrc import DEFAULT_FRACTIONS, default_sizes, miss_ratio_curve, shards_sample
from cachesim.sim.recorder import TraceRecorder
from cachesim.sim.result import SimulationResult
from cachesim.sim.sweep import sweep
from cachesim.sim.traces import FORMATS, detect_format, iter_trace, load_trace, write_trace
from cachesim.sim.workload import (
    GENERATORS,
    OP_DELETE,
    OP_GET,
    OP_NAMES,
    OP_SET,
    Workload,
    che_hit_ratio,
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
    zipf_probabilities,
)

__all__ = [
    "DEFAULT_FRACTIONS",
    "FORMATS",
    "GENERATORS",
    "OFFLINE_POLICIES",
    "OP_DELETE",
    "OP_GET",
    "OP_NAMES",
    "OP_SET",
    "ORIGINS",
    "PROVIDERS",
    "UPSTASH_PAYG",
    "CommandsPerOp",
    "Estimate",
    "LatencyModel",
    "LiveResult",
    "Pricing",
    "ProviderModel",
    "SimulationResult",
    "Targets",
    "TraceRecorder",
    "Workload",
    "che_hit_ratio",
    "concat",
    "default_sizes",
    "detect_format",
    "diurnal",
    "estimate",
    "estimate_many",
    "hotspot",
    "iter_trace",
    "latency_samples",
    "load_trace",
    "loop",
    "miss_ratio_curve",
    "replay_live",
    "replay_live_sync",
    "resolve_capacity",
    "scan",
    "shards_sample",
    "shifting_hotset",
    "simulate",
    "sweep",
    "uniform",
    "with_rate",
    "with_sizes",
    "with_ttls",
    "with_writes",
    "write_trace",
    "zipf",
    "zipf_probabilities",
]
