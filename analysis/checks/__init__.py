"""Layer 1: checks of kernels (`verify`) and of user formulas (`formula`)."""
