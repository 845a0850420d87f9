"""Lyapunov exponents of the LSTM's state map by Benettin's QR method.

lambda_j = lim (1/T) sum_t ln|R_t[j, j]| where J_t Q_{t-1} = Q_t R_t (QR) pushes an orthonormal
frame through the step Jacobians J_t. Positive: perturbations grow (chaos, exploding);
negative: they shrink (vanishing memory).

References:
    Benettin et al. 1980; Vogt et al. 2022, "On Lyapunov exponents for RNNs".
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from analysis.cells import lstm

__all__ = ["lyapunov_qr", "lyapunov_spectrum"]

Array = jax.Array


def lyapunov_qr(
    step_fn: Callable[[Array, Array], Array],
    state0: ArrayLike,
    inputs: ArrayLike,
    k: int,
    key: ArrayLike,
    burn_in: int = 0,
) -> Array:
    """The k largest Lyapunov exponents of s_t = step_fn(s_{t-1}, inputs[t]), s (D,).

    Benettin's QR method: a random orthonormal frame Q (D, k) is pushed through the Jacobian
    (one `jax.linearize` per step, vmapped over the k columns), re-orthonormalised with QR,
    and lambda_j = mean over steps t >= burn_in of ln|R_t[j, j]|. Returned in descending order,
    (k,). A random frame, not the identity, whose columns can lie in the Jacobian's kernel.

    Args:
      step_fn: (s (D,), x_t) -> s_t (D,); state0: (D,); inputs: pytree with leading axis T;
      k: 1 <= k <= D; key: PRNG key of the frame; burn_in: steps not averaged, < T.
    Returns:
      (k,) exponents per step, descending, in float32 (float64 for a float64 state).
    """
    state0 = jnp.asarray(state0)
    if state0.ndim != 1:
        raise ValueError(f"lyapunov_qr: state0 must be 1-D (D,), got shape {state0.shape}")
    d = state0.shape[0]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= d:
        raise ValueError(f"lyapunov_qr: k must be an integer in [1, {d}], got {k!r}")
    t_len = jax.tree_util.tree_leaves(inputs)[0].shape[0]
    if not 0 <= burn_in < t_len:
        raise ValueError(f"lyapunov_qr: burn_in must be in [0, {t_len - 1}], got {burn_in}")
    # The frame and its QR stay in float32 (float64 if the state is): LAPACK has no
    # half-precision QR, and the frame is a measuring device, not part of the model.
    qdt = jnp.float64 if state0.dtype == jnp.float64 else jnp.float32
    q0, _ = jnp.linalg.qr(jax.random.normal(key, (d, k), qdt))

    def body(carry: tuple[Array, Array, Array], xt: tuple[Array, Array]) -> tuple:
        state, q, acc = carry
        x, t = xt
        new_state, jvp = jax.linearize(lambda s: step_fn(s, x), state)
        jq = jax.vmap(jvp, in_axes=1, out_axes=1)(q.astype(state.dtype))
        q, r = jnp.linalg.qr(jq.astype(qdt))
        logs = jnp.log(jnp.abs(jnp.diagonal(r)))
        acc = acc + jnp.where(t >= burn_in, logs, jnp.zeros_like(logs))
        return (new_state, q, acc), None

    init = (state0, q0, jnp.zeros((k,), qdt))
    (_, _, acc), _ = jax.lax.scan(body, init, (inputs, jnp.arange(t_len)))
    return -jnp.sort(-acc / (t_len - burn_in))


@functools.partial(jax.jit, static_argnames=("cfg", "k", "burn_in"))
def _lyapunov(params, xs, cfg, k, key, burn_in, h0, c0):
    zx = lstm.input_projection(params, xs, cfg)
    batch, hn = zx.shape[1], cfg.hidden_size
    h, c = lstm.initial_carry(cfg, batch, h0, c0)

    def step_fn(s: Array, z: Array) -> Array:
        (h, c), _ = lstm.step(params, cfg, (s[:hn], s[hn:]), z)
        return jnp.concatenate([h, c])

    one = functools.partial(lyapunov_qr, step_fn, k=k, burn_in=burn_in)
    per_seq = jax.vmap(lambda s0, z, kk: one(s0, z, key=kk), in_axes=(0, 1, 0))(
        jnp.concatenate([h, c], axis=1), zx, jax.random.split(key, batch)
    )
    return jnp.mean(per_seq, axis=0)


def lyapunov_spectrum(
    params: lstm.LSTMParams,
    xs: ArrayLike,
    cfg: lstm.LSTMConfig,
    k: int = 8,
    key: ArrayLike | None = None,
    *,
    burn_in: int | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> Array:
    """The k largest Lyapunov exponents (per step, descending) of (h, c) -> (h, c), (k,).

    Each sequence of the batch xs (B, T, I) is its own trajectory of the 2H-dimensional
    state map; `lyapunov_qr` runs on each (own random frame) and the exponents are averaged
    over the batch. ``burn_in`` (default T // 10) steps let the frame align first.

    Args:
      params: LSTMParams; xs: (B, T, I); cfg: the cell; k: 1 <= k <= 2H; key: PRNG key
        (default key(0)); burn_in: as above; h0, c0: broadcastable to (B, H).
    Returns:
      (k,) exponents per step, descending.
    """
    xs = lstm.prepare_inputs(xs, cfg, "gradients.lyapunov_spectrum")
    t_len = xs.shape[1] if xs.ndim == 3 else 0
    if not isinstance(k, int) or not 1 <= k <= 2 * cfg.hidden_size:
        raise ValueError(f"lyapunov_spectrum: k must be in [1, {2 * cfg.hidden_size}], got {k!r}")
    burn_in = t_len // 10 if burn_in is None else burn_in
    key = jax.random.key(0) if key is None else key
    return _lyapunov(params, xs, cfg, k, key, burn_in, h0, c0)
