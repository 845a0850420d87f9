"""Activation gallery: f, f', f'' of a kernel in one figure, kinks marked with their convention."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

import kernels

__all__ = ["SEED_KERNELS", "curves", "gallery_order", "plot_gallery", "plot_kernel"]

# The seed page's five first, then the rest in registry order.
SEED_KERNELS = ("sigmoid", "tanh", "hard_tanh", "relu", "leaky_relu")


def gallery_order() -> tuple[str, ...]:
    """Kernel names with the seed page's five first."""
    seed = tuple(n for n in SEED_KERNELS if n in kernels.names())
    return seed + tuple(n for n in kernels.names() if n not in seed)


def curves(name: str, lo: float = -4.0, hi: float = 4.0, n: int = 801) -> dict[str, np.ndarray]:
    """f, f', f'' of kernel `name` on a float64 grid (z, f, d1, d2 arrays of shape (n,))."""
    import jax
    import jax.numpy as jnp

    act = kernels.get(name)
    with jax.enable_x64(True):
        z = jnp.linspace(lo, hi, n, dtype=jnp.float64)
        return {
            "z": np.asarray(z),
            "f": np.asarray(act.fn(z)),
            "d1": np.asarray(act.grad(z)),
            "d2": np.asarray(act.grad2(z)),
        }


def plot_kernel(name: str, out_dir: str | Path, stem: str | None = None) -> list[Path]:
    """Write STEM.png/.svg: three panels f, f', f'' against z, kinks marked with the convention."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis._util.io import save_figure

    act = kernels.get(name)
    data = curves(name)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.1), sharex=True)
    # A NaN at each kink breaks the line, so a jump in f' is not drawn as a vertical stroke.
    cut = np.searchsorted(data["z"], [k.at for k in act.kinks])
    z = np.insert(data["z"], cut, np.nan)
    for ax, key, label in zip(axes, ("f", "d1", "d2"), ("f(z)", "f'(z)", "f''(z)"), strict=True):
        y = data[key] if key == "f" else np.insert(data[key], cut, np.nan)
        ax.plot(data["z"] if key == "f" else z, y, color="C0", lw=1.8)
        ax.axhline(0, color="0.8", lw=0.8, zorder=0)
        ax.axvline(0, color="0.8", lw=0.8, zorder=0)
        ax.set_xlabel("z")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for kink in act.kinks:
        ax = axes[1]
        ax.plot([kink.at], [kink.left], "o", mfc="white", mec="C3", zorder=3)
        ax.plot([kink.at], [kink.right], "o", mfc="white", mec="C3", zorder=3)
        ax.plot([kink.at], [kink.convention], "o", color="C3", zorder=4)
        ax.annotate(
            f"f'({kink.at:g}) := {kink.convention:g}",
            (kink.at, kink.convention),
            textcoords="offset points",
            xytext=(6, -12),
            fontsize=8,
            color="C3",
        )
        axes[2].axvline(kink.at, color="C3", lw=0.8, ls=":")
    params = ", ".join(f"{k}={v:g}" for k, v in act.params.items())
    fig.suptitle(f"{name}({params})" if params else name)
    fig.tight_layout()
    return save_figure(fig, out_dir, stem or f"gallery_{name}")


def plot_gallery(out_dir: str | Path, names: Sequence[str] | None = None) -> dict[str, list[Path]]:
    """One figure per kernel; returns name -> written paths."""
    return {name: plot_kernel(name, out_dir) for name in (names or gallery_order())}
