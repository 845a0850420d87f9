"""Layer 2: gradient flow. Per-step norms, decay fits, Lyapunov spectra, telemetry."""
