"""Processes, devices, hosts, locks, memory probes, XLA flags and the compile cache: what a run
needs from its machine, apart from the science (layer 1; the science never imports the process
machinery, only this interface).

What experiments call::

    configure_xla()              the XLA flags actgrad runs with: first, before JAX starts (the
                                 command line, python -m analysis, the workers and the tests do;
                                 importing analysis does not)
    use_device("cpu" | "gpu")    pick JAX's platform and start it now (a missing one: UsageError)
    enable_compile_cache()       JAX's persistent compilation cache (ACTGRAD_JAX_CACHE)
    seed_keys(seeds)             one PRNG key per seed, as the seed axis of the maps below
    map_seeds(fn, keys, *args)   fn vmapped over seeds, the seed axis sharded over the devices
    map_batch(fn, keys, *args)   the same for a batch of per-seed states

The machinery behind them, for the orchestration (`analysis.experiments.sweep`, the CLI):
`pool` and `pool_worker` (sweep cells in worker processes, never re-importing the caller's
script), `hosts` (multi-process runs), `sharding`, `lock` (one run per output folder),
`memory` (what fits), `compile_cache`, `xla_flags`, `devices`.
"""

from analysis.runtime.compile_cache import enable as enable_compile_cache
from analysis.runtime.devices import use_device
from analysis.runtime.sharding import map_batch, map_seeds, seed_keys
from analysis.runtime.xla_flags import configure_xla

__all__ = [
    "configure_xla",
    "enable_compile_cache",
    "map_batch",
    "map_seeds",
    "seed_keys",
    "use_device",
]
