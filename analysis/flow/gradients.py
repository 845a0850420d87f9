"""Gradient flow through the LSTM: per-step gradient norms, decay fits, Lyapunov exponents.

* `per_step_grad_norms`: ||dL/dh_t|| and ||dL/dc_t|| for every t from ONE backward pass.
* `fit_decay`: the exponential rate at which those norms shrink (or grow) going back in time.
* `lyapunov_spectrum` / `lyapunov_qr`: the k largest Lyapunov exponents of the state map.
* `telemetry`: forget gate, gate saturation and state size along the sequence (the why).

References:
    Bengio, Simard & Frasconi 1994 (vanishing gradients); Pascanu, Mikolov & Bengio 2013;
    Benettin et al. 1980 and Vogt et al. 2022, "On Lyapunov exponents for RNNs" (QR method).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from analysis.cells import lstm

Array = jax.Array
Loss = Callable[[Array], Array]

SATURATION_EPS = 0.01


class GradNorms(NamedTuple):
    """h[t] = ||dL/dh_t||_F and c[t] = ||dL/dc_t||_F over (batch, hidden); shapes (T,)."""

    h: Array
    c: Array


class DecayFit(NamedTuple):
    """Least-squares fit ln||g|| ~ a + rate * s, s = steps back from the last step.

    rate < 0: vanishing; rate > 0: exploding. ``half_life`` = ln 2 / -rate steps (inf if
    rate >= 0). ``first_nonfinite`` and ``underflow_at`` are the smallest s whose norm is
    non-finite or exactly zero (None if none); those points are left out, ``n_used`` kept.
    """

    rate: float
    half_life: float
    r2: float
    first_nonfinite: int | None
    underflow_at: int | None
    n_used: int


def last_state_loss(hs: Array) -> Array:
    """L = 0.5 * mean_b ||h_T||^2 for hs (B, T, H): the default loss."""
    return 0.5 * jnp.mean(jnp.sum(hs[:, -1] ** 2, axis=-1))


def mean_state_loss(hs: Array) -> Array:
    """L = 0.5 * mean_{b,t} ||h_t||^2 for hs (B, T, H): every step contributes."""
    return 0.5 * jnp.mean(jnp.sum(hs**2, axis=-1))


LOSSES: dict[str, Loss] = {"last": last_state_loss, "mean": mean_state_loss}


def _loss_fn(loss: str | Loss | None) -> Loss:
    if loss is None:
        return last_state_loss
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(
                f"gradients: unknown loss {loss!r}; valid: {', '.join(LOSSES)} or a callable"
            )
        return LOSSES[loss]
    if not callable(loss):
        raise TypeError(f"gradients: loss must be None, a name or a callable, got {loss!r}")
    return loss


def frobenius_per_step(g: Array) -> Array:
    """||g_t||_F over all axes but the first, scaled by max|g_t| so that squares cannot
    underflow or overflow before the norm itself would: (T, ...) -> (T,)."""
    axes = tuple(range(1, g.ndim))
    finite = jnp.isfinite(g)
    a = jnp.where(finite, jnp.abs(g), jnp.zeros_like(g))
    m = jnp.max(a, axis=axes, keepdims=True)
    safe = jnp.where(m > 0, m, jnp.ones_like(m))
    norm = jnp.where(m > 0, safe * jnp.sqrt(jnp.sum((a / safe) ** 2, axis=axes, keepdims=True)), 0)
    # Non-finite entries are flagged explicitly: a max-reduction need not propagate nan.
    has_nan = jnp.any(jnp.isnan(g), axis=axes, keepdims=True)
    has_inf = jnp.any(jnp.isinf(g), axis=axes, keepdims=True)
    norm = jnp.where(has_inf, jnp.inf, norm)
    norm = jnp.where(has_nan, jnp.nan, norm).astype(g.dtype)
    return norm.reshape(g.shape[0])


@functools.partial(jax.jit, static_argnames=("cfg", "loss"))
def _per_step_grads(
    params: lstm.LSTMParams,
    xs: Array,
    cfg: lstm.LSTMConfig,
    loss: Loss,
    h0: Array | None,
    c0: Array | None,
) -> tuple[Array, Array]:
    zx = lstm.input_projection(params, xs, cfg)
    t_len, batch = zx.shape[:2]
    zeros = jnp.zeros((t_len, batch, cfg.hidden_size), zx.dtype)

    def loss_of_perturbations(dc: Array, dh: Array) -> Array:
        carry = lstm.initial_carry(cfg, batch, h0, c0)
        _, hs = lstm.scan_steps(params, cfg, carry, zx, dc, dh)
        return loss(jnp.swapaxes(hs, 0, 1))

    return jax.grad(loss_of_perturbations, argnums=(0, 1))(zeros, zeros)


def per_step_grads(
    params: lstm.LSTMParams,
    xs: ArrayLike,
    cfg: lstm.LSTMConfig,
    loss: str | Loss | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> tuple[Array, Array]:
    """(dL/dc_t, dL/dh_t) for all t, each (T, B, H), total derivatives from one backward pass.

    Zero perturbations dc_t, dh_t ride along the scan as inputs: dc_t is added to c_t before
    h_t is computed from it, dh_t to h_t after (`lstm.step`). L depends on them only through
    the states, so dL/d(dc_t) = dL/dc_t and dL/d(dh_t) = dL/dh_t, the total derivatives
    through every later step, all from the one reverse sweep that ordinary backprop does.
    """
    return _per_step_grads(params, jnp.asarray(xs), cfg, _loss_fn(loss), h0, c0)


def per_step_grad_norms(
    params: lstm.LSTMParams,
    xs: ArrayLike,
    cfg: lstm.LSTMConfig,
    loss: str | Loss | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> GradNorms:
    """||dL/dh_t||_F and ||dL/dc_t||_F over (batch, hidden) for t = 0..T-1, xs (B, T, I).

    ``loss``: None or "last" = 0.5 * mean_b ||h_T||^2; "mean" = 0.5 * mean_{b,t} ||h_t||^2;
    or any callable hs (B, T, H) -> scalar. One forward and one backward pass in all
    (`per_step_grads`). Norms are in ``cfg.dtype``, so float32 underflow shows as 0.
    """
    gc, gh = per_step_grads(params, xs, cfg, loss, h0, c0)
    return GradNorms(h=frobenius_per_step(gh), c=frobenius_per_step(gc))


def fit_decay(norms: ArrayLike) -> DecayFit:
    """Fit ln||g_t|| = a + rate * s by least squares, s = T-1-t steps back from the end.

    ``norms`` (T,) in time order (as `per_step_grad_norms` gives). Zeros (underflow) and
    non-finite values are excluded and reported; with fewer than 2 usable points rate and r2
    are nan. Computed in numpy float64.
    """
    g = np.asarray(norms, np.float64)
    if g.ndim != 1:
        raise ValueError(f"fit_decay: norms must be 1-D (T,), got shape {g.shape}")
    if np.any(g < 0):
        raise ValueError("fit_decay: norms must be >= 0")
    g = g[::-1]
    s = np.arange(g.size, dtype=np.float64)
    finite = np.isfinite(g)
    zero = finite & (g == 0)
    use = finite & (g > 0)
    first_nonfinite = int(np.argmax(~finite)) if not finite.all() else None
    underflow_at = int(np.argmax(zero)) if zero.any() else None
    n = int(use.sum())
    if n < 2:
        return DecayFit(math.nan, math.nan, math.nan, first_nonfinite, underflow_at, n)
    x, y = s[use], np.log(g[use])
    xc, yc = x - x.mean(), y - y.mean()
    rate = float((xc @ yc) / (xc @ xc))
    ss_tot = float(yc @ yc)
    ss_res = float(np.sum((yc - rate * xc) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    half_life = math.log(2) / -rate if rate < 0 else math.inf
    return DecayFit(rate, half_life, r2, first_nonfinite, underflow_at, n)


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
    """
    xs = jnp.asarray(xs)
    t_len = xs.shape[1] if xs.ndim == 3 else 0
    if not isinstance(k, int) or not 1 <= k <= 2 * cfg.hidden_size:
        raise ValueError(f"lyapunov_spectrum: k must be in [1, {2 * cfg.hidden_size}], got {k!r}")
    burn_in = t_len // 10 if burn_in is None else burn_in
    key = jax.random.key(0) if key is None else key
    return _lyapunov(params, xs, cfg, k, key, burn_in, h0, c0)


