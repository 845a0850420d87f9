"""Weight initialisers shared by the built-in cells (sampled in float32/float64, then cast).

* `glorot`: U(+-sqrt(6 / (fan_in + fan_out))), Glorot & Bengio 2010 (Keras/Flax default kernels).
* `orthogonal_blocks`: n independent random orthogonal (H, H) blocks side by side, (H, nH)
  (Saxe et al. 2014; Keras/Flax default recurrent kernels), times ``scale``.
* `uniform`: U(-k, k), PyTorch's default for nn.RNN / nn.GRU / nn.LSTM with k = 1/sqrt(H).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array

__all__ = ["glorot", "orthogonal_blocks", "sample_dtype", "uniform"]


def sample_dtype(dtype: str) -> jnp.dtype:
    """float64 for a float64 cell, float32 otherwise (LAPACK's QR has no half precision).

    Args: dtype: the cell's dtype name. Returns: the dtype to sample weights in.
    """
    return jnp.dtype(jnp.float64 if dtype == "float64" else jnp.float32)


def glorot(key: Array, shape: tuple[int, int], dt: jnp.dtype) -> Array:
    """Glorot-uniform matrix: entries ~ U(+-sqrt(6 / (fan_in + fan_out))).

    Args: key; shape (fan_in, fan_out); dt: dtype. Returns: (fan_in, fan_out).
    """
    return jax.nn.initializers.glorot_uniform()(key, shape, dt)


def orthogonal_blocks(key: Array, hidden: int, n: int, dt: jnp.dtype, scale: float = 1.0) -> Array:
    """[Q_1 ... Q_n] * scale, each Q_j (H, H) an independent random orthogonal matrix.

    Args: key; hidden H; n blocks; dt: dtype; scale. Returns: (H, n H).
    """
    init = jax.nn.initializers.orthogonal(scale)
    blocks = [init(k, (hidden, hidden), dt) for k in jax.random.split(key, n)]
    return jnp.concatenate(blocks, axis=1)


def uniform(key: Array, shape: tuple[int, ...], bound: float, dt: jnp.dtype) -> Array:
    """Entries ~ U(-bound, bound).

    Args: key; shape; bound > 0; dt: dtype. Returns: an array of `shape`.
    """
    return jax.random.uniform(key, shape, dt, -bound, bound)
