"""The Lyapunov spectrum of a random tanh RNN, against D. G. Clark's published spectra.

The map: h_{t+1} = tanh(W h_t), W_ij ~ N(0, g^2 / N), no input. Clark ("Lyapunov spectrum of
random neural networks"; code and data: github.com/davidclark1/rnn-lyapunov) iterates
x <- (1 - delta) x + delta J tanh(x); at delta = 1 that is x_{t+1} = J tanh(x_t), and with
h = tanh(x) it becomes h_{t+1} = tanh(J h_t): the two maps are conjugate through tanh, whose
derivative is bounded away from 0 and infinity along a bounded orbit, so they have the same
exponents. We compare with his delta = 1 data (N = 4,096, the full spectrum).

The spectrum is `analysis.flow.lyapunov.lyapunov_qr` (Benettin's QR method, the whole frame:
k = N) in float64. Two exact checks: with g < 1 from h = 0 the state stays at 0, the step
Jacobian is W itself, and the exponents are ln |eigenvalues of W| (`linear_exponents`); and at
every step the exponents' increments sum to ln |det J_t| (an orthonormal frame: the product
of R's diagonal is det(J_t Q) up to sign), so the exponents sum to the mean of ln |det J_t|
(`log_det_mean`).

Finite size. Our N is at most 512 here, his 4,096. A summary f(N) of a random network
approaches its limit like f_inf + a / N, so f(N/2) - f(N) = a / N is also the distance from
f(N) to the limit, and to his N = 4,096 up to a / 4,096. The tolerance is therefore
|f(N/2) - f(N)| (the finite-size allowance) plus twice the standard error over our seeds;
"agrees" when our largest N is within it of his number.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from analysis.flow.lyapunov import lyapunov_qr

__all__ = [
    "PUBLISHED",
    "SUMMARIES",
    "Published",
    "Setting",
    "agreement_rows",
    "compare",
    "linear_exponents",
    "log_det_mean",
    "network",
    "spectrum",
    "summaries",
]


@dataclass(frozen=True)
class Published:
    """Clark's delta = 1 summaries at one gain (his data/network/map_g{g}_delta1_N4096_seed0
    .json, commit 41ba738 of davidclark1/rnn-lyapunov; one network, seed 0)."""

    g: float
    n: int
    t_burn: int  # state burn-in steps, then 200 steps of frame burn-in
    t_obs: int
    max_exponent: float
    mean_exponent: float
    unstable_fraction: float


PUBLISHED = (
    Published(1.5, 4096, 1000, 4000, 0.06494722768583697, -0.7153000974660106, 0.083984375),
    Published(2.0, 4096, 300, 4000, 0.15424857383342466, -1.150547173290687, 0.132568359375),
    Published(3.0, 4096, 300, 6000, 0.3095827739463295, -2.2738958259539084, 0.152587890625),
)
SUMMARIES = ("max_exponent", "mean_exponent", "unstable_fraction")


@dataclass(frozen=True)
class Setting:
    """Our run: the network sizes, seeds per size, and steps (burn-in, then averaged)."""

    sizes: tuple[int, ...] = (128, 256)
    seeds: int = 3
    t_burn: int = 500
    t_obs: int = 1000


def network(seed: int, g: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The network and initial state `spectrum` uses for `seed`: W (N, N) with entries
    N(0, g^2 / N) and h_0 = tanh(z), z ~ N(0, 1)^N, float64."""
    w, h0 = _network(jax.random.key(seed), jnp.float64(g), n)
    return np.asarray(w), np.asarray(h0)