def _max_abs(x: Array) -> Array:
    """max |x| that is nan if any entry is nan and inf if any is infinite."""
    m = jnp.max(jnp.where(jnp.isfinite(x), jnp.abs(x), jnp.zeros_like(x)))
    m = jnp.where(jnp.any(jnp.isinf(x)), jnp.inf, m)
    return jnp.where(jnp.any(jnp.isnan(x)), jnp.nan, m)


@functools.partial(jax.jit, static_argnames=("cfg",))
def _telemetry(params, xs, cfg, h0, c0):
    zx = lstm.input_projection(params, xs, cfg)

    def body(carry, z):
        h, c = carry
        i, f, g, o = lstm.gate_values(params, cfg, h, z)
        h, c = lstm.cell_update(cfg, (i, f, g, o), c)
        gates = jnp.stack([i, f, o])
        sat = (gates < SATURATION_EPS) | (gates > 1 - SATURATION_EPS)
        stats = {
            "forget_mean": jnp.mean(f.astype(jnp.float32)),
            "saturated_fraction": jnp.mean(sat.astype(jnp.float32)),
            "c_max": _max_abs(c),
            "h_max": _max_abs(h),
        }
        return (h, c), stats

    _, stats = jax.lax.scan(body, lstm.initial_carry(cfg, zx.shape[1], h0, c0), zx)
    return stats


def telemetry(
    params: lstm.LSTMParams,
    xs: ArrayLike,
    cfg: lstm.LSTMConfig,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> dict[str, Array]:
    """What the cell does along the sequence, each a (T,) array, over batch and hidden units:

    ``forget_mean``: mean forget gate f_t; ``saturated_fraction``: share of the i, f, o gate
    values below 0.01 or above 0.99 (defined for gates with values in [0, 1]; there a sigmoid's
    slope y(1 - y) is below 0.0099, under 4% of its peak 0.25); ``c_max``: max |c_t|; ``h_max``: max |h_t|.
    """
    return _telemetry(params, jnp.asarray(xs), cfg, h0, c0)
