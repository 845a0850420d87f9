"""Layer 3: experiments. Long-range tasks, optax training, decay cells, sweeps, results store."""
