"""Layer 4: benchmarks. LSTM speed against the installed peers, kernel speed against jax.nn."""