def _network(key: jax.Array, g: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
    k_w, k_h = jax.random.split(jax.random.fold_in(key, 0))
    w = jax.random.normal(k_w, (n, n), jnp.float64) * (g / math.sqrt(n))
    return w, jnp.tanh(jax.random.normal(k_h, (n,), jnp.float64))


@functools.partial(jax.jit, static_argnames=("n", "t_burn", "t_obs"))
def _spectrum(key: jax.Array, g: jax.Array, n: int, t_burn: int, t_obs: int) -> jax.Array:
    w, h0 = _network(key, g, n)
    k_q = jax.random.fold_in(key, 1)
    steps = jnp.zeros((t_burn + t_obs,), jnp.float64)
    return lyapunov_qr(lambda h, _: jnp.tanh(w @ h), h0, steps, n, k_q, burn_in=t_burn)


def spectrum(seed: int, g: float, n: int, t_burn: int, t_obs: int) -> np.ndarray:
    """The full Lyapunov spectrum (N,), descending, of one random network, per step.

    Args:
        seed: the network's, initial state's and frame's seed; g: the gain; n: N;
        t_burn: steps before averaging (state and frame); t_obs: steps averaged.

    Returns:
        float64 exponents, descending.

    Example:
        >>> import jax
        >>> with jax.enable_x64(True):
        ...     s = spectrum(0, 2.0, 16, 100, 200)
        >>> s.shape, bool(s[0] >= s[-1])
        ((16,), True)
    """
    if not jax.config.jax_enable_x64:
        raise RuntimeError("spectrum needs float64: enable jax_enable_x64 first")
    key = jax.random.key(seed)
    return np.asarray(_spectrum(key, jnp.float64(g), n, t_burn, t_obs))


def summaries(exponents: np.ndarray) -> dict[str, float]:
    """Clark's summaries of one spectrum: the largest exponent, the mean, the unstable
    fraction (exponents > 0).

    Args:
        exponents: (N,) a full spectrum.

    Returns:
        {"max_exponent", "mean_exponent", "unstable_fraction"}.
    """
    e = np.asarray(exponents, np.float64)
    return {
        "max_exponent": float(e.max()),
        "mean_exponent": float(e.mean()),
        "unstable_fraction": float(np.mean(e > 0)),
    }


def linear_exponents(w: np.ndarray) -> np.ndarray:
    """ln |eigenvalues of W|, descending: the exponents of h <- W h (and of h <- tanh(W h) at
    its fixed point h = 0, where the Jacobian is W)."""
    return np.sort(np.log(np.abs(np.linalg.eigvals(np.asarray(w, np.float64)))))[::-1]


def log_det_mean(w: np.ndarray, h0: np.ndarray, t_burn: int, t_obs: int) -> float:
    """The mean over the averaged steps of ln |det J_t|, J_t = diag(1 - h_{t+1}^2) W, by a
    numpy loop in float64 (the sum of the exponents must equal it).

    Args:
        w: (N, N); h0: (N,) the state before the first step; t_burn, t_obs: as `spectrum`.
    """
    w = np.asarray(w, np.float64)
    h = np.asarray(h0, np.float64)
    _, log_det_w = np.linalg.slogdet(w)
    total = 0.0
    for t in range(t_burn + t_obs):
        h = np.tanh(w @ h)
        if t >= t_burn:
            total += float(np.sum(np.log1p(-(h**2)))) + log_det_w
    return total / t_obs


def compare(setting: Setting, progress: object = None) -> dict:
    """Our summaries at each size and gain against Clark's, with the tolerance and verdict.

    Args:
        setting: sizes, seeds and steps; progress: an object with ``update(1)`` (a bar).

    Returns:
        {"rows": [{g, summary, published, ours (largest N, mean over seeds), se,
        finite_size, tolerance, agrees, by_size: {N: mean}}], "spectra": {g: [exponents at
        the largest N, seed 0]}}.
    """
    rows, spectra = [], {}
    for pub in PUBLISHED:
        per_size: dict[int, list[dict[str, float]]] = {}
        for n in setting.sizes:
            per_size[n] = []
            for seed in range(setting.seeds):
                e = spectrum(seed, pub.g, n, setting.t_burn, setting.t_obs)
                per_size[n].append(summaries(e))
                if n == max(setting.sizes) and seed == 0:
                    spectra[pub.g] = e.tolist()
                if progress is not None:
                    progress.update(1)
        rows += agreement_rows(pub, per_size)
    return {"rows": rows, "spectra": spectra}


def agreement_rows(pub: Published, per_size: dict[int, list[dict[str, float]]]) -> list[dict]:
    """One row per summary: ours at the largest N (mean over seeds), its SE, the finite-size
    allowance |f(N/2) - f(N)|, the tolerance (allowance + 2 SE) and whether the published
    value lies within it (module docstring); also as text, with ours ± tolerance as the
    interval (the fields every reproduction's rows carry)."""
    sizes = sorted(per_size)
    big = sizes[-1]
    out = []
    for name in SUMMARIES:
        means = {n: float(np.mean([s[name] for s in per_size[n]])) for n in sizes}
        values = [s[name] for s in per_size[big]]
        se = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0
        drift = abs(means[sizes[-2]] - means[big]) if len(sizes) > 1 else math.nan
        tolerance = drift + 2 * se
        published = float(getattr(pub, name))
        out.append(
            {
                "g": pub.g,
                "where": f"g = {pub.g:g}",
                "summary": name,
                "published": published,
                "published_n": pub.n,
                "ours": means[big],
                "ours_n": big,
                "se": se,
                "finite_size": drift,
                "tolerance": tolerance,
                "agrees": bool(abs(means[big] - published) <= tolerance),
                "by_size": {str(n): means[n] for n in sizes},
                # the same comparison in the words every reproduction's rows carry
                "published_text": f"{published:+.4f} (N = {pub.n})",
                "ours_text": f"{means[big]:+.4f} ± {tolerance:.4f} (N = {big})",
                "low": means[big] - tolerance,
                "high": means[big] + tolerance,
                "interval": "|f(N/2) - f(N)| + 2 SE over networks",
            }
        )
    return out
