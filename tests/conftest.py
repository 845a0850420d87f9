"""Float64 oracles everywhere; a derandomised hypothesis profile so CI is repeatable."""

import os

os.environ.setdefault("ACTGRAD_PROGRESS", "0")

import jax
from hypothesis import settings

jax.config.update("jax_enable_x64", True)

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60)
settings.load_profile("ci")
